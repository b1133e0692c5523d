/**
 * `attune up`: Attune as one program. Prepares the database (the embedded
 * PostgreSQL in the data folder unless ATTUNE__DATABASE__URL names a server;
 * created, migrated, `core` registered), starts every role in one process
 * (or the `--roles` given, against a configured server only), creates the
 * first admin and writes its token to the CLI config file, and says where
 * everything is. SIGINT/SIGTERM stop the roles in reverse order, then the
 * embedded server; a second signal exits at once.
 *
 * Logs are JSON lines on stdout; what a person reads (URLs, the first
 * admin's password, shown once) goes to stderr.
 */
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { createApiRole, type ApiRole } from '../../api/server.js';
import { ensureFirstAdmin } from '../../api/auth/first-admin.js';
import { loadConfig, type AttuneConfig } from '../../config.js';
import { ENCRYPTION_KEY_SETTING } from '../../crypto/secrets.js';
import { ConfigError, isAttuneError } from '../../errors.js';
import { configureLimits } from '../../limits.js';
import { createLogger, type Logger } from '../../log.js';
import { FORCED_EXIT_CODE, runRoles, type Role } from '../../roles.js';
import { prepareDatabase, type PreparedDatabase } from '../../up/database.js';
import { differsFromKeyFile, encryptionKeyPath, ensureEncryptionKey } from '../../up/encryption-key.js';
import { alreadyRunning, lockHolder } from '../../up/lock.js';
import { coalescedSignals } from '../../up/signals.js';
import { cliConfigPath, DEFAULT_PROFILE, readCliConfig, writeCliProfile } from '../config-file.js';
import { createOutput, type Output } from '../output.js';
import { openRoleConnections, type RoleContext } from './roles.js';
import { buildRulesRole } from './rules.js';
import { buildSensorsRole, buildTimersRole } from './timers-sensors.js';
import { buildMaintenanceRole, buildWorkerRole } from './worker.js';

/** Every role, in the order `attune up` starts them (the api last, so ready means all of them run). */
export const UP_ROLES = ['rules', 'worker', 'maintenance', 'timers', 'sensors', 'api'] as const;
export type UpRoleName = (typeof UP_ROLES)[number];

/** Refusal of a subset of roles on the embedded server. */
export const SUBSET_NEEDS_URL =
  '--roles with some of the roles needs ATTUNE__DATABASE__URL: only an attune up running every role may start the embedded PostgreSQL, so that two processes never each start one';

