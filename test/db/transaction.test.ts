import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, DatabaseError, DatabaseUnavailableError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { withTestTransaction } from '../../src/testing/transaction.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';

// Real commits: these tests need their own rows to outlive a transaction, and
// read them back on other connections (the pool) to see what was committed.
const url = process.env.ATTUNE__DATABASE__URL!;
const pool = createTestPool();
afterAll(() => pool.end());
beforeEach(() => cleanDatabase(pool));

/** Pack refs committed so far, read on a connection of their own. */
async function committedRefs(): Promise<string[]> {
  return (await pool.query<{ ref: string }>('SELECT ref FROM packs ORDER BY ref')).rows.map((row) => row.ref);
}

async function backendPid(db: pg.ClientBase | pg.Pool): Promise<number> {
  return (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

/** A one-connection pool, so the next checkout shows whether the last client came back. */
function singleConnectionPool(options: Partial<pg.PoolConfig> = {}): pg.Pool {
  return new pg.Pool({ connectionString: url, max: 1, options: '-c search_path=attune,public', ...options });
}

describe('withTransaction on a pool', () => {
  it('commits when the function resolves: invisible to other connections before, visible after', async () => {
    const seenInside = await withTransaction(pool, async (tx) => {
      await new PackFixture('committed').create(tx);
      return committedRefs();
    });
    expect(seenInside).toEqual([]);
    expect(await committedRefs()).toEqual(['committed']);
  });

  it('rolls back every statement when the function throws, and rethrows its error unchanged', async () => {
    const thrown = new Error('stop');
    await expect(
      withTransaction(pool, async (tx) => {
        await new PackFixture('first').create(tx);
        await new PackFixture('second').create(tx);
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(await committedRefs()).toEqual([]);
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

  it('refuses to report success when COMMIT rolled back a transaction an earlier error aborted', async () => {
    const error = await expectErrorType(
      withTransaction(pool, async (tx) => {
        await new PackFixture('lost').create(tx);
        await tx.query('SELECT 1 / 0').catch(() => undefined); // caught without a savepoint: the transaction is aborted
        return 'done';
      }),
      DatabaseError,
    );
    expect(error.sqlState).toBe('25P02');
    expect(await committedRefs()).toEqual([]);
  });

  it('maps a failing COMMIT (a deferred unique key) to an Attune error', async () => {
    const error = await expectErrorType(
      withTransaction(pool, async (tx) => {
        await tx.query('CREATE TEMP TABLE deferred_keys (k int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP');
        await tx.query('INSERT INTO deferred_keys VALUES (1), (1)');
        await new PackFixture('never').create(tx);
      }),
      AlreadyExistsError,
    );
    expect(error.field).toBe('k');
    expect(await committedRefs()).toEqual([]);
  });

  it('maps an unreachable server to ATTUNE_DATABASE_UNAVAILABLE', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/attune', max: 1 });
    try {
      await expectErrorType(
        withTransaction(unreachable, async () => 'never runs'),
        DatabaseUnavailableError,
      );
    } finally {
      await unreachable.end();
    }
  });

  it('maps a checkout that times out on an exhausted pool to ATTUNE_DATABASE_UNAVAILABLE', async () => {
    const small = singleConnectionPool({ connectionTimeoutMillis: 50 });
    const holder = await small.connect();
    try {
      await expectErrorType(
        withTransaction(small, async () => 'never runs'),
        DatabaseUnavailableError,
      );
    } finally {
      holder.release();
      await small.end();
    }
  });

  it('turns a connection that dies between two statements into ATTUNE_DATABASE_UNAVAILABLE, with no uncaught error, and discards the client', async () => {
    const uncaught: unknown[] = [];
    let noteUncaught = () => {};
    const uncaughtSeen = new Promise<void>((resolve) => (noteUncaught = resolve));
    const onUncaught = (error: unknown) => {
      uncaught.push(error);
      noteUncaught();
    };
    process.on('uncaughtException', onUncaught);
    const small = createPool({ url, maxConnections: 1 });
    try {
      let victim = 0;
      const outcome = withTransaction(small, async (tx) => {
        await new PackFixture('doomed').create(tx);
        victim = await backendPid(tx);
        const closed = new Promise((resolve) => tx.once('end', resolve));
        await pool.query('SELECT pg_terminate_backend($1)', [victim]);
        // The server's FATAL and the closed socket arrive while no statement runs.
        await Promise.race([closed, uncaughtSeen]);
        await tx.query('SELECT 1');
      });
      await outcome.catch(() => undefined);
      expect(uncaught.map((error) => (error as Error).message)).toEqual([]);
      await expectErrorType(outcome, DatabaseUnavailableError);
      expect(await committedRefs()).toEqual([]);
      // The pool lends a fresh connection, not the dead one.
      expect(await withTransaction(small, (tx) => backendPid(tx))).not.toBe(victim);
    } finally {
      process.off('uncaughtException', onUncaught);
      await small.end();
    }
  });

  it('discards a client whose ROLLBACK failed rather than lending it out inside the old transaction', async () => {
    let failNextRollback = true;
    class RollbackFailsOnce extends pg.Client {
      override query(...args: unknown[]): never {
        if (args[0] === 'ROLLBACK' && failNextRollback) {
          failNextRollback = false;
          return Promise.reject(new Error('ROLLBACK lost on the way')) as never;
        }
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    const small = singleConnectionPool({ Client: RollbackFailsOnce });
    try {
      let first = 0;
      await expect(
        withTransaction(small, async (tx) => {
          first = await backendPid(tx);
          await new PackFixture('abandoned').create(tx);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const second = await withTransaction(small, async (tx) => {
        await new PackFixture('fresh').create(tx);
        return backendPid(tx);
      });
      expect(second).not.toBe(first);
      expect(await committedRefs()).toEqual(['fresh']);
    } finally {
      await small.end();
    }
  });

  it('returns its client to the pool after a failure, ready for the next transaction', async () => {
    const small = singleConnectionPool();
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 3; i++) {
        await expect(
          withTransaction(small, async (tx) => {
            pids.add(await backendPid(tx));
            throw new Error('x');
          }),
        ).rejects.toThrow('x');
      }
      expect(pids.size).toBe(1);
      await withTransaction(small, (tx) => new PackFixture('afterwards').create(tx));
      expect(await committedRefs()).toEqual(['afterwards']);
    } finally {
      await small.end();
    }
  });
});

describe('withTransaction nesting', () => {
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
    expect(await committedRefs()).toEqual(['after', 'outer']);
  });

  it('recovers the transaction after a database error caught inside a savepoint', async () => {
    await withTransaction(pool, async (tx) => {
      await new PackFixture('same').create(tx);
      await expectErrorType(
        withTransaction(tx, (inner) => new PackFixture('same').create(inner)),
        AlreadyExistsError,
      );
      await new PackFixture('later').create(tx);
    });
    expect(await committedRefs()).toEqual(['later', 'same']);
  });

  it("nests inside the caller's own BEGIN: the caller's ROLLBACK undoes the inner work", async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await new PackFixture('callers').create(client);
      await withTransaction(client, (tx) => new PackFixture('inner').create(tx));
      expect(client.getTransactionStatus()).toBe('T');
      await client.query('ROLLBACK');
      expect(await committedRefs()).toEqual([]);
    } finally {
      client.release();
    }
  });

  it("rolls back only its own work when it fails inside the caller's BEGIN, leaving the caller's transaction open", async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await new PackFixture('callers').create(client);
      await expect(
        withTransaction(client, async (tx) => {
          await new PackFixture('inner').create(tx);
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      expect(await committedRefs()).toEqual([]);
      await new PackFixture('callers_later').create(client);
      await client.query('COMMIT');
      expect(await committedRefs()).toEqual(['callers', 'callers_later']);
    } finally {
      client.release();
    }
  });

  it('nests inside the test kit transaction, so nothing it does is committed', async () => {
    await withTestTransaction(pool, async (db) => {
      await withTransaction(db, (tx) => new PackFixture('kit').create(tx));
      expect(await committedRefs()).toEqual([]);
    });
    expect(await committedRefs()).toEqual([]);
  });

  it('opens and ends a transaction of its own on a client outside any', async () => {
    const client = await pool.connect();
    try {
      expect(client.getTransactionStatus()).toBe('I');
      await expect(
        withTransaction(client, async (tx) => {
          await new PackFixture('undone').create(tx);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await committedRefs()).toEqual([]);
      // Back in autocommit: the next statement is visible to other connections at once.
      await new PackFixture('autocommitted').create(client);
      expect(await committedRefs()).toEqual(['autocommitted']);
    } finally {
      client.release();
    }
  });

  it('maps a BEGIN on a client whose connection died to ATTUNE_DATABASE_UNAVAILABLE', async () => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    const closed = new Promise((resolve) => client.once('end', resolve));
    await pool.query('SELECT pg_terminate_backend($1)', [await backendPid(client)]);
    await closed;
    await expectErrorType(
      withTransaction(client, async () => 'never runs'),
      DatabaseUnavailableError,
    );
  });
});
