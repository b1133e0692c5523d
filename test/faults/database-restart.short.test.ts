/** The database-restart fault scenario at a small size (the long form: database-restart.long.ts, npm run test:faults). */
import { expect, it } from 'vitest';
import { runDatabaseRestart } from './scenarios/database-restart.js';

it('the database restarted twice under load: every role resumes by itself, 503 while it is down, everything accepted is processed once', { timeout: 180_000 }, async () => {
  // A 30 s lease: this form requires that no run is abandoned, and a 3 s lease leaves about a second of slack past an
  // outage of 0.8 s, the server's stop and start, and the reconnection on a machine loaded by the rest of the suite (the
  // long form keeps 3 s and reports them). Nothing here waits for a lease to run out.
  const { figures, webhooks, direct } = await runDatabaseRestart({ restarts: 2, outageMs: 800, loadMs: 1000, concurrency: 2, timeoutMs: 120_000, leaseSeconds: 30 });
  expect(figures.restarts).toBe(2);
  for (const restart of figures.perRestart) {
    // While the server was down every webhook got a clear 503 (none hung, none failed otherwise).
    expect(Object.keys(restart.repliesDuringOutage)).toEqual(['503']);
    // API, rules, worker and maintenance each did their part again after the restart, untouched.
    expect(restart.recoveryMs).toBeGreaterThan(0);
    expect(restart.maintenanceResumedMs).toBeGreaterThan(0);
  }
  expect(Object.keys(figures.replies).filter((status) => status !== '202' && status !== '503')).toEqual([]);
  expect(webhooks.accepted).toBeGreaterThan(0);
  expect(direct.total).toBeGreaterThan(0);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, missingFinishEvents: 0, rolesStillRunning: true });
  expect(webhooks.executions).toBe(webhooks.accepted);
  expect(webhooks.notFinal).toBe(0);
  // A run caught by a restart wrote its output and result again once the server was back: none was abandoned.
  expect(figures.abandoned).toBe(0);
  expect(webhooks.succeeded).toBe(webhooks.accepted);
  for (const name of ['rules', 'worker']) expect(figures.listenerReconnects[name]).toBeGreaterThan(0);
});