/** Parses `--roles api,worker`: known names, no repeats; order is always UP_ROLES's. */
export function parseRoles(text: string): UpRoleName[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError(`expected one or more of ${UP_ROLES.join(', ')}`);
  const unknown = names.filter((name) => !(UP_ROLES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown role ${unknown.join(', ')}; known: ${UP_ROLES.join(', ')}`);
  return UP_ROLES.filter((role) => names.includes(role));
}

/** Adds `attune up` to the program. */
export function addUpCommand(program: Command): Command {
  return program
    .command('up')
    .description('run Attune: every role in one process, on the embedded PostgreSQL unless ATTUNE__DATABASE__URL is set')
    .option('--roles <roles>', `run only these roles, comma-separated (${UP_ROLES.join(', ')}); needs ATTUNE__DATABASE__URL unless all are named`, parseRoles)
    .addHelpText(
      'after',
      `
Without ATTUNE__DATABASE__URL, starts the embedded PostgreSQL in ATTUNE__DATABASE__EMBEDDED_DATA_DIR
(default .attune/postgres), creates the database when missing, migrates it and registers the core pack;
with it, does the same on that server. Then starts the roles and prints the API URL and how to log in.
First start creates the identity 'admin', prints its password once and writes an API token to the CLI
config file (ATTUNE_CLI_CONFIG, else ~/.config/attune/config.yaml, mode 0600).
On the embedded server without ATTUNE__SECURITY__ENCRYPTION_KEY, the key for secrets is the file
encryption.key beside the data folder (.attune/encryption.key), generated on first start; with
ATTUNE__DATABASE__URL none is generated and, without the setting, Attune runs without secrets.
Logs are JSON lines on stdout; messages for people go to stderr. SIGINT or SIGTERM stops the roles in
reverse order (workers finish within ATTUNE__WORKER__GRACE_SECONDS), then the embedded server; a second
signal exits at once. A second attune up on the same data folder says where the first one runs.`,
    )
    .action(async (options: { roles?: UpRoleName[] }) => {
      process.exitCode = await runUp({ ...(options.roles ? { roles: options.roles } : {}) });
    });
}

/** Options for `runUp`; the defaults are the real process's. */
export interface RunUpOptions {
  roles?: UpRoleName[];
  env?: NodeJS.ProcessEnv;
  out?: Output;
}

/** Runs `attune up` to the end; resolves with the exit code. */
export async function runUp(options: RunUpOptions = {}): Promise<number> {
  const out = options.out ?? createOutput({ stdout: process.stderr });
  const env = options.env ?? process.env;
  let config: AttuneConfig;
  try {
    config = loadConfig({ env });
  } catch (error) {
    out.error(`attune up: ${describe(error)}`);
    return 1;
  }
  const roles = options.roles ?? [...UP_ROLES];
  if (roles.length < UP_ROLES.length && config.database.url === undefined) {
    out.error(`attune up: ${new ConfigError('ATTUNE__DATABASE__URL', SUBSET_NEEDS_URL).message}`);
    return 1;
  }
  configureLimits(config.limits);
  const logger = createLogger(config.log.level).child({ command: 'up' });

  // Until the roles run, a signal stops the start; a second one exits at once.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(FORCED_EXIT_CODE);
    out.warn(`${signal}: stopping the start`);
    abort.abort();
  };
  // One Ctrl-C arrives several times under npm start (npm and tsx pass it on): its copies count once.
  const signals = coalescedSignals(process);
  const listen = (on: boolean) => (['SIGINT', 'SIGTERM'] as const).forEach((signal) => (on ? signals.on(signal, onSignal) : signals.off(signal, onSignal)));
  listen(true);

  let database: PreparedDatabase | undefined;
  try {
    // Who runs here already says more than the port they hold.
    const holder = config.database.url === undefined ? lockHolder(path.resolve(config.database.embeddedDataDir)) : undefined;
    if (holder) throw alreadyRunning(holder);
    if (roles.includes('api')) await assertPortFree(config.api.host, config.api.port);
    database = await prepareDatabase(config, logger, {
      staleLock: (holder, stopped) =>
        out.warn(
          `An attune up (pid ${holder.pid}) was killed here; ${stopped ? `stopped the embedded PostgreSQL it left running (pid ${holder.postgresPid})` : 'took over its lock'}`,
        ),
      embeddedStarted: ({ dataDir, port, initialised }) =>
        out.ok(`${initialised ? 'Created and started' : 'Started'} the embedded PostgreSQL in ${dataDir} on 127.0.0.1:${port}`),
      migrated: (applied) => applied.length > 0 && out.ok(`Applied ${applied.length} migration${applied.length === 1 ? '' : 's'}`),
      corePack: (report) =>
        report.packRow !== 'unchanged' || report.created.length + report.updated.length + report.removed.length > 0
          ? out.ok(`Registered the core pack ${report.version}`)
          : undefined,
    });
    settleEncryptionKey(config, database, out, logger);
  } catch (error) {
    listen(false);
    await database?.close().catch(() => undefined);
    out.error(`attune up: ${describe(error)}`);
    return 1;
  }

  config.database.url = database.url;
  const { context, connections } = openRoleConnections(config, database.url, 'up', logger);
  const built = buildRoles(context, roles);
  const announce: Role = {
    name: 'announce',
    start: async () => announceReady(context, database, built.api, out, env),
    stop: async () => undefined,
  };
  listen(false);
  let exitCode: number;
  try {
    exitCode = await runRoles([connections, ...built.roles, announce], { logger, abort: abort.signal, signals });
  } finally {
    await database.close().catch((error: unknown) => {
      logger.error({ err: describe(error) }, 'cannot stop the embedded PostgreSQL');
      exitCode = 1;
    });
  }
  // The log goes out asynchronously: its last lines must be written before the process exits.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  out.ok('Attune stopped');
  return exitCode;
}

/**
 * The key for secrets. A configured one is used as it is. On the embedded
 * server without one, the installation's key file beside the data folder
 * (generated on the first start, which says where it is, never what it is).
 * On a configured server without one, none: several processes share that
 * database and must share one key, which only the operator can hand out, so
 * Attune runs without secrets and says so.
 */
function settleEncryptionKey(config: AttuneConfig, database: PreparedDatabase, out: Output, logger: Logger): void {
  const configured = config.security.encryptionKey !== undefined && config.security.encryptionKey !== '';
  if (database.kind === 'external') {
    if (!configured) {
      out.warn(
        `No encryption key: ${ENCRYPTION_KEY_SETTING} is not set, so Attune runs without secrets. Secret keys, secret parameters, ` +
          'encrypted pack config values and HMAC-signed webhooks are refused, naming the variable, until it is set to one key ' +
          'shared by every process on this database (attune up generates one only without ATTUNE__DATABASE__URL)',
      );
    }
    return;
  }
  const file = encryptionKeyPath(config.database.embeddedDataDir);
  if (configured) {
    if (differsFromKeyFile(config.security.encryptionKey!, file)) {
      out.warn(`${ENCRYPTION_KEY_SETTING} is set and is not the key in ${file}: secrets stored with that file's key cannot be decrypted while it is set`);
    }
    return;
  }
  const found = ensureEncryptionKey(file);
  config.security.encryptionKey = found.key;
  if (found.created) {
    out.ok(`Created the encryption key for secrets in ${file} (mode 0600)`);
    out.line('  Back it up with the data folder: without it the stored secrets cannot be decrypted. A process started on its own');
    out.line(`  against this database (attune worker, …) needs the same key: ${ENCRYPTION_KEY_SETTING}="$(cat ${file})"`);
  } else {
    logger.info({ file }, 'encryption key read from its file');
  }
  if (found.looseMode) out.warn(`${file} may be read by other users: chmod 600 it`);
}

