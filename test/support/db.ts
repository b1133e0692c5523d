import type pg from 'pg';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { createTestPool } from '../../src/testing/database.js';
import { TestTransaction } from '../../src/testing/transaction.js';

/**
 * Registers hooks so every test in the file runs inside its own transaction
 * that is rolled back afterwards. Read `ctx.db` inside a test.
 */
export function useTransactionPerTest(): { readonly db: pg.PoolClient; readonly pool: pg.Pool } {
  const pool = createTestPool();
  let transaction: TestTransaction | undefined;
  beforeEach(async () => {
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
