/** The database-restart fault scenario at a larger size (more restarts, longer load and outages): npm run test:faults. */
import { expect, it } from 'vitest';
import { runDatabaseRestart } from './scenarios/database-restart.js';

it('the database restarted again and again under load: every role resumes by itself, everything accepted is processed once', { timeout: 1_800_000 }, async () => {
  const { figures, webhooks } = await runDatabaseRestart({ restarts: 10, outageMs: 2000, loadMs: 5000, concurrency: 8, timeoutMs: 1_700_000 });
  for (const restart of figures.perRestart) expect(Object.keys(restart.repliesDuringOutage)).toEqual(['503']);
  expect(Object.keys(figures.replies).filter((status) => status !== '202' && status !== '503')).toEqual([]);
  expect(figures).toMatchObject({ restarts: 10, lost: 0, duplicated: 0, missingFinishEvents: 0, rolesStillRunning: true });
  expect(webhooks.executions).toBe(webhooks.accepted);
  expect(webhooks.notFinal).toBe(0);
});
