import pg from 'pg';

/**
 * A transaction that never commits: open it before a test, hand `client` to
 * the code under test, roll it back after. Code under test that calls
 * `withTransaction` on the client nests in a savepoint (the client reports
 * that it is inside a transaction).
 */
export class TestTransaction {
  private finished = false;
  /** Set when the connection failed: the client is then discarded, never returned to the pool. */
  private lost = false;
  /** A checked-out client has no 'error' listener, and an 'error' event without one ends the process. */
  private readonly onError = () => {
    this.lost = true;
  };

  private constructor(readonly client: pg.PoolClient) {
    client.on('error', this.onError);
  }

  /** Checks out a client from `pool` and opens the transaction. */
  static async begin(pool: pg.Pool): Promise<TestTransaction> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(true);
      throw error;
    }
    return new TestTransaction(client);
  }

  /** Rolls back everything and returns the client to the pool. Idempotent. */
  async rollback(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let broken = this.lost;
    try {
      await this.client.query('ROLLBACK');
    } catch {
      broken = true;
    } finally {
      // A dead client keeps the listener: it can emit again as its socket closes.
      if (!broken) this.client.removeListener('error', this.onError);
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
