/** The worker-crash fault scenario at a small size (the long form: worker-crash.long.ts, npm run test:faults). */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runWorkerCrash } from './scenarios/worker-crash.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('a worker SIGKILLed mid-run and restarted: every execution ends once, none lost, none finished twice', { timeout: 180_000 }, async () => {
  const result = await runWorkerCrash(pool, { executions: 300, minKills: 2, timeoutMs: 150_000 });
  expect(result.kills).toBeGreaterThanOrEqual(2);
  expect(result.audit).toMatchObject({ notFinal: 0, missingFinish: 0, duplicatedFinish: 0, badHistory: 0 });
  expect(result.audit.total).toBe(result.audit.final);
  // Only an execution hit in all three of its attempts may be abandoned; every other one succeeded.
  expect((result.audit.byStatus.succeeded ?? 0) + result.audit.abandoned).toBe(result.audit.total);
  // The kills landed while the victim held runs: some attempts were lost and retried.
  expect(result.lostAttempts + result.audit.abandoned).toBeGreaterThan(0);
});
