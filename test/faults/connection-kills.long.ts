/** The connection-kills fault scenario at a larger size: npm run test:faults. */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runConnectionKills } from './scenarios/connection-kills.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('every Attune connection terminated repeatedly under load: reconnects, everything ends', { timeout: 1_800_000 }, async () => {
  const { figures, webhooks } = await runConnectionKills(pool, { webhooks: 2000, directExecutions: 1000, rounds: 30, timeoutMs: 1_700_000 });
  expect(Object.keys(figures.replies).filter((status) => status !== '202' && status !== '503')).toEqual([]);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, missingFinishEvents: 0, rolesStillRunning: true });
  expect(webhooks.executions).toBe(webhooks.accepted);
  expect(figures.abandoned).toBe(0);
});
