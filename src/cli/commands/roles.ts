import type { Command } from 'commander';
import type pg from 'pg';
import { loadConfig, redactUrl, type AttuneConfig } from '../../config.js';
import { ConfigError, isAttuneError } from '../../errors.js';
import { configureLimits } from '../../limits.js';
import { NotificationListener } from '../../db/listener.js';
import { createPool } from '../../db/pool.js';
import { createLogger, type Logger } from '../../log.js';
import { runRoles, type Role } from '../../roles.js';

/**
 * What a role command hands to the code that builds its roles: the loaded
 * configuration, one pool and one notification listener on
 * ATTUNE__DATABASE__URL, and the logger. The pool and listener are opened
 * before the first role starts and closed after the last one stops.
 */
export interface RoleContext {
  config: AttuneConfig;
  pool: pg.Pool;
  listener: NotificationListener;
  logger: Logger;
  /**
   * Registers a callback run after the listener lost its connection and got
   * it back: notifications sent meanwhile were lost, so re-read what is
   * pending (and drop caches).
   */
  onListenerReconnect(callback: () => void | Promise<void>): void;
}

/** Builds a command's roles; called once, after the configuration is loaded. */
export type RoleBuilder = (ctx: RoleContext) => Role[] | Promise<Role[]>;

/** Refusal when a role command has no server to connect to. */
export const ROLE_NEEDS_URL =
  'a role alone needs ATTUNE__DATABASE__URL; two processes must never each start an embedded server';

/**
 * Adds `attune <name>`: a long-running command that runs the roles `build`
 * returns against ATTUNE__DATABASE__URL, logs JSON lines on stdout, and stops
 * cleanly on SIGINT or SIGTERM (exit 0; a second signal exits at once).
 */
export function addRoleCommand(program: Command, name: string, description: string, build: RoleBuilder): Command {
  return program
    .command(name)
    .description(description)
    .addHelpText(
      'after',
      `\nRuns against the PostgreSQL server named by ATTUNE__DATABASE__URL (required: ${ROLE_NEEDS_URL.replace(/^a role alone needs ATTUNE__DATABASE__URL; /, '')}).\nLogs one JSON object per line on stdout (ATTUNE__LOG__LEVEL sets the level). SIGINT or SIGTERM finishes the work in hand and exits 0; a second signal exits at once.`,
    )
    .action(async () => {
      process.exitCode = await runRoleCommand(name, build);
    });
}

/** Loads the configuration, opens the connections, runs the roles; resolves with the exit code. */
export async function runRoleCommand(name: string, build: RoleBuilder, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: AttuneConfig;
  try {
    config = loadConfig({ env });
    if (config.database.url === undefined) throw new ConfigError('ATTUNE__DATABASE__URL', ROLE_NEEDS_URL);
  } catch (error) {
    process.stderr.write(`attune ${name}: ${isAttuneError(error) ? error.message : String(error)}\n`);
    return 1;
  }
  configureLimits(config.limits);
  const logger = createLogger(config.log.level).child({ command: name });
  const { context, connections } = openRoleConnections(config, config.database.url, name, logger);
  const { pool, listener } = context;
  let roles: Role[];
  try {
    roles = await build(context);
  } catch (error) {
    logger.error({ err: (error as Error).message }, 'cannot build the roles');
    await listener.close();
    await pool.end();
    return 1;
  }
  const exitCode = await runRoles([connections, ...roles], { logger });
  // The log goes out asynchronously: the last lines must be written before the command exits.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return exitCode;
}

/**
 * The pool and notification listener a set of roles shares, on `url`: the
 * role context, and a `connections` role to run first (it connects, so a bad
 * URL fails the start) and stop last (it closes both). Used by the role
 * commands and by `attune up`.
 */
export function openRoleConnections(
  config: AttuneConfig,
  url: string,
  name: string,
  logger: Logger,
): { context: RoleContext; connections: Role } {
  const pool = createPool({
    url,
    maxConnections: config.database.maxConnections,
    connectTimeoutMs: config.database.connectTimeoutMs,
    statementTimeoutMs: config.database.statementTimeoutMs,
    logger,
    logStatements: config.database.logStatements,
    applicationName: `attune ${name}`,
  });
  const reconnectCallbacks: Array<() => void | Promise<void>> = [];
  const listener = new NotificationListener({
    url,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: `attune ${name} listener`,
    onError: (error, context) => logger.warn({ err: error.message, ...context }, 'notification listener error'),
    onReconnect: async (info) => {
      logger.info(info, 'notification listener reconnected: re-reading pending work');
      for (const callback of reconnectCallbacks) {
        try {
          await callback();
        } catch (error) {
          logger.error({ err: (error as Error).message }, 'reconnect callback failed');
        }
      }
    },
  });
  const connections: Role = {
    name: 'connections',
    async start() {
      logger.info({ database: redactUrl(url) }, 'connecting');
      await pool.query('SELECT 1');
      await listener.start();
    },
    async stop() {
      await listener.close();
      await pool.end();
    },
  };
  const context: RoleContext = { config, pool, listener, logger, onListenerReconnect: (callback) => reconnectCallbacks.push(callback) };
  return { context, connections };
}
