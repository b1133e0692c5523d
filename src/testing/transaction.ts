import pg from 'pg';
import { markInTransaction } from '../db/transaction.js';

/**
 * A transaction that never commits: open it before a test, hand `client` to
 * the code under test, roll it back after. Code under test that calls
 * `withTransaction` on the client nests in a savepoint.
 */
export class TestTransaction {
  private finished = false;

  private constructor(readonly client: pg.PoolClient) {}

  /** Checks out a client from `pool` and opens the transaction. */
  static async begin(pool: pg.Pool): Promise<TestTransaction> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(true);
      throw error;
    }
    markInTransaction(client, true);
    return new TestTransaction(client);
  }

  /** Rolls back everything and returns the client to the pool. Idempotent. */
  async rollback(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    markInTransaction(this.client, false);
    let broken = false;
    try {
      await this.client.query('ROLLBACK');
    } catch {
      broken = true;
    } finally {
      this.client.release(broken);
    }
  }
}

/**
 * Runs `fn` with a client inside a transaction that is always rolled back,
 * whether `fn` resolves or throws. Returns what `fn` returns.
 */
export async function withTestTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const transaction = await TestTransaction.begin(pool);
  try {
    return await fn(transaction.client);
  } finally {
    await transaction.rollback();
  }
}
