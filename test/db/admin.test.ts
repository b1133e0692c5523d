import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../../src/config.js';
import {
  createDatabase,
  databaseExists,
  dropDatabase,
  missingTables,
  otherSessions,
  quoteIdent,
  serverInfo,
  tableRowCounts,
} from '../../src/db/admin.js';
import { TABLES } from '../../src/db/tables.js';
import { DatabaseError, ValidationError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { useTransactionPerTest } from '../support/db.js';

// Databases made here are named attune_cli_test_<random> on the test server
// and dropped afterwards; the worker's own database is only read, inside
// rolled-back transactions.
const { adminUrl } = inject('attuneTemplate');
const created = new Set<string>();
let admin: pg.Client;

function scratchName(): string {
  const name = `attune_cli_test_${randomBytes(5).toString('hex')}`;
  created.add(name);
  return name;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
});

afterAll(async () => {
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await admin.end();
});

describe('createDatabase / databaseExists / dropDatabase', () => {
  it('creates a database once, then reports it already there', async () => {
    const name = scratchName();
    expect(await databaseExists(admin, name)).toBe(false);
    expect(await createDatabase(admin, name)).toBe(true);
    expect(await databaseExists(admin, name)).toBe(true);
    expect(await createDatabase(admin, name)).toBe(false);
  });

  it('drops a database once, then reports it already gone', async () => {
    const name = scratchName();
    await createDatabase(admin, name);
    expect(await dropDatabase(admin, name)).toBe(true);
    expect(await databaseExists(admin, name)).toBe(false);
    expect(await dropDatabase(admin, name)).toBe(false);
  });

  it('refuses to drop a database in use unless forced, naming the sessions and --force', async () => {
    const name = scratchName();
    await createDatabase(admin, name);
    const session = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
    session.on('error', () => undefined);
    await session.connect();
    try {
      expect(await otherSessions(admin, name)).toBe(1);
      const error = await expectErrorType(dropDatabase(admin, name), DatabaseError);
      expect(error.message).toBe(`Database '${name}' is in use by 1 other session; stop them, or pass --force to disconnect them`);
      expect(await databaseExists(admin, name)).toBe(true);
      expect(await dropDatabase(admin, name, { force: true })).toBe(true);
      expect(await databaseExists(admin, name)).toBe(false);
    } finally {
      await session.end().catch(() => undefined);
    }
  });

  it('creates a missing database exactly once when three sessions race to create it', async () => {
    // Concurrent CREATE DATABASE of one name fails in the losers either with
    // 42P04 (duplicate_database) or, when both passed the catalog check, with
    // 23505 on pg_database's unique index: both mean "created meanwhile".
    // Several rounds, because which of the two a loser sees depends on timing.
    const sessions = await Promise.all(
      [1, 2, 3].map(async () => {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        return client;
      }),
    );
    try {
      for (let round = 0; round < 5; round++) {
        const name = scratchName();
        const results = await Promise.all(sessions.map((session) => createDatabase(session, name)));
        expect(results.filter((created) => created)).toHaveLength(1);
        expect(results.filter((created) => !created)).toHaveLength(2);
        expect(await databaseExists(admin, name)).toBe(true);
      }
    } finally {
      await Promise.all(sessions.map((session) => session.end()));
    }
  });

  it.each(['postgres', 'template0', 'template1'])('never creates or drops the system database %s', async (name) => {
    await expectErrorType(dropDatabase(admin, name, { force: true }), ValidationError);
    await expectErrorType(createDatabase(admin, name), ValidationError);
    expect(await databaseExists(admin, name)).toBe(true);
  });

  it('quotes names it cannot pass as parameters', async () => {
    expect(quoteIdent('attune_test')).toBe('"attune_test"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    const name = `${scratchName()}_We"ird`;
    created.add(name);
    expect(await createDatabase(admin, name)).toBe(true);
    expect(await databaseExists(admin, name)).toBe(true);
    expect(await dropDatabase(admin, name)).toBe(true);
  });
});

describe('on the worker database', () => {
  const ctx = useTransactionPerTest();

  it('serverInfo names the version, database, user and size', async () => {
    const info = await serverInfo(ctx.db);
    expect(info.version).toMatch(/^\d+(\.\d+)?/);
    expect(info.versionNumber).toBeGreaterThanOrEqual(130000);
    const current = await ctx.db.query<{ db: string }>('SELECT current_database() AS db');
    expect(info.database).toBe(current.rows[0]!.db);
    expect(info.user.length).toBeGreaterThan(0);
    expect(info.databaseBytes).toBeGreaterThan(0);
  });

  it('tableRowCounts counts every table in TABLES order', async () => {
    await ctx.db.query(`INSERT INTO packs (ref, version, name) VALUES ('counted-a', '1.0.0', 'A'), ('counted-b', '1.0.0', 'B')`);
    await ctx.db.query(`INSERT INTO identities (login) VALUES ('count-me')`);
    const before = await ctx.db.query<{ packs: number; identities: number }>(
      'SELECT (SELECT count(*) FROM packs)::int AS packs, (SELECT count(*) FROM identities)::int AS identities',
    );
    const counts = await tableRowCounts(ctx.db);
    expect(counts.map((count) => count.table)).toEqual([...TABLES]);
    expect(counts.find((c) => c.table === 'packs')).toEqual({ table: 'packs', rows: before.rows[0]!.packs, estimated: false });
    expect(counts.find((c) => c.table === 'identities')?.rows).toBe(before.rows[0]!.identities);
    expect(counts.every((count) => typeof count.rows === 'number')).toBe(true);
  });

  it('tableRowCounts reports a missing table as null', async () => {
    await ctx.db.query('DROP TABLE notifications');
    const counts = await tableRowCounts(ctx.db);
    expect(counts.at(-1)).toEqual({ table: 'notifications', rows: null, estimated: false });
    expect(await missingTables(ctx.db)).toEqual(['notifications']);
  });

  it('tableRowCounts with estimate gives a number for every table', async () => {
    const counts = await tableRowCounts(ctx.db, { estimate: true });
    expect(counts.map((count) => count.table)).toEqual([...TABLES]);
    for (const count of counts) expect(count.rows).toBeGreaterThanOrEqual(0);
  });

  it('missingTables is empty once migrated', async () => {
    expect(await missingTables(ctx.db)).toEqual([]);
  });
});
