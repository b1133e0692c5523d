/** The worker-crash fault scenario at the size: npm run test:faults. */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runWorkerCrash } from './scenarios/worker-crash.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('10,000 executions over three workers, one SIGKILLed at random moments: every execution ends once', { timeout: 1_800_000 }, async () => {
  const result = await runWorkerCrash(pool, { executions: Number(process.env.ATTUNE_FAULT_EXECUTIONS ?? 10_000), minKills: 5, timeoutMs: 1_700_000 });
  expect(result.audit).toMatchObject({ notFinal: 0, missingFinish: 0, duplicatedFinish: 0, badHistory: 0 });
  expect((result.audit.byStatus.succeeded ?? 0) + result.audit.abandoned).toBe(result.audit.total);
});
