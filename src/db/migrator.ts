import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MigrationError, SchemaWithoutHistoryError } from '../errors.js';
import { isConnectionError, mapErrors, mapPgError } from './pg-errors.js';
import { SCHEMA, SEARCH_PATH } from './pool.js';
import { withTransaction } from './transaction.js';

/** The migrations shipped with Attune (works from src/ and from dist/). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** The history table, inside the attune schema. */
export const HISTORY_TABLE = 'schema_migrations';

/** Advisory lock key each migration transaction holds, so two migrators never interleave ('attune' in ASCII). */
export const MIGRATION_LOCK_KEY = 0x617474756e65;

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** One migration file on disk. */
export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

/** One row of the history table. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
  executionMs: number;
}

/** What the database has against what is on disk. */
export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: Migration[];
  /** Applied files whose content changed since, and applied versions with no file. */
  problems: string[];
}

/** Reads and checks the migration files in `dir`, in version order. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new MigrationError(`Cannot read migrations folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const migrations: Migration[] = [];
  for (const file of entries.filter((entry) => entry.endsWith('.sql')).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`Migration file ${file} must be named NNNN_name.sql (four digits, lowercase name)`, { field: 'file', value: file });
    const sql = readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    const version = Number(match[1]);
    const clash = migrations.find((m) => m.version === version);
    if (clash) throw new MigrationError(`Migrations ${clash.file} and ${file} share version ${version}`, { field: 'version', value: version });
    migrations.push({ version, name: match[2]!, file, sql, checksum: checksumOf(sql) });
  }
  return migrations;
}

/** One checksum over every migration file: changes whenever any file does. */
export function migrationsChecksum(dir: string = DEFAULT_MIGRATIONS_DIR): string {
  const hash = createHash('sha256');
  for (const migration of loadMigrations(dir)) hash.update(`${migration.file}:${migration.checksum}\n`);
  return hash.digest('hex');
}

/** Options for `migrate` and `migrationStatus`. */
export interface MigrateOptions {
  dir?: string;
  /** Apply only up to and including this version. */
  to?: number;
  /** Called after each file is applied. */
  onApplied?: (migration: Migration, executionMs: number) => void;
}

/**
 * Applies every pending migration, each in its own transaction. Each of
 * those transactions first takes a transaction-scoped advisory lock and
 * re-reads the history, so two migrators never interleave and a file another
 * migrator applied meanwhile is not applied twice; the lock ends with the
 * transaction, so it cannot outlive a failure. Refuses to run when an applied
 * file was edited, the database has a version with no file, or the schema
 * holds Attune's objects but no history (SchemaWithoutHistoryError). Returns
 * what it applied.
 */
export async function migrate(db: pg.Pool | pg.Client, options: MigrateOptions = {}): Promise<Migration[]> {
  const migrations = loadMigrations(options.dir);
  const applied: Migration[] = [];
  for (;;) {
    const step = await withTransaction(db, async (tx) => {
      const next = await mapErrors('migration', async () => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        await ensureHistoryTable(tx);
        const history = await readHistory(tx);
        if (history.length === 0) await assertNoSchemaWithoutHistory(tx);
        const status = compare(migrations, history);
        if (status.problems.length > 0) throw new MigrationError(`Cannot migrate: ${status.problems.join('; ')}`);
        return status.pending[0];
      });
      if (next === undefined || (options.to !== undefined && next.version > options.to)) return undefined;
      // A failing file throws and withTransaction rolls back all of it, history row included.
      return { migration: next, executionMs: await applyOne(tx, next) };
    });
    if (step === undefined) return applied;
    applied.push(step.migration);
    options.onApplied?.(step.migration, step.executionMs);
  }
}

/**
 * Applied and pending migrations, and any mismatch between history and
 * files. Creates nothing. SchemaWithoutHistoryError when the schema holds
 * Attune's objects but no history: every file would look pending, and
 * applying them would fail.
 */
export async function migrationStatus(db: pg.Pool | pg.Client, options: Pick<MigrateOptions, 'dir'> = {}): Promise<MigrationStatus> {
  const migrations = loadMigrations(options.dir);
  return mapErrors('migration', async () => {
    const exists = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`${SCHEMA}.${HISTORY_TABLE}`]);
    const history = exists.rows[0]!.present ? await readHistory(db) : [];
    if (history.length === 0) await assertNoSchemaWithoutHistory(db);
    return compare(migrations, history);
  });
}

