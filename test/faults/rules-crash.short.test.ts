/** The rules-crash fault scenario at a small size (the long form: rules-crash.long.ts, npm run test:faults). */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runRulesCrash } from './scenarios/rules-crash.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('attune rules SIGKILLed mid-batch and restarted: one enforcement per event and matching rule, one execution each', { timeout: 180_000 }, async () => {
  const figures = await runRulesCrash(pool, { events: 2000, minKills: 2, timeoutMs: 150_000 });
  // At least one kill landed with events still to process (on a busy machine the burst may drain before the second).
  expect(figures.killedWithWorkLeft).toBeGreaterThanOrEqual(1);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, executionsWrong: 0, queued: 0, enforcements: figures.expectedEnforcements });
});
