import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../../src/config.js';
import {
  DEFAULT_MIGRATIONS_DIR,
  HISTORY_TABLE,
  MIGRATION_LOCK_KEY,
  loadMigrations,
  migrate,
  migrationStatus,
  migrationsChecksum,
  type Migration,
} from '../../src/db/migrator.js';
import { createPool } from '../../src/db/pool.js';
import { TABLES } from '../../src/db/tables.js';
import { MigrationError, SchemaWithoutHistoryError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { createTestPool, runDatabasePrefix } from '../../src/testing/database.js';

// Every test here works on a brand-new empty database of its own (or on a
// temporary copy of migrations/), created through the maintenance database
// and dropped afterwards. Names follow the run-database pattern, so a crashed
// run's leftovers are swept by dropStaleRunDatabases.
const template = inject('attuneTemplate');
const baseName = template.name.replace(/_template$/, '');
// A snapshot of migrations/ taken when the file loads: every test migrates
// from it, so an edit to migrations/ while the tests run cannot race them.
const SNAPSHOT = mkdtempSync(path.join(tmpdir(), 'attune-migrations-snapshot-'));
cpSync(DEFAULT_MIGRATIONS_DIR, SNAPSHOT, { recursive: true });
const SHIPPED = loadMigrations(SNAPSHOT);
const SHIPPED_COUNT = SHIPPED.length;
/** Options that point the migrator at the snapshot. */
const shipped = { dir: SNAPSHOT };

afterAll(() => {
  rmSync(SNAPSHOT, { recursive: true, force: true });
});

let databaseCounter = 0;
const databases: string[] = [];
const pools: pg.Pool[] = [];
const clients: pg.Client[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.end().catch(() => undefined);
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
  for (const name of databases.splice(0)) await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: template.adminUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Creates an empty database (no attune schema) and returns a pool on it. */
async function emptyDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  databaseCounter += 1;
  const name = `${runDatabasePrefix(baseName)}_mig${databaseCounter}`;
  databases.push(name);
  await adminQuery(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = withDatabase(template.adminUrl, name);
  return { url, pool: poolOn(url) };
}

function poolOn(url: string, maxConnections = 2): pg.Pool {
  const pool = createPool({ url, maxConnections });
  pools.push(pool);
  return pool;
}

async function clientOn(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  clients.push(client);
  await client.connect();
  return client;
}

/** A temporary copy of the shipped migrations folder. */
function copyOfMigrations(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'attune-migrations-'));
  folders.push(dir);
  cpSync(SNAPSHOT, dir, { recursive: true });
  return dir;
}

function emptyFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'attune-migrations-'));
  folders.push(dir);
  return dir;
}

async function history(db: pg.Pool): Promise<{ version: number; name: string; checksum: string; applied_at: Date; execution_ms: number }[]> {
  const result = await db.query(`SELECT version, name, checksum, applied_at, execution_ms FROM attune.${HISTORY_TABLE} ORDER BY version`);
  return result.rows;
}

async function tableExists(db: pg.Pool, qualified: string): Promise<boolean> {
  const result = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [qualified]);
  return result.rows[0]!.present;
}

