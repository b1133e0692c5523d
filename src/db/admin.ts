import { DatabaseError, ValidationError } from '../errors.js';
import { mapPgError } from './pg-errors.js';
import { SCHEMA, type Executor, shortVersion } from './pool.js';
import { TABLES } from './tables.js';

/**
 * Server-level housekeeping: databases, server facts, row counts. The
 * functions that create or drop a database take an executor on another
 * database of the same server (usually the maintenance database `postgres`),
 * since PostgreSQL cannot drop the database a session is connected to.
 */

/** Databases that are never created or dropped by Attune, whatever the flags. */
export const SYSTEM_DATABASES: readonly string[] = ['postgres', 'template0', 'template1'];

/** Quotes an identifier for SQL; database names are identifiers, not parameters. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** True when database `name` exists on the server. */
export async function databaseExists(admin: Executor, name: string): Promise<boolean> {
  try {
    const result = await admin.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS present', [name]);
    return result.rows[0]!.present;
  } catch (error) {
    throw mapPgError(error);
  }
}

/** Creates database `name`. Returns false, and does nothing, when it already exists. */
export async function createDatabase(admin: Executor, name: string): Promise<boolean> {
  assertNotSystemDatabase(name, 'create');
  if (await databaseExists(admin, name)) return false;
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    return true;
  } catch (error) {
    if (isDuplicateDatabase(error)) return false; // created by someone else in the meantime
    const code = (error as { code?: string }).code;
    if (code === '42501') {
      throw new DatabaseError(
        `Cannot create database '${name}': the user may not create databases; ask an administrator to create it (or to grant CREATEDB)`,
        code,
        { entity: 'database', value: name, cause: error },
      );
    }
    throw mapPgError(error);
  }
}

/**
 * A concurrent CREATE DATABASE of the same name fails with 42P04 when the
 * other one committed first, and with 23505 on pg_database's unique index
 * when both got past the catalog check: either way the database exists.
 */
function isDuplicateDatabase(error: unknown): boolean {
  const { code, table } = error as { code?: string; table?: string };
  return code === '42P04' || (code === '23505' && table === 'pg_database');
}

/** Options for `dropDatabase`. */
export interface DropDatabaseOptions {
  /** Disconnect other sessions (`DROP DATABASE … WITH (FORCE)`, PostgreSQL 13+). Without it, a database in use is refused. */
  force?: boolean;
}

/**
 * Drops database `name`. Returns false, and does nothing, when it does not
 * exist. Without `force`, a database other sessions are connected to is
 * refused with the number of sessions; with it, they are disconnected.
 */
export async function dropDatabase(admin: Executor, name: string, options: DropDatabaseOptions = {}): Promise<boolean> {
  assertNotSystemDatabase(name, 'drop');
  if (!(await databaseExists(admin, name))) return false;
  // Checked first because DROP DATABASE waits five seconds for sessions to leave before it gives up.
  if (!options.force) {
    const sessions = await otherSessions(admin, name);
    if (sessions > 0) throw inUse(name, sessions);
  }
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${options.force ? ' WITH (FORCE)' : ''}`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '55006') throw inUse(name, await otherSessions(admin, name).catch(() => undefined), error);
    if (code === '42501') {
      throw new DatabaseError(`Cannot drop database '${name}': only its owner or a superuser may drop it`, code, {
        entity: 'database',
        value: name,
        cause: error,
      });
    }
    throw mapPgError(error);
  }
}

function inUse(name: string, sessions: number | undefined, cause?: unknown): DatabaseError {
  const who = sessions === undefined ? '' : ` by ${sessions} other session${sessions === 1 ? '' : 's'}`;
  return new DatabaseError(`Database '${name}' is in use${who}; stop them, or pass --force to disconnect them`, '55006', {
    entity: 'database',
    value: name,
    cause,
  });
}

/** Sessions connected to database `name`, other than the caller's. */
export async function otherSessions(admin: Executor, name: string): Promise<number> {
  try {
    return await countSessions(admin, name);
  } catch (error) {
    throw mapPgError(error);
  }
}

async function countSessions(admin: Executor, name: string): Promise<number> {
  const result = await admin.query<{ sessions: string | number }>(
    'SELECT count(*) AS sessions FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  return Number(result.rows[0]!.sessions);
}

function assertNotSystemDatabase(name: string, verb: 'create' | 'drop'): void {
  if (SYSTEM_DATABASES.includes(name)) {
    throw new ValidationError(`Refusing to ${verb} '${name}': it is a PostgreSQL system database`, { entity: 'database', field: 'name', value: name });
  }
}

/** What the server says about itself and the connection. */
export interface ServerInfo {
  /** The version number, e.g. `16.4` (a packager's suffix such as `(Debian 16.4-1)` is dropped). */
  version: string;
  /** `server_version_num`, e.g. 160004. */
  versionNumber: number;
  database: string;
  user: string;
  /** Size of the current database on disk, in bytes. */
  databaseBytes: number;
}

/** Server version, current database, user and database size. */
export async function serverInfo(db: Executor): Promise<ServerInfo> {
  try {
    const result = await db.query<{ version: string; version_number: string; database: string; user: string; bytes: string | number }>(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS version_number,
              current_database() AS database, current_user AS user, pg_database_size(current_database()) AS bytes`,
    );
    const row = result.rows[0]!;
    return {
      version: shortVersion(row.version),
      versionNumber: Number(row.version_number),
      database: row.database,
      user: row.user,
      databaseBytes: Number(row.bytes),
    };
  } catch (error) {
    throw mapPgError(error);
  }
}

