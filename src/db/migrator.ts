import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MigrationError } from '../errors.js';
import { mapPgError } from './pg-errors.js';
import { SCHEMA, SEARCH_PATH } from './pool.js';

/** The migrations shipped with Attune (works from src/ and from dist/). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** The history table, inside the attune schema. */
export const HISTORY_TABLE = 'schema_migrations';

/** Advisory lock key held while migrating, so two migrators never interleave ('attune' in ASCII). */
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
 * Applies every pending migration, each in its own transaction, while holding
 * an advisory lock. Refuses to run when an applied file was edited or the
 * database has a version with no file. Returns what it applied.
 */
export async function migrate(db: pg.Pool | pg.Client, options: MigrateOptions = {}): Promise<Migration[]> {
  const migrations = loadMigrations(options.dir);
  return withDedicatedClient(db, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await ensureHistoryTable(client);
      const status = compare(migrations, await readHistory(client));
      if (status.problems.length > 0) throw new MigrationError(`Cannot migrate: ${status.problems.join('; ')}`);
      const applied: Migration[] = [];
      for (const migration of status.pending) {
        if (options.to !== undefined && migration.version > options.to) break;
        const executionMs = await applyOne(client, migration);
        applied.push(migration);
        options.onApplied?.(migration, executionMs);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  });
}

/** Applied and pending migrations, and any mismatch between history and files. */
export async function migrationStatus(db: pg.Pool | pg.Client, options: Pick<MigrateOptions, 'dir'> = {}): Promise<MigrationStatus> {
  const migrations = loadMigrations(options.dir);
  const exists = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`${SCHEMA}.${HISTORY_TABLE}`]);
  const history = exists.rows[0]!.present ? await readHistory(db) : [];
  return compare(migrations, history);
}

async function applyOne(client: pg.ClientBase, migration: Migration): Promise<number> {
  const started = performance.now();
  await client.query('BEGIN');
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
    await client.query('COMMIT');
    return executionMs;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const position = Number((error as { position?: string }).position);
    const line = Number.isFinite(position) && position > 0 ? migration.sql.slice(0, position).split('\n').length : undefined;
    const reason = (error as Error).message;
    if (mapPgError(error).code === 'ATTUNE_DATABASE_UNAVAILABLE') throw mapPgError(error);
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

async function withDedicatedClient<T>(db: pg.Pool | pg.Client, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return fn(db);
  const client = await db.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

function pad(version: number): string {
  return String(version).padStart(4, '0');
}
