import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTransaction } from '../../src/db/transaction.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';

// Real commits: these tests need their own rows to outlive a transaction.
const pool = createTestPool();
afterAll(() => pool.end());
beforeEach(() => cleanDatabase(pool));

async function packCount(): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM packs')).rows[0]!.n;
}

describe('withTransaction', () => {
  it('commits when the function resolves', async () => {
    const pack = await withTransaction(pool, (tx) => new PackFixture().create(tx));
    expect(await PackRepository.findById(pool, pack.id)).not.toBeNull();
  });

  it('rolls back every statement when the function throws, and rethrows', async () => {
    await expect(
      withTransaction(pool, async (tx) => {
        await new PackFixture().create(tx);
        await new PackFixture().create(tx);
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await packCount()).toBe(0);
  });

  it('composes several repository calls in one transaction', async () => {
    await withTransaction(pool, async (tx) => {
      const v1 = await new PackFixture('tx_pack').create(tx);
      await new PackFixture('tx_pack').withVersion('2.0.0').inactive().create(tx);
      await PackRepository.activateVersion(tx, 'tx_pack', '2.0.0');
      expect((await PackRepository.getById(tx, v1.id)).isActive).toBe(false);
    });
    expect((await PackRepository.getByRef(pool, 'tx_pack')).version).toBe('2.0.0');
  });

  it('nests as a savepoint: an inner failure rolls back only the inner work', async () => {
    await withTransaction(pool, async (tx) => {
      await new PackFixture('outer').create(tx);
      await expect(
        withTransaction(tx, async (inner) => {
          await new PackFixture('inner').create(inner);
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      // The outer transaction is still usable after the savepoint rollback.
      await new PackFixture('after').create(tx);
    });
    const refs = (await pool.query<{ ref: string }>('SELECT ref FROM packs ORDER BY ref')).rows.map((r) => r.ref);
    expect(refs).toEqual(['after', 'outer']);
  });

  it('recovers the transaction after a database error caught inside a savepoint', async () => {
    await withTransaction(pool, async (tx) => {
      await new PackFixture('same').create(tx);
      await expect(withTransaction(tx, (inner) => new PackFixture('same').create(inner))).rejects.toThrow('already exists');
      await new PackFixture('later').create(tx);
    });
    expect(await packCount()).toBe(2);
  });

  it('opens a transaction on a plain checked-out client', async () => {
    const client = await pool.connect();
    try {
      await expect(
        withTransaction(client, async (tx) => {
          await new PackFixture().create(tx);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await packCount()).toBe(0);
      const status = await client.query<{ state: string }>('SELECT 1 AS state');
      expect(status.rows).toHaveLength(1);
    } finally {
      client.release();
    }
  });

  it('releases its client even when the function throws', async () => {
    const small = new pg.Pool({ connectionString: process.env.ATTUNE__DATABASE__URL, max: 1, options: '-c search_path=attune,public' });
    try {
      for (let i = 0; i < 3; i++) await expect(withTransaction(small, () => Promise.reject(new Error('x')))).rejects.toThrow('x');
      expect(small.idleCount + small.waitingCount).toBe(1);
      await withTransaction(small, (tx) => tx.query('SELECT 1'));
    } finally {
      await small.end();
    }
  });
});
