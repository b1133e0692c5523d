import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseDatabaseUrl, withDatabase, type AttuneConfig } from '../config.js';
import { EmbeddedServer, findFreePort } from '../db/embedded.js';
import { DEFAULT_MIGRATIONS_DIR, migrate, migrationsChecksum } from '../db/migrator.js';
import { checkConnection, createPool } from '../db/pool.js';
import { cleanTables } from '../db/clean.js';
import { loadTestConfig } from './env.js';
import { pino } from 'pino';
import { createLogger, type Logger } from '../log.js';

/** A PostgreSQL server for a test run: the configured one, or an embedded one started for the run. */
export interface TestServer {
  /** URL of the maintenance database (`postgres`) on the server. */
  adminUrl: string;
  /** Base name for the run's databases (`attune_test` by default). */
  baseName: string;
  kind: 'external' | 'embedded';
  serverVersion: string;
  stop(): Promise<void>;
}

/**
 * Uses `database.url` when set (its database name becomes the base name);
 * otherwise starts a throwaway embedded PostgreSQL in a temporary folder on a
 * free port, with durability off, and removes it on `stop`.
 */
export async function startTestServer(config: AttuneConfig = loadTestConfig()): Promise<TestServer> {
  if (config.database.url) {
    const { database } = parseDatabaseUrl(config.database.url);
    const adminUrl = withDatabase(config.database.url, 'postgres');
    const { serverVersion } = await checkConnection(adminUrl, config.database.connectTimeoutMs);
    return { adminUrl, baseName: database, kind: 'external', serverVersion, stop: async () => undefined };
  }
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'attune-test-pg-'));
  const server = new EmbeddedServer({
    dataDir: path.join(dataRoot, 'data'),
    port: await findFreePort(),
    osUser: config.database.embeddedUser,
    durability: 'none',
  });
  let serverVersion: string;
  try {
    // mkdtemp makes the folder private; as root the server runs as another user who must enter it.
    chmodSync(dataRoot, 0o755);
    await server.start();
    ({ serverVersion } = await checkConnection(server.url()));
  } catch (error) {
    // A failed start leaves nothing behind: no server, no temporary folder.
    await server.stop().catch(() => undefined);
    rmSync(dataRoot, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl: server.url(),
    baseName: config.database.name,
    kind: 'embedded',
    serverVersion,
    stop: async () => {
      await server.stop();
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
}

/** Lock held on the maintenance database while a template is built or cloned. */
const TEMPLATE_LOCK_KEY = 0x61747465_7374;
const CHECKSUM_PREFIX = 'attune-migrations:';

/**
 * Makes sure `<base>_template` holds the current migrations. Skipped when the
 * template's recorded checksum equals the migrations' checksum; rebuilt
 * otherwise. Returns the template's name and whether it was rebuilt.
 */
export async function prepareTemplate(server: TestServer, migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<{ name: string; rebuilt: boolean }> {
  const name = `${server.baseName}_template`;
  const checksum = migrationsChecksum(migrationsDir);
  return withAdminLock(server.adminUrl, async (admin) => {
    const existing = await admin.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [name],
    );
    if (existing.rows[0]?.comment === `${CHECKSUM_PREFIX}${checksum}`) return { name, rebuilt: false };
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    const pool = createPool({ url: withDatabase(server.adminUrl, name), maxConnections: 1 });
    try {
      await migrate(pool, { dir: migrationsDir });
    } finally {
      await pool.end();
    }
    await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(CHECKSUM_PREFIX + checksum)}`);
    return { name, rebuilt: true };
  });
}

/** Creates (or re-creates) database `name` as a copy of `template`. Returns its URL. */
export async function cloneDatabase(server: TestServer, template: string, name: string): Promise<string> {
  await withAdminLock(server.adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
  });
  return withDatabase(server.adminUrl, name);
}

/** Drops database `name`, disconnecting anyone still in it. */
export async function dropDatabase(server: TestServer, name: string): Promise<void> {
  await withAdminLock(server.adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

/**
 * Drops run databases (`<base>_r<stamp>_…`) left behind by runs that died more
 * than `olderThanHours` ago. Younger ones may belong to a run still going.
 */
export async function dropStaleRunDatabases(server: TestServer, olderThanHours = 6): Promise<string[]> {
  const cutoff = Math.floor(Date.now() / 1000) - olderThanHours * 3600;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    const result = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${server.baseName}_r%`]);
    const stale = result.rows
      .map((row) => row.datname)
      .filter((name) => {
        const stamp = new RegExp(`^${server.baseName}_r([0-9a-z]+)_`).exec(name)?.[1];
        return stamp !== undefined && parseInt(stamp, 36) < cutoff;
      });
    for (const name of stale) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return stale;
  } finally {
    await admin.end();
  }
}

/** A name prefix unique to this run: base, start time (base 36) and pid. */
export function runDatabasePrefix(baseName: string): string {
  return `${baseName}_r${Math.floor(Date.now() / 1000).toString(36)}_${process.pid}`;
}

/**
 * A pool on the test database named by ATTUNE__DATABASE__URL (set per worker
 * by the harness), sized by ATTUNE__DATABASE__MAX_CONNECTIONS. With
 * ATTUNE__DATABASE__LOG_STATEMENTS (on in the kit's defaults) every statement
 * is logged at debug, to stderr at ATTUNE__LOG__LEVEL (info by default, so
 * only `ATTUNE__LOG__LEVEL=debug` shows them), or to the `logger` given.
 */
export function createTestPool(overrides: { url?: string; maxConnections?: number; logger?: Logger } = {}): pg.Pool {
  const config = loadTestConfig();
  const url = overrides.url ?? config.database.url;
  if (!url) {
    throw new Error('No test database: run the tests through the Attune test harness (vitest globalSetup) or set ATTUNE__DATABASE__URL');
  }
  // stderr, synchronously: a statement's line is out before the failure it explains.
  const logger = overrides.logger ?? createLogger(config.log.level, pino.destination({ dest: 2, sync: true }));
  return createPool({
    url,
    maxConnections: overrides.maxConnections ?? config.database.maxConnections,
    connectTimeoutMs: config.database.connectTimeoutMs,
    statementTimeoutMs: config.database.statementTimeoutMs,
    logStatements: config.database.logStatements,
    logger,
  });
}

/** Empties every Attune table in dependency order; for tests that commit. */
export const cleanDatabase = cleanTables;

async function withAdminLock<T>(adminUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    return await fn(admin);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
