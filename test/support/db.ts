import type pg from 'pg';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { TestTransaction } from '../../src/testing/transaction.js';

/**
 * Registers hooks so every test in the file starts from empty tables, inside
 * its own transaction that is rolled back afterwards. Read `ctx.db` inside a
 * test.
 */
export function useTransactionPerTest(): { readonly db: pg.PoolClient; readonly pool: pg.Pool } {
  const pool = createTestPool();
  let transaction: TestTransaction | undefined;
  beforeEach(async () => {
    // Rows other files in this worker committed are removed first, so no test
    // can depend on another's rows. Outside the transaction on purpose: a
    // DELETE inside it would hold row locks that a test committing on another
    // connection (and cleaning up itself) would wait on for ever.
    await cleanDatabase(pool);
    transaction = await TestTransaction.begin(pool);
  });
  afterEach(async () => {
    await transaction?.rollback();
    transaction = undefined;
  });
  afterAll(async () => {
    await pool.end();
  });
  return {
    get db() {
      if (!transaction) throw new Error('ctx.db is only available inside a test');
      return transaction.client;
    },
    pool,
  };
}
