/**
 * The CLI against a real API: buildApp listening on a free loopback port on
 * this test worker's database (authentication on), with the rules, worker
 * and maintenance roles in this process when a test runs actions; and
 * `attune(...)` running the CLI in-process (runCli) with captured stdout
 * and stderr and its own environment (API URL, token, CLI config file).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { createApiRole } from '../../../src/api/server.js';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo, CliStream } from '../../../src/cli/format/io.js';
import { openRoleConnections, type RoleContext } from '../../../src/cli/commands/roles.js';
import { buildRulesRole } from '../../../src/cli/commands/rules.js';
import { buildMaintenanceRole, buildWorkerRole } from '../../../src/cli/commands/worker.js';
import { defaults } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { registerPack } from '../../../src/packs/register.js';
import { ApiTokenRepository } from '../../../src/repositories/api-tokens.js';
import type { IdentityRole } from '../../../src/repositories/identities.js';
import type { Role } from '../../../src/roles.js';
import { cleanDatabase, IdentityFixture } from '../../../src/testing/index.js';
import { TEST_ENCRYPTION_KEY } from '../../api/support.js';
import { CORE_PACK, EXAMPLES_PACK } from '../../worker/helpers.js';

export { CORE_PACK, EXAMPLES_PACK };

/** What one `attune …` printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliStack {
  url: string;
  /** Tokens per role (identities admin_cli, operator_cli, viewer_cli). */
  tokens: Record<IdentityRole, string>;
  context: RoleContext;
  /** A folder of this file's own, for CLI config files and pack copies. */
  dir: string;
  /** Runs `attune <args>` as `role` (or with `token: null`, none). */
  attune(args: string[], options?: AttuneOptions): Promise<CliRun>;
}

export interface AttuneOptions {
  role?: IdentityRole;
  /** Explicit token, or null for none (overrides role). */
  token?: string | null;
  /** Extra environment (ATTUNE_CLI_CONFIG, NO_COLOR, …); undefined values removed. */
  env?: Record<string, string | undefined>;
  /** Text on stdin (stdin is not a terminal). */
  stdin?: string;
  /** stdout claims to be a terminal of this width. */
  tty?: number;
}

/** A stream that keeps what is written. */
function capture(tty?: number): CliStream & { text: string } {
  const stream = {
    text: '',
    write(chunk: string | Uint8Array) {
      stream.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
    ...(tty === undefined ? {} : { isTTY: true, columns: tty, hasColors: () => true }),
  };
  return stream;
}

/**
 * Starts the API (and, with `roles: 'engine'`, the rules, worker and
 * maintenance roles) for the test file; stopped after it.
 */
export function useCliStack(options: { roles?: 'api' | 'engine'; packs?: string[] } = {}): CliStack {
  const holder: { stack?: CliStack; stop?: () => Promise<void> } = {};
  beforeAll(async () => {
    const url = process.env.ATTUNE__DATABASE__URL;
    if (url === undefined) throw new Error('the CLI tests need the worker database (ATTUNE__DATABASE__URL, set by the test setup)');
    const dir = await mkdtemp(join(tmpdir(), 'attune-cli-'));
    const config = defaults();
    config.database.url = url;
    config.security.enableAuth = true;
    config.security.encryptionKey = TEST_ENCRYPTION_KEY;
    config.api.host = '127.0.0.1';
    config.api.port = 0;
    config.api.rateLimitMax = 100_000;
    config.api.loginRateLimitMax = 10_000;
    config.worker.dataDir = join(dir, 'worker');
    config.worker.slots = 2;
    config.log.level = 'warn';
    const logger = createLogger('warn');
    const { context, connections } = openRoleConnections(config, url, 'cli-test', logger);
    await cleanDatabase(context.pool);
    for (const pack of options.packs ?? []) await registerPack(context.pool, pack);
    const tokens = {} as Record<IdentityRole, string>;
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      const identity = await new IdentityFixture(`${role}_cli`).withPassword('correct horse battery staple').withRole(role).create(context.pool);
      tokens[role] = (await ApiTokenRepository.create(context.pool, { identityId: identity.id, name: `cli test ${role}` })).token;
    }
    const api = createApiRole({ db: context.pool, config, logger });
    const engine = options.roles === 'engine' ? [...buildRulesRole(context), ...buildWorkerRole(context), ...buildMaintenanceRole(context)] : [];
    const started: Role[] = [];
    for (const role of [connections, ...engine, api]) {
      await role.start();
      started.push(role);
    }
    const base = api.url()!;
    holder.stop = async () => {
      for (const role of started.reverse()) await role.stop();
      await rm(dir, { recursive: true, force: true });
    };
    holder.stack = {
      url: base,
      tokens,
      context,
      dir,
      attune: (args, o = {}) => {
        const token = o.token === null ? undefined : (o.token ?? tokens[o.role ?? 'admin']);
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, ATTUNE_API_URL: base, ATTUNE_CLI_CONFIG: join(dir, 'no-such-config.yaml'), NO_COLOR: '1' };
        if (token !== undefined) env.ATTUNE_API_TOKEN = token;
        for (const [name, value] of Object.entries(o.env ?? {})) {
          if (value === undefined) delete env[name];
          else env[name] = value;
        }
        return runAttune(args, env, o);
      },
    };
  });
  afterAll(async () => {
    await holder.stop?.();
  });
  return new Proxy({} as CliStack, { get: (_target, property) => (holder.stack as unknown as Record<PropertyKey, unknown>)[property] });
}

/** Runs the CLI in this process with `env`. */
export async function runAttune(args: string[], env: NodeJS.ProcessEnv, o: Pick<AttuneOptions, 'stdin' | 'tty'> = {}): Promise<CliRun> {
  const stdout = capture(o.tty);
  const stderr = capture();
  const stdin = new PassThrough();
  stdin.end(o.stdin ?? '');
  const io: CliIo = { stdout, stderr, stdin, env, setExitCode: () => undefined };
  const code = await runCli(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Parses a run's stdout as JSON, failing with its stderr when it is not. */
export function json(run: CliRun): any {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}): ${run.stdout.slice(0, 500)} | stderr: ${run.stderr.slice(0, 500)}`);
  }
}