/** One table's row count; `rows` is null when the table does not exist. */
export interface TableRowCount {
  table: string;
  rows: number | null;
  /** True when `rows` is the planner's estimate rather than a count. */
  estimated: boolean;
}

/** Options for `tableRowCounts`. */
export interface RowCountOptions {
  /** Tables to count, in the order to report them. Default: every Attune table, in TABLES order. */
  tables?: readonly string[];
  /** Read the planner's estimate (pg_class.reltuples) instead of counting: instant on big tables. */
  estimate?: boolean;
}

/**
 * The row count of every Attune table in TABLES order, in one statement.
 * Tables that do not exist (an unmigrated database) have `rows: null`.
 */
export async function tableRowCounts(db: Executor, options: RowCountOptions = {}): Promise<TableRowCount[]> {
  const tables = options.tables ?? TABLES;
  try {
    const existing = await db.query<{ name: string; estimate: number }>(
      `SELECT c.relname AS name, c.reltuples::float8 AS estimate
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2::text[])`,
      [SCHEMA, [...tables]],
    );
    const estimates = new Map(existing.rows.map((row) => [row.name, Number(row.estimate)]));
    if (options.estimate) {
      // reltuples is -1 for a table never vacuumed or analysed: unknown, so count those.
      const unknown = tables.filter((table) => (estimates.get(table) ?? 0) < 0);
      const counted = await countRows(db, unknown);
      return tables.map((table) => {
        if (!estimates.has(table)) return { table, rows: null, estimated: false };
        if (counted.has(table)) return { table, rows: counted.get(table)!, estimated: false };
        return { table, rows: Math.round(estimates.get(table)!), estimated: true };
      });
    }
    const counted = await countRows(db, tables.filter((table) => estimates.has(table)));
    return tables.map((table) => ({ table, rows: counted.get(table) ?? null, estimated: false }));
  } catch (error) {
    throw mapPgError(error);
  }
}

async function countRows(db: Executor, tables: readonly string[]): Promise<Map<string, number>> {
  if (tables.length === 0) return new Map();
  const sql = tables
    .map((table, i) => `SELECT $${i + 1}::text AS name, count(*)::bigint AS rows FROM ${SCHEMA}.${quoteIdent(table)}`)
    .join(' UNION ALL ');
  const result = await db.query<{ name: string; rows: string | number }>(sql, [...tables]);
  return new Map(result.rows.map((row) => [row.name, Number(row.rows)]));
}

/** The Attune tables that do not exist in the schema, in TABLES order; empty once migrated. */
export async function missingTables(db: Executor, tables: readonly string[] = TABLES): Promise<string[]> {
  try {
    const result = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2::text[])`,
      [SCHEMA, [...tables]],
    );
    const present = new Set(result.rows.map((row) => row.name));
    return tables.filter((table) => !present.has(table));
  } catch (error) {
    throw mapPgError(error);
  }
}