async function attuneTables(db: pg.Pool): Promise<string[]> {
  const result = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'attune' AND c.relkind = 'r' ORDER BY c.relname`,
  );
  return result.rows.map((row) => row.relname);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function versions(migrations: readonly Pick<Migration, 'version'>[]): number[] {
  return migrations.map((m) => m.version);
}

describe('the shipped migrations', () => {
  it('are numbered 1..N without gaps, one per table after the foundation', () => {
    expect(versions(SHIPPED)).toEqual(Array.from({ length: SHIPPED_COUNT }, (_, i) => i + 1));
    expect(SHIPPED[0]!.name).toBe('foundation');
    // 0002_packs … 0014_notifications: every one of the data model's thirteen tables has its own file; later
    // files change them or add the later tables (pack_files, sensors, schedules, …).
    const thirteen = ['packs', 'runtimes', 'workers', 'triggers', 'actions', 'rules', 'events', 'enforcements', 'executions', 'inquiries', 'identities', 'keys', 'notifications'];
    expect(TABLES).toEqual(expect.arrayContaining(thirteen));
    expect(SHIPPED.slice(1, 14).map((m) => m.name).sort()).toEqual([...thirteen].sort());
    for (const migration of SHIPPED) expect(migration.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('are all applied to the worker database, with no pending file and no problem', async () => {
    const pool = createTestPool({ maxConnections: 1 });
    pools.push(pool);
    const status = await migrationStatus(pool, shipped);
    expect(status.problems).toEqual([]);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((a) => [a.version, a.name, a.checksum])).toEqual(SHIPPED.map((m) => [m.version, m.name, m.checksum]));
  });
});

describe('migrate on an empty database', () => {
  it('applies every file in order and records version, name and checksum of each', async () => {
    const { pool } = await emptyDatabase();
    expect(await tableExists(pool, `attune.${HISTORY_TABLE}`)).toBe(false);
    const reported: [number, number][] = [];
    const applied = await migrate(pool, { ...shipped, onApplied: (m, ms) => reported.push([m.version, ms]) });

    expect(versions(applied)).toEqual(versions(SHIPPED));
    expect(reported.map(([version]) => version)).toEqual(versions(SHIPPED));
    for (const [, ms] of reported) expect(ms).toBeGreaterThanOrEqual(0);

    const rows = await history(pool);
    expect(rows.map((r) => ({ version: r.version, name: r.name, checksum: r.checksum }))).toEqual(
      SHIPPED.map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })),
    );
    for (const row of rows) {
      expect(row.applied_at).toBeInstanceOf(Date);
      expect(row.execution_ms).toBeGreaterThanOrEqual(0);
    }
    expect(await attuneTables(pool)).toEqual([...TABLES, HISTORY_TABLE].sort());
  });

  it('applies nothing on a second run and leaves the history untouched', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool, shipped);
    const before = await history(pool);
    const calls: number[] = [];
    expect(await migrate(pool, { ...shipped, onApplied: (m) => calls.push(m.version) })).toEqual([]);
    expect(calls).toEqual([]);
    expect(await history(pool)).toEqual(before);
  });

  it('works on a single pg.Client as well as on a pool', async () => {
    const { url, pool } = await emptyDatabase();
    const client = await clientOn(url);
    expect(versions(await migrate(client, shipped))).toEqual(versions(SHIPPED));
    expect(await migrate(client, shipped)).toEqual([]);
    expect((await history(pool)).length).toBe(SHIPPED_COUNT);
    // The client is still usable afterwards: no transaction left open, lock released.
    const state = await client.query<{ locks: string }>(`SELECT count(*)::text AS locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
    expect(state.rows[0]!.locks).toBe('0');
  });

  it('`to` applies only up to and including that version; a later run applies the rest', async () => {
    const { pool } = await emptyDatabase();
    expect(versions(await migrate(pool, { ...shipped, to: 5 }))).toEqual([1, 2, 3, 4, 5]);
    expect(await tableExists(pool, 'attune.triggers')).toBe(true);
    expect(await tableExists(pool, 'attune.actions')).toBe(false);
    expect(versions(await history(pool))).toEqual([1, 2, 3, 4, 5]);

    const status = await migrationStatus(pool, shipped);
    expect(versions(status.applied)).toEqual([1, 2, 3, 4, 5]);
    expect(versions(status.pending)).toEqual(versions(SHIPPED).filter((v) => v > 5));
    expect(status.problems).toEqual([]);

    expect(await migrate(pool, { ...shipped, to: 5 })).toEqual([]);
    expect(versions(await migrate(pool, shipped))).toEqual(versions(SHIPPED).filter((v) => v > 5));
    expect(await tableExists(pool, 'attune.notifications')).toBe(true);
  });
});

