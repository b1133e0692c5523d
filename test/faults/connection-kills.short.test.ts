/** The connection-kills fault scenario at a small size (the long form: connection-kills.long.ts, npm run test:faults). */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runConnectionKills } from './scenarios/connection-kills.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('every Attune connection terminated again and again under load: the roles reconnect and polling finishes everything', { timeout: 180_000 }, async () => {
  const { figures, webhooks, direct } = await runConnectionKills(pool, { webhooks: 100, directExecutions: 60, rounds: 5, timeoutMs: 80_000 });
  expect(figures.rounds).toBeGreaterThanOrEqual(5);
  expect(figures.connectionsTerminated).toBeGreaterThan(0);
  // A request cut by a kill is a clear 503 at worst; none hangs, none fails otherwise.
  expect(Object.keys(figures.replies).filter((status) => status !== '202' && status !== '503')).toEqual([]);
  expect(webhooks.accepted).toBeGreaterThan(0);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, missingFinishEvents: 0, rolesStillRunning: true });
  // Every accepted webhook got its one execution, and every execution succeeded: a run whose write lost its
  // connection wrote it again on a fresh one, none was given up to the lease sweep.
  expect(webhooks.executions).toBe(webhooks.accepted);
  expect(webhooks.succeeded).toBe(webhooks.accepted);
  expect(direct.total).toBe(60);
  expect(direct.byStatus).toEqual({ succeeded: 60 });
  expect(figures.abandoned).toBe(0);
  // The listeners came back by themselves after their connections were killed.
  for (const name of ['rules', 'worker']) expect(figures.listenerReconnects[name]).toBeGreaterThan(0);
});
