import type pg from 'pg';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { TestTransaction } from '../../src/testing/transaction.js';

/**
 * Registers hooks so every test in the file runs inside its own transaction
 * that starts from empty tables and is rolled back afterwards. Read `ctx.db`
 * inside a test.
 */
export function useTransactionPerTest(): { readonly db: pg.PoolClient; readonly pool: pg.Pool } {
  const pool = createTestPool();
  let transaction: TestTransaction | undefined;
  beforeEach(async () => {
    transaction = await TestTransaction.begin(pool);
    // Rows other files in this worker committed are out of sight for this test
    // (and back after the rollback), so no test can depend on another's rows.
    await cleanDatabase(transaction.client);
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
