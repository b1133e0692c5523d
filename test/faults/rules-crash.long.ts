/** The rules-crash fault scenario at the size: npm run test:faults. */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runRulesCrash } from './scenarios/rules-crash.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('20,000 events, attune rules SIGKILLed mid-batch again and again: one enforcement per event and matching rule', { timeout: 1_800_000 }, async () => {
  const figures = await runRulesCrash(pool, { events: Number(process.env.ATTUNE_FAULT_EVENTS ?? 20_000), minKills: 5, timeoutMs: 1_700_000 });
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, executionsWrong: 0, queued: 0, enforcements: figures.expectedEnforcements });
});