/** The roles named, built on one context, in UP_ROLES's order. */
function buildRoles(ctx: RoleContext, names: readonly UpRoleName[]): { roles: Role[]; api?: ApiRole } {
  const roles: Role[] = [];
  let api: ApiRole | undefined;
  for (const name of names) {
    if (name === 'rules') roles.push(...buildRulesRole(ctx));
    else if (name === 'worker') roles.push(...buildWorkerRole(ctx));
    else if (name === 'maintenance') roles.push(...buildMaintenanceRole(ctx));
    else if (name === 'timers') roles.push(...buildTimersRole(ctx));
    else if (name === 'sensors') roles.push(...buildSensorsRole(ctx));
    else {
      api = createApiRole({ db: ctx.pool, config: ctx.config, logger: ctx.logger });
      roles.push(api);
    }
  }
  return api ? { roles, api } : { roles };
}

/**
 * Once every role runs: where the API is, and how to log in. On the first
 * start (no identity yet) creates `admin`, shows its password this once and
 * writes its token to the CLI config file.
 */
async function announceReady(ctx: RoleContext, database: PreparedDatabase, api: ApiRole | undefined, out: Output, env: NodeJS.ProcessEnv): Promise<void> {
  const seconds = (performance.now() / 1000).toFixed(1);
  const apiUrl = api?.url();
  if (apiUrl) database.lock?.update({ apiUrl });
  out.ok(`Attune is up (${seconds} s after start); database ${database.location}`);
  if (!api || !apiUrl) {
    out.line('  roles without the api: nothing listens here');
    out.line('  Ctrl-C stops Attune.');
    return;
  }
  const clientUrl = reachableUrl(apiUrl);
  out.line(`  API      ${clientUrl}/api/v1  (reference: ${clientUrl}/docs)`);
  out.line(`  Web UI   ${clientUrl}/`);
  if (!ctx.config.security.enableAuth) {
    out.warn('  Authentication is off (ATTUNE__SECURITY__ENABLE_AUTH=false): every request acts as admin, no token needed');
  } else {
    const file = cliConfigPath(env);
    const admin = await ensureFirstAdmin(ctx.pool);
    if (admin) {
      const profile = writeFirstProfile(file, clientUrl, admin.token);
      out.line('  First start: created the identity admin.');
      out.line(`  Login    ${admin.login}`);
      out.line(`  Password ${admin.password}   (shown this once: keep it; it logs in to the web UI and to POST /api/v1/auth/login)`);
      const use = profile === DEFAULT_PROFILE ? 'the attune CLI uses it' : `the attune CLI uses it with --profile ${profile} (the file's default profile is another installation's)`;
      out.line(`  Token    an API token for admin is in ${file} (profile ${profile}, mode 0600); ${use}`);
    } else {
      const configured = profileFor(file, clientUrl);
      out.line(
        configured
          ? `  The CLI is configured in ${file} (profile ${configured}).`
          : `  Log in with your identity (POST ${clientUrl}/api/v1/auth/login, or the web UI); ${file} has no profile for this API.`,
      );
    }
  }
  out.line('  Ctrl-C stops Attune.');
}

/**
 * Writes the first admin's token: as profile `default` when the file has none
 * (or has one for this same API), else as `local-<port>` so another
 * installation's profile is never overwritten. Returns the profile's name.
 */
function writeFirstProfile(file: string, apiUrl: string, token: string): string {
  const existing = readCliConfig(file)?.profiles[DEFAULT_PROFILE];
  const name = existing === undefined || existing.api_url === apiUrl ? DEFAULT_PROFILE : `local-${new URL(apiUrl).port || '80'}`;
  writeCliProfile(file, name, { api_url: apiUrl, token });
  return name;
}

function profileFor(file: string, apiUrl: string): string | undefined {
  try {
    const profiles = readCliConfig(file)?.profiles ?? {};
    return Object.entries(profiles).find(([, profile]) => profile.api_url === apiUrl && profile.token)?.[0];
  } catch {
    return undefined;
  }
}

/** The listen URL as a client on this machine reaches it: a wildcard address becomes loopback. */
export function reachableUrl(listenUrl: string): string {
  return listenUrl.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/** Fails fast, naming the setting, when something already listens on the API's port. */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const problem = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  if (!problem) return;
  const reason = problem.code === 'EADDRINUSE' ? 'another program (perhaps another attune up) listens there' : problem.message;
  throw new ConfigError('ATTUNE__API__PORT', `cannot listen on ${host}:${port}: ${reason}; stop it or set ATTUNE__API__PORT to a free port`);
}

function describe(error: unknown): string {
  return isAttuneError(error) ? error.message : error instanceof Error ? error.message || error.name : String(error);
}