describe('migrationStatus', () => {
  it('reports every file pending on a database with no history table, without creating one', async () => {
    const { pool } = await emptyDatabase();
    const status = await migrationStatus(pool, shipped);
    expect(status.applied).toEqual([]);
    expect(versions(status.pending)).toEqual(versions(SHIPPED));
    expect(status.problems).toEqual([]);
    expect(await tableExists(pool, `attune.${HISTORY_TABLE}`)).toBe(false);
  });

  it('reports everything applied and nothing pending after migrate', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool, shipped);
    const status = await migrationStatus(pool, shipped);
    expect(status.pending).toEqual([]);
    expect(status.problems).toEqual([]);
    expect(status.applied.map((a) => a.checksum)).toEqual(SHIPPED.map((m) => m.checksum));
    for (const applied of status.applied) expect(applied.appliedAt).toBeInstanceOf(Date);
  });
});

describe('history checks', () => {
  it('refuses to migrate when an applied file was edited afterwards, naming it, and applies nothing new', async () => {
    const dir = copyOfMigrations();
    const { pool } = await emptyDatabase();
    await migrate(pool, { dir });
    appendFileSync(path.join(dir, '0003_runtimes.sql'), '\n-- an innocent-looking edit\n');
    writeFileSync(path.join(dir, '0099_later.sql'), 'CREATE TABLE later_table (id int);\n');

    const error = await expectErrorType(migrate(pool, { dir }), MigrationError);
    expect(error.code).toBe('ATTUNE_MIGRATION');
    expect(error.message).toContain('0003_runtimes.sql');
    expect(error.message).toContain('edited');
    // Refused before anything ran: the new file was not applied.
    expect(await tableExists(pool, 'attune.later_table')).toBe(false);
    expect((await history(pool)).length).toBe(SHIPPED_COUNT);

    const status = await migrationStatus(pool, { dir });
    expect(status.problems).toHaveLength(1);
    expect(status.problems[0]).toContain('0003_runtimes.sql');
    expect(versions(status.pending)).toEqual([99]);
  });

  it('treats CRLF line endings as the same file (no false "edited")', async () => {
    const dir = copyOfMigrations();
    const { pool } = await emptyDatabase();
    await migrate(pool, { dir });
    const file = path.join(dir, '0002_packs.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    expect(await migrate(pool, { dir })).toEqual([]);
    expect((await migrationStatus(pool, { dir })).problems).toEqual([]);
  });

  it('refuses when the database has an applied version with no file', async () => {
    const dir = copyOfMigrations();
    const { pool } = await emptyDatabase();
    await migrate(pool, { dir });
    rmSync(path.join(dir, '0014_notifications.sql'));
    const error = await expectErrorType(migrate(pool, { dir }), MigrationError);
    expect(error.message).toContain('0014_notifications');
    expect(error.message).toContain('has no file');
    expect((await migrationStatus(pool, { dir })).problems).toEqual([expect.stringContaining('0014_notifications has no file')]);
  });

  it('refuses a file older than the newest applied one that was never applied', async () => {
    const dir = copyOfMigrations();
    const held = readFileSync(path.join(dir, '0013_keys.sql'), 'utf8');
    rmSync(path.join(dir, '0013_keys.sql'));
    const { pool } = await emptyDatabase();
    await migrate(pool, { dir }); // 1..12 and 14
    writeFileSync(path.join(dir, '0013_keys.sql'), held);

    const error = await expectErrorType(migrate(pool, { dir }), MigrationError);
    expect(error.message).toContain('0013_keys.sql');
    expect(await tableExists(pool, 'attune.keys')).toBe(false);
    const status = await migrationStatus(pool, { dir });
    expect(versions(status.pending)).toEqual([13]);
    expect(status.problems).toEqual([expect.stringContaining('0013_keys.sql is older than the newest applied one')]);
  });
});

describe('a failing migration', () => {
  // The numbers after the shipped files, so a new shipped migration never collides with these.
  const NEXT = String(SHIPPED_COUNT + 1).padStart(4, '0');
  const AFTER = String(SHIPPED_COUNT + 2).padStart(4, '0');

  it('rolls back the whole file, records no history row for it, and names the file and line', async () => {
    const dir = copyOfMigrations();
    writeFileSync(
      path.join(dir, `${NEXT}_broken.sql`),
      [
        '-- creates a table, fills it, then fails',
        'CREATE TABLE broken_half (id int);',
        'INSERT INTO broken_half VALUES (1);',
        'ALTER TABLE packs ADD COLUMN broken_column int;',
        'SELECT * FROM no_such_table;',
        'CREATE TABLE never_reached (id int);',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, `${AFTER}_after.sql`), 'CREATE TABLE after_broken (id int);\n');
    const { pool } = await emptyDatabase();

    const applied: number[] = [];
    const error = await expectErrorType(migrate(pool, { dir, onApplied: (m) => applied.push(m.version) }), MigrationError);
    expect(error.message).toContain(`${NEXT}_broken.sql`);
    expect(error.message).toContain('at line 5');
    expect(error.message).toContain('no_such_table');
    expect(error).toMatchObject({ field: 'file', value: `${NEXT}_broken.sql` });

    // The files before it are applied and recorded; nothing of it or after it is.
    expect(applied).toEqual(versions(SHIPPED));
    expect(versions(await history(pool))).toEqual(versions(SHIPPED));
    expect(await tableExists(pool, 'attune.broken_half')).toBe(false);
    expect(await tableExists(pool, 'attune.never_reached')).toBe(false);
    expect(await tableExists(pool, 'attune.after_broken')).toBe(false);
    const column = await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = 'attune' AND table_name = 'packs' AND column_name = 'broken_column'`);
    expect(column.rowCount).toBe(0);

    const status = await migrationStatus(pool, { dir });
    expect(versions(status.pending)).toEqual([SHIPPED_COUNT + 1, SHIPPED_COUNT + 2]);
    expect(status.problems).toEqual([]);

    // Fixing the file lets the next run apply it and the one after.
    writeFileSync(path.join(dir, `${NEXT}_broken.sql`), 'CREATE TABLE broken_half (id int);\n');
    expect(versions(await migrate(pool, { dir }))).toEqual([SHIPPED_COUNT + 1, SHIPPED_COUNT + 2]);
    expect(await tableExists(pool, 'attune.after_broken')).toBe(true);
  });

  it('reports the line of a syntax error', async () => {
    const dir = emptyFolder();
    writeFileSync(path.join(dir, '0001_ok.sql'), 'CREATE TABLE fine (id int);\n');
    writeFileSync(path.join(dir, '0002_typo.sql'), 'CREATE TABLE first_one (id int);\n\n\nCREAT TABLE typo (id int);\n');
    const { pool } = await emptyDatabase();
    const error = await expectErrorType(migrate(pool, { dir }), MigrationError);
    expect(error.message).toMatch(/Migration 0002_typo\.sql failed at line 4: syntax error/);
    expect(versions(await history(pool))).toEqual([1]);
    expect(await tableExists(pool, 'attune.first_one')).toBe(false);
  });
});

describe('loadMigrations', () => {
  it.each([
    ['V1__init.sql'],
    ['001_short.sql'],
    ['0001_Upper.sql'],
    ['0001-dash.sql'],
    ['0001_.sql'],
    ['00001_five_digits.sql'],
    ['0001 space.sql'],
  ])('refuses the badly named file %j, naming it', (file) => {
    const dir = emptyFolder();
    writeFileSync(path.join(dir, '0001_fine.sql'), 'SELECT 1;');
    writeFileSync(path.join(dir, file), 'SELECT 1;');
    let caught: unknown;
    try {
      loadMigrations(dir);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MigrationError);
    expect((caught as MigrationError).message).toContain(file);
    expect((caught as MigrationError).value).toBe(file);
  });

  it('refuses two files with the same version, naming both', () => {
    const dir = emptyFolder();
    writeFileSync(path.join(dir, '0001_first.sql'), 'SELECT 1;');
    writeFileSync(path.join(dir, '0002_second.sql'), 'SELECT 2;');
    writeFileSync(path.join(dir, '0002_again.sql'), 'SELECT 3;');
    expect(() => loadMigrations(dir)).toThrow(MigrationError);
    expect(() => loadMigrations(dir)).toThrow(/0002_again\.sql.*0002_second\.sql|0002_second\.sql.*0002_again\.sql/);
  });

  it('refuses a folder that does not exist', () => {
    const missing = path.join(emptyFolder(), 'nope');
    expect(() => loadMigrations(missing)).toThrow(MigrationError);
    expect(() => loadMigrations(missing)).toThrow(missing);
  });

  it('orders by version, ignores files that are not .sql, and reads the name and SQL', () => {
    const dir = emptyFolder();
    writeFileSync(path.join(dir, '0010_ten.sql'), 'SELECT 10;');
    writeFileSync(path.join(dir, '0002_two.sql'), 'SELECT 2;');
    writeFileSync(path.join(dir, 'README.md'), '# not a migration');
    mkdirSync(path.join(dir, 'drafts'));
    const loaded = loadMigrations(dir);
    expect(loaded.map((m) => [m.version, m.name, m.file, m.sql])).toEqual([
      [2, 'two', '0002_two.sql', 'SELECT 2;'],
      [10, 'ten', '0010_ten.sql', 'SELECT 10;'],
    ]);
  });

  it('gives the same checksum for LF and CRLF copies and a different one for different SQL', () => {
    const lf = emptyFolder();
    const crlf = emptyFolder();
    writeFileSync(path.join(lf, '0001_a.sql'), 'SELECT 1;\nSELECT 2;\n');
    writeFileSync(path.join(crlf, '0001_a.sql'), 'SELECT 1;\r\nSELECT 2;\r\n');
    const [a] = loadMigrations(lf);
    const [b] = loadMigrations(crlf);
    expect(a!.checksum).toBe(b!.checksum);
    expect(b!.sql).toBe('SELECT 1;\nSELECT 2;\n');
    writeFileSync(path.join(crlf, '0001_a.sql'), 'SELECT 1;\nSELECT 3;\n');
    expect(loadMigrations(crlf)[0]!.checksum).not.toBe(a!.checksum);
  });
});

describe('migrationsChecksum', () => {
  it('reads the project migrations folder by default', () => {
    expect(path.resolve(DEFAULT_MIGRATIONS_DIR)).toBe(path.resolve(import.meta.dirname, '../../migrations'));
    expect(migrationsChecksum()).toMatch(/^[0-9a-f]{64}$/);
  });


  it('is the same for an identical copy and changes when a file is edited, added, removed or renamed', () => {
    const dir = copyOfMigrations();
    const original = migrationsChecksum(SNAPSHOT);
    expect(original).toMatch(/^[0-9a-f]{64}$/);
    expect(migrationsChecksum(dir)).toBe(original);

    appendFileSync(path.join(dir, '0005_triggers.sql'), '-- edit\n');
    const edited = migrationsChecksum(dir);
    expect(edited).not.toBe(original);

    writeFileSync(path.join(dir, `${String(SHIPPED_COUNT + 1).padStart(4, '0')}_more.sql`), 'SELECT 1;\n');
    const added = migrationsChecksum(dir);
    expect(added).not.toBe(edited);

    rmSync(path.join(dir, `${String(SHIPPED_COUNT + 1).padStart(4, '0')}_more.sql`));
    expect(migrationsChecksum(dir)).toBe(edited);

    // Same content under another name is another history.
    writeFileSync(path.join(dir, `${String(SHIPPED_COUNT + 1).padStart(4, '0')}_renamed.sql`), 'SELECT 1;\n');
    expect(migrationsChecksum(dir)).not.toBe(added);
  });
});

describe('concurrent migrators', () => {
  it('two migrators started at once on one empty database apply every migration exactly once', async () => {
    const { url, pool } = await emptyDatabase();
    const first = poolOn(url, 1);
    const second = poolOn(url, 1);
    const results = await Promise.all([migrate(first, shipped), migrate(second, shipped)]);

    // Each file's transaction holds the lock, so the two may share the work,
    // but between them they apply every file once, in order.
    const appliedByEither = results.flatMap((r) => versions(r)).sort((a, b) => a - b);
    expect(appliedByEither).toEqual(versions(SHIPPED));
    for (const result of results) expect(versions(result)).toEqual([...versions(result)].sort((a, b) => a - b));
    const rows = await history(pool);
    expect(versions(rows)).toEqual(versions(SHIPPED));
    expect(await attuneTables(pool)).toEqual([...TABLES, HISTORY_TABLE].sort());
    const locks = await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(locks.rowCount).toBe(0);
  });

  it('never leaves its lock held, even when the statement that would release a session lock fails', async () => {
    const { url, pool } = await emptyDatabase();
    class UnlockFails extends pg.Client {
      override query(...args: unknown[]): never {
        if (typeof args[0] === 'string' && args[0].includes('pg_advisory_unlock')) return Promise.reject(new Error('unlock lost')) as never;
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    // One connection that stays open, idle in its pool, after migrate returns: a lock it kept would show.
    const migrator = new pg.Pool({ connectionString: url, max: 1, Client: UnlockFails });
    pools.push(migrator);
    expect(versions(await migrate(migrator, shipped))).toEqual(versions(SHIPPED));
    expect(migrator.totalCount).toBe(1);
    const locks = await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(locks.rowCount).toBe(0);
  });

  it('waits on the advisory lock while another session holds it, then migrates', async () => {
    const { url, pool } = await emptyDatabase();
    const holder = await clientOn(url);
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);

    const migrator = poolOn(url, 1);
    const running = migrate(migrator, shipped);
    // Wait (bounded) until the migrator's session is blocked on the advisory lock.
    let waiting = false;
    for (let i = 0; i < 200 && !waiting; i++) {
      const result = await pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
      );
      waiting = (result.rowCount ?? 0) > 0;
      if (!waiting) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(waiting).toBe(true);
    expect(await tableExists(pool, `attune.${HISTORY_TABLE}`)).toBe(false);

    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    expect(versions(await running)).toEqual(versions(SHIPPED));
  });
});

describe('a schema without migration history', () => {
  it('migrate refuses with ATTUNE_SCHEMA_WITHOUT_HISTORY, saying what to do, and changes nothing; the advice works', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool, shipped);
    await pool.query(`DROP TABLE attune.${HISTORY_TABLE}`);
    const tablesBefore = await attuneTables(pool);

    const error = await expectErrorType(migrate(pool, shipped), SchemaWithoutHistoryError);
    expect(error.code).toBe('ATTUNE_SCHEMA_WITHOUT_HISTORY');
    expect(error.field).toBe(`attune.${HISTORY_TABLE}`);
    expect(error.message).toContain('no migration history');
    expect(error.message).toMatch(/holds \d+ Attune objects \(actions, /);
    expect(error.message).toContain('DROP SCHEMA attune CASCADE');
    expect(await tableExists(pool, `attune.${HISTORY_TABLE}`)).toBe(false);
    expect(await attuneTables(pool)).toEqual(tablesBefore);

    await pool.query('DROP SCHEMA attune CASCADE');
    expect(versions(await migrate(pool, shipped))).toEqual(versions(SHIPPED));
  });

  it('migrationStatus refuses the same way instead of reporting every file pending', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool, shipped);
    await pool.query(`DROP TABLE attune.${HISTORY_TABLE}`);
    const error = await expectErrorType(migrationStatus(pool, shipped), SchemaWithoutHistoryError);
    expect(error.message).toContain('no migration history');
  });

  it('an emptied history table is the same as a dropped one', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool, { ...shipped, to: 1 });
    await pool.query(`DELETE FROM attune.${HISTORY_TABLE}`);
    await expectErrorType(migrationStatus(pool, shipped), SchemaWithoutHistoryError);
    const error = await expectErrorType(migrate(pool, shipped), SchemaWithoutHistoryError);
    expect(error.message).toContain('1 Attune object (set_updated_at())');
  });

  it('is not confused by an empty schema or one holding only the pg_trgm extension', async () => {
    const { pool } = await emptyDatabase();
    await pool.query('CREATE SCHEMA attune');
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA attune');
    expect(versions((await migrationStatus(pool, shipped)).pending)).toEqual(versions(SHIPPED));
    expect(versions(await migrate(pool, shipped))).toEqual(versions(SHIPPED));
  });
});
