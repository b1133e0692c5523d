/**
 * `attune up` from start to ready, warm: the data folder exists (made by one
 * untimed start in setup), so a start is the embedded PostgreSQL starting,
 * the migrations and the core pack found current, the roles started and the
 * API answering `GET /readyz` with 200. Each operation is a new process
 * (`node --import tsx src/cli/main.ts up`, what `npm start` runs), started,
 * polled until ready, then stopped with SIGTERM. The baseline, in the same
 * rounds, starts and stops the embedded PostgreSQL alone on the same data
 * folder: the ratio (up's rate ÷ PostgreSQL's, that is PostgreSQL's time ÷
 * up's) says how much of a start is Attune's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedServer, findFreePort } from '../../src/db/embedded.js';
import type { BenchCase } from '../harness.js';
import type { BenchContext } from '../context.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

interface Installation {
  dir: string;
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  dataDir: string;
  postgresPort: number;
}

/** Settings of a throwaway installation in `dir`: its own data folder, ports and CLI config file. */
async function installation(): Promise<Installation> {
  const dir = mkdtempSync(path.join(tmpdir(), 'attune-bench-up-'));
  // As root the embedded server runs as `postgres`, which must reach the data folder.
  chmodSync(dir, 0o755);
  const dataDir = path.join(dir, '.attune', 'postgres');
  const postgresPort = await findFreePort();
  const apiPort = await findFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('ATTUNE__') || name === 'DATABASE_URL') delete env[name];
  Object.assign(env, {
    ATTUNE__DATABASE__EMBEDDED_DATA_DIR: dataDir,
    ATTUNE__DATABASE__EMBEDDED_PORT: String(postgresPort),
    ATTUNE__API__PORT: String(apiPort),
    ATTUNE__WORKER__DATA_DIR: path.join(dir, '.attune', 'data'),
    ATTUNE__SENSORS__DATA_DIR: path.join(dir, '.attune', 'data'),
    ATTUNE__LOG__LEVEL: 'warn',
    ATTUNE_CLI_CONFIG: path.join(dir, 'cli', 'config.yaml'),
  });
  return { dir, env, apiUrl: `http://127.0.0.1:${apiPort}`, dataDir, postgresPort };
}

/** Resolves when the child exits; rejects with its stderr when it exited other than 0. */
function exited(child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`attune up exited ${code}: ${stderr().trim().slice(-2000)}`))));
  });
}

/** Starts `attune up`, waits for GET /readyz = 200, then stops it with SIGTERM and waits for its exit. */
async function upUntilReady(install: Installation): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'up'], { cwd: ROOT, env: install.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = exited(child, () => stderr);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`attune up exited ${child.exitCode} before it was ready: ${stderr.trim().slice(-2000)}`);
      const ready = await fetch(`${install.apiUrl}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await done;
  }
}

export function upCases(_ctx: BenchContext): BenchCase[] {
  let install: Installation | undefined;
  const installed = (): Installation => {
    if (install === undefined) throw new Error('up bench: setup did not run');
    return install;
  };
  return [
    {
      name: 'up.start-to-ready',
      group: 'executions',
      title: '`attune up`, warm (data folder exists): start, every role, GET /readyz = 200, then SIGTERM and exit; a new node process each',
      baselineTitle: 'the embedded PostgreSQL alone on the same data folder: start, then stop',
      maxOpsPerRound: 1,
      maxRounds: 5,
      setup: async () => {
        install = await installation();
        // The cold start (initdb, migrations, core, the first admin) is untimed: the case is the warm start.
        await upUntilReady(install);
        process.once('exit', () => rmSync(installed().dir, { recursive: true, force: true }));
      },
      repo: () => upUntilReady(installed()),
      baseline: async () => {
        const { dataDir, postgresPort } = installed();
        const server = new EmbeddedServer({ dataDir, port: postgresPort });
        await server.start();
        await server.stop();
      },
    },
  ];
}
