/**
 * The database side of `attune up`: the server (the one named by
 * ATTUNE__DATABASE__URL, or the embedded one in the data folder, started
 * here under the `up` lock), the database created when missing, every
 * migration applied, and the `core` pack registered or upgraded from the
 * package (nothing written when it is unchanged).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDatabaseUrl, redactUrl, withDatabase, type AttuneConfig } from '../config.js';
import { createDatabase } from '../db/admin.js';
import { EmbeddedServer, runningEmbeddedServer, stopEmbeddedServer } from '../db/embedded.js';
import { migrate } from '../db/migrator.js';
import { createPool } from '../db/pool.js';
import { isMissingDatabase, MAINTENANCE_DATABASE } from '../db/target.js';
import type { Logger } from '../log.js';
import { registerPack, type RegisterPackReport } from '../packs/register.js';
import { acquireUpLock, type UpLock, type UpLockInfo } from './lock.js';

/** The `core` pack shipped with Attune (packs/core beside src/ or dist/). */
export const CORE_PACK_DIR = fileURLToPath(new URL('../../packs/core', import.meta.url));

/** What `prepareDatabase` reports as it goes, for the command to print. */
export interface PrepareEvents {
  /** A stale lock of a killed `attune up` was taken over; `stoppedPostgres` when its embedded server was still running and was stopped. */
  staleLock?(holder: UpLockInfo, stoppedPostgres: boolean): void;
  embeddedStarted?(info: { dataDir: string; port: number; initialised: boolean }): void;
  migrated?(applied: string[]): void;
  corePack?(report: RegisterPackReport): void;
}

/** A database ready for the roles. `close` stops the embedded server (if started here) and releases the lock. */
export interface PreparedDatabase {
  kind: 'external' | 'embedded';
  /** URL of the Attune database. */
  url: string;
  /** Where it is, safe to print. */
  location: string;
  /** The `up` lock of the embedded data folder. */
  lock?: UpLock;
  close(): Promise<void>;
}

/**
 * Brings the database up to what the roles need. With an embedded server:
 * takes the data folder's lock first (refusing when a live `attune up` holds
 * it), stops the PostgreSQL a killed `attune up` left running (known by the
 * pid its lock recorded; any other server running there is refused by the
 * embedded server's own check), then starts the server in its own process
 * group (`ownerStops`), so a Ctrl-C reaches the roles first and the server
 * is stopped last, by `close`. On failure everything started is undone.
 */
export async function prepareDatabase(config: AttuneConfig, logger: Logger, events: PrepareEvents = {}): Promise<PreparedDatabase> {
  if (config.database.url) {
    const url = config.database.url;
    await migrateAndRegister(url, withDatabase(url, MAINTENANCE_DATABASE), config, logger, events);
    return { kind: 'external', url, location: redactUrl(url), close: async () => undefined };
  }

  const dataDir = path.resolve(config.database.embeddedDataDir);
  const port = config.database.embeddedPort;
  const { lock, stale } = acquireUpLock(dataDir);
  let server: EmbeddedServer | undefined;
  try {
    if (stale) {
      const leftover = runningEmbeddedServer(dataDir);
      const ours = leftover !== undefined && leftover.pid === stale.postgresPid;
      if (ours) await stopEmbeddedServer(dataDir);
      events.staleLock?.(stale, ours);
    }
    const initialised = !existsSync(path.join(dataDir, 'PG_VERSION'));
    server = new EmbeddedServer({ dataDir, port, osUser: config.database.embeddedUser, ownerStops: true, logger });
    await server.start();
    const postgresPid = runningEmbeddedServer(dataDir)?.pid;
    lock.update({ postgresPort: port, ...(postgresPid === undefined ? {} : { postgresPid }) });
    events.embeddedStarted?.({ dataDir, port, initialised });
    const url = server.url(config.database.name);
    await migrateAndRegister(url, server.url(MAINTENANCE_DATABASE), config, logger, events);
    const started = server;
    return {
      kind: 'embedded',
      url,
      location: `127.0.0.1:${port} (embedded, data in ${dataDir})`,
      lock,
      close: async () => {
        try {
          await started.stop();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    await server?.stop().catch(() => undefined);
    lock.release();
    throw error;
  }
}

/** Creates the database when missing, applies pending migrations, registers `core` from the package. */
async function migrateAndRegister(url: string, adminUrl: string, config: AttuneConfig, logger: Logger, events: PrepareEvents): Promise<void> {
  const options = { maxConnections: 1, connectTimeoutMs: config.database.connectTimeoutMs, logger, applicationName: 'attune up' };
  const admin = createPool({ ...options, url: adminUrl });
  let createFailure: unknown;
  try {
    await createDatabase(admin, parseDatabaseUrl(url).database);
  } catch (error) {
    // A user who may not create databases (or reach the maintenance one) can still use one that exists.
    createFailure = error;
  } finally {
    await admin.end();
  }
  const pool = createPool({ ...options, url });
  try {
    let applied;
    try {
      applied = await migrate(pool);
    } catch (error) {
      throw createFailure !== undefined && isMissingDatabase(error) ? createFailure : error;
    }
    events.migrated?.(applied.map((migration) => migration.file));
    events.corePack?.(await registerPack(pool, CORE_PACK_DIR, { system: true }));
  } finally {
    await pool.end();
  }
}
