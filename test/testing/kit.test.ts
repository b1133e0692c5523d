import { AssertionError } from 'node:assert';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { expectErrorContains, expectErrorType } from '../../src/testing/assertions.js';
import { createTestPool, cleanDatabase } from '../../src/testing/database.js';
import { initTestEnv, loadTestConfig } from '../../src/testing/env.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { TestTransaction, withTestTransaction } from '../../src/testing/transaction.js';
import { withTransaction } from '../../src/db/transaction.js';

const pool = createTestPool();
afterAll(() => pool.end());

async function packExists(ref: string): Promise<boolean> {
  return (await pool.query('SELECT 1 FROM packs WHERE ref = $1', [ref])).rowCount === 1;
}

describe('withTestTransaction', () => {
  it('rolls back what the function wrote when it resolves', async () => {
    const ref = uniqueName('rolled');
    const seen = await withTestTransaction(pool, async (db) => {
      await new PackFixture(ref).create(db);
      return PackRepository.findByRef(db, ref);
    });
    expect(seen?.ref).toBe(ref);
    expect(await packExists(ref)).toBe(false);
  });

  it('rolls back and rethrows when the function throws', async () => {
    const ref = uniqueName('thrown');
    await expect(
      withTestTransaction(pool, async (db) => {
        await new PackFixture(ref).create(db);
        throw new Error('test failed midway');
      }),
    ).rejects.toThrow('test failed midway');
    expect(await packExists(ref)).toBe(false);
  });

  it('lets code under test nest transactions as savepoints inside it', async () => {
    const ref = uniqueName('nested');
    await withTestTransaction(pool, async (db) => {
      await withTransaction(db, (tx) => new PackFixture(ref).create(tx));
      expect(await PackRepository.findByRef(db, ref)).not.toBeNull();
    });
    expect(await packExists(ref)).toBe(false);
  });

  it('returns its client to the pool every time', async () => {
    const before = pool.totalCount;
    for (let i = 0; i < 10; i++) await withTestTransaction(pool, (db) => db.query('SELECT 1')).catch(() => undefined);
    expect(pool.totalCount).toBeLessThanOrEqual(Math.max(before, 1) + 1);
    expect(pool.waitingCount).toBe(0);
  });
});

describe('TestTransaction', () => {
  it('rolls back on rollback() and tolerates a second call', async () => {
    const ref = uniqueName('manual');
    const tx = await TestTransaction.begin(pool);
    await new PackFixture(ref).create(tx.client);
    await tx.rollback();
    await tx.rollback();
    expect(await packExists(ref)).toBe(false);
  });

  it('survives a database error inside the transaction', async () => {
    const tx = await TestTransaction.begin(pool);
    await expect(tx.client.query('SELECT 1/0')).rejects.toThrow('division by zero');
    await tx.rollback();
    expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });
});

describe('cleanDatabase', () => {
  it('empties every table, children first, so foreign keys never get in the way', async () => {
    const pack = await new PackFixture().create(pool);
    await pool.query(`INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type) VALUES ($1, $2, 'a', $2 || '.a', 'noop')`, [pack.id, pack.ref]);
    await pool.query(`INSERT INTO identities (login) VALUES ($1)`, [uniqueName('user')]);
    await cleanDatabase(pool);
    const counts = await pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM packs) + (SELECT count(*) FROM actions) + (SELECT count(*) FROM identities) AS n`,
    );
    expect(counts.rows[0]!.n).toBe(0);
    const history = await pool.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
    expect(history.rows[0]!.n).toBeGreaterThan(0);
  });
});

describe('expectErrorContains and expectErrorType', () => {
  it('return the error when it matches', async () => {
    const error = await expectErrorType(Promise.reject(new NotFoundError('pack', 'id', 1)), NotFoundError);
    expect(error.field).toBe('id');
    expect((await expectErrorType(Promise.reject(new NotFoundError('pack', 'id', 1)), 'ATTUNE_NOT_FOUND')).entity).toBe('pack');
    expect((await expectErrorContains(() => Promise.reject(new Error('disk full')), 'disk')).message).toBe('disk full');
  });

  it('fail with a message saying what was expected and what came', async () => {
    await expect(expectErrorType(Promise.reject(new ValidationError('bad')), NotFoundError)).rejects.toThrow(
      'Expected NotFoundError, got ValidationError (ATTUNE_VALIDATION): bad',
    );
    await expect(expectErrorType(Promise.reject(new Error('plain')), 'ATTUNE_NOT_FOUND')).rejects.toThrow('Expected ATTUNE_NOT_FOUND, got Error');
    await expect(expectErrorContains(Promise.reject(new Error('other')), 'wanted')).rejects.toThrow('Expected an error containing "wanted"');
    await expect(expectErrorContains(Promise.resolve(1), 'x')).rejects.toBeInstanceOf(AssertionError);
    await expect(expectErrorType(Promise.resolve(1), NotFoundError)).rejects.toThrow('Expected the promise to reject');
  });
});

describe('test environment', () => {
  it('loads .env.test beneath real environment variables and is idempotent', () => {
    initTestEnv();
    initTestEnv();
    const config = loadTestConfig();
    // .env.test sets these; the harness sets the URL per worker, which wins.
    expect(config.database.maxConnections).toBe(Number(process.env.ATTUNE__DATABASE__MAX_CONNECTIONS));
    expect(config.security.enableAuth).toBe(false);
    expect(config.database.url).toBe(process.env.ATTUNE__DATABASE__URL);
    expect(config.database.url).toMatch(/_r[0-9a-z]+_\d+_\d+$/);
  });

  it('gives each worker its own database', async () => {
    const name = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    expect(name).toBe(new URL(process.env.ATTUNE__DATABASE__URL!).pathname.slice(1));
    expect(name).toMatch(new RegExp(`_${process.env.VITEST_POOL_ID ?? 1}$`));
  });

  it('makes fixture names unique across calls', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('x')));
    expect(names.size).toBe(100);
  });
});