/**
 * The objects in the attune schema other than the history table: tables,
 * views and functions, leaving out those of extensions (pg_trgm lives there
 * and may have been created beforehand). Empty for a database no migration
 * has touched.
 */
export async function unrecordedSchemaObjects(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  const result = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> $2
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     UNION ALL
     SELECT p.proname || '()' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1`,
    [SCHEMA, HISTORY_TABLE],
  );
  return result.rows.map((row) => row.name);
}

/** SchemaWithoutHistoryError, saying what to do, when the schema holds objects; call only when the history is absent or empty. */
async function assertNoSchemaWithoutHistory(db: pg.Pool | pg.ClientBase): Promise<void> {
  const objects = await unrecordedSchemaObjects(db);
  if (objects.length === 0) return;
  const shown = objects.length > 6 ? `${objects.slice(0, 6).join(', ')} and ${objects.length - 6} more` : objects.join(', ');
  throw new SchemaWithoutHistoryError(
    `Schema ${SCHEMA} holds ${objects.length} Attune object${objects.length === 1 ? '' : 's'} (${shown}) but no migration history ` +
      `(${SCHEMA}.${HISTORY_TABLE} is missing or empty), so which migrations it holds is unknown and none can be applied. ` +
      `Restore ${SCHEMA}.${HISTORY_TABLE} from a backup of this database, or, if its data can go, drop the schema ` +
      `(DROP SCHEMA ${SCHEMA} CASCADE deletes every Attune table and row) and migrate again`,
    { entity: 'schema', field: `${SCHEMA}.${HISTORY_TABLE}`, value: objects.length },
  );
}

async function applyOne(client: pg.ClientBase, migration: Migration): Promise<number> {
  const started = performance.now();
  try {
    await client.query(`SET LOCAL search_path TO ${SEARCH_PATH}`);
    await client.query(migration.sql);
    const executionMs = Math.round(performance.now() - started);
    await client.query(`INSERT INTO ${SCHEMA}.${HISTORY_TABLE} (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)`, [
      migration.version,
      migration.name,
      migration.checksum,
      executionMs,
    ]);
    return executionMs;
  } catch (error) {
    if (isConnectionError(error)) throw mapPgError(error);
    const position = Number((error as { position?: string }).position);
    const line = Number.isFinite(position) && position > 0 ? migration.sql.slice(0, position).split('\n').length : undefined;
    const reason = (error as Error).message;
    throw new MigrationError(`Migration ${migration.file} failed${line ? ` at line ${line}` : ''}: ${reason}; nothing from this file was applied`, {
      field: 'file',
      value: migration.file,
      cause: error,
    });
  }
}

async function ensureHistoryTable(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.${HISTORY_TABLE} (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms INTEGER NOT NULL
  )`);
}

async function readHistory(db: pg.Pool | pg.ClientBase): Promise<AppliedMigration[]> {
  const result = await db.query<{ version: number; name: string; checksum: string; applied_at: Date; execution_ms: number }>(
    `SELECT version, name, checksum, applied_at, execution_ms FROM ${SCHEMA}.${HISTORY_TABLE} ORDER BY version`,
  );
  return result.rows.map((row) => ({
    version: Number(row.version),
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at,
    executionMs: Number(row.execution_ms),
  }));
}

function compare(migrations: Migration[], history: AppliedMigration[]): MigrationStatus {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const appliedVersions = new Set(history.map((h) => h.version));
  const problems: string[] = [];
  for (const applied of history) {
    const file = byVersion.get(applied.version);
    if (!file) {
      problems.push(`applied migration ${pad(applied.version)}_${applied.name} has no file (is this Attune older than the database?)`);
    } else if (file.checksum !== applied.checksum) {
      problems.push(`migration ${file.file} was edited after it was applied (checksum ${applied.checksum.slice(0, 12)} in the database, ${file.checksum.slice(0, 12)} on disk); add a new migration instead`);
    }
  }
  const pending = migrations.filter((m) => !appliedVersions.has(m.version));
  const newestApplied = Math.max(0, ...appliedVersions);
  for (const missed of pending.filter((m) => m.version < newestApplied)) {
    problems.push(`migration ${missed.file} is older than the newest applied one (${pad(newestApplied)}) but was never applied`);
  }
  return { applied: history, pending, problems };
}

function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

function pad(version: number): string {
  return String(version).padStart(4, '0');
}
