/**
 * CLI start-up: `attune --version` and `attune execution list -j` against
 * an API on loopback (buildApp on the bench database, authentication off),
 * each a fresh `node` process, against Node's own start-up (`node -e 0`)
 * timed in the same rounds. The ratio (Node's rate ÷ the CLI's, as for any
 * case) says how much of a command's time is Node itself.
 *
 * The binary is the built one (dist/cli/main.js, what an installed `attune`
 * runs); the case builds it first when it is missing or older than the
 * sources of the CLI, and says so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../../src/api/app.js';
import { defaults } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import type { BenchCase } from '../harness.js';
import { type BenchContext, databaseUrlOf } from '../context.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist', 'cli', 'main.js');

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds dist/ when the CLI's sources are newer than the built binary. */
function ensureBuilt(): void {
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newest(join(ROOT, 'src', 'cli'))) return;
  process.stderr.write('cli bench: building dist/ (npm run build)\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs `node args` to its end; rejects unless it exits 0. */
function node(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

export function cliCases(ctx: BenchContext): BenchCase[] {
  let apiUrl: string | undefined;
  const clientEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ATTUNE_API_URL: apiUrl, ATTUNE_CLI_CONFIG: join(ROOT, 'bench', 'no-cli-config.yaml'), NO_COLOR: '1' });
  const nodeAlone = () => node(['-e', '0']);

  const startApi = async (): Promise<void> => {
    if (apiUrl !== undefined) return;
    const config = defaults();
    config.security.enableAuth = false;
    config.log.level = 'silent';
    const pool = createPool({ url: databaseUrlOf(ctx.client), maxConnections: 4, applicationName: 'attune-bench-cli' });
    const app = await buildApp({ db: pool, config, logger: createLogger('silent') });
    apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    // Nothing waits for this server at the end of the run.
    app.server.unref();
  };

  return [
    {
      name: 'cli.version',
      group: 'executions',
      title: '`attune --version` (dist/cli/main.js), a new node process each',
      baselineTitle: '`node -e 0`: Node start-up alone',
      maxOpsPerRound: 20,
      setup: async () => ensureBuilt(),
      repo: () => node([BIN, '--version']),
      baseline: nodeAlone,
    },
    {
      name: 'cli.execution-list',
      group: 'executions',
      title: '`attune execution list -j` against the API on loopback (50 executions of the seeded table), a new node process each',
      baselineTitle: '`node -e 0`: Node start-up alone',
      maxOpsPerRound: 20,
      setup: async () => {
        ensureBuilt();
        await startApi();
      },
      repo: () => node([BIN, 'execution', 'list', '-j'], clientEnv()),
      baseline: nodeAlone,
      verify: async () => {
        try {
          await node([BIN, 'execution', 'list', '-j'], clientEnv());
          return null;
        } catch (error) {
          return (error as Error).message;
        }
      },
    },
  ];
}
