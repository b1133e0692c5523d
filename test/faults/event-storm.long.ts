/** The event-storm fault scenario at the size (ATTUNE_FAULT_STORM_EVENTS to change it): npm run test:faults. */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runEventStorm } from './scenarios/event-storm.js';

const pool = createTestPool();
afterAll(() => pool.end());
const EVENTS = Number(process.env.ATTUNE_FAULT_STORM_EVENTS ?? 100_000);

it(`${EVENTS} webhooks as fast as the machine allows: every event processed, /healthz answered, memory bounded`, { timeout: 7_200_000 }, async () => {
  const figures = await runEventStorm(pool, { events: EVENTS, concurrency: 32, timeoutMs: 7_000_000 });
  expect(figures.replies).toEqual({ '202': EVENTS });
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, notFinal: 0, succeeded: EVENTS });
  expect(figures.healthz.failures).toBe(0);
  for (const mb of Object.values(figures.peakRssMb)) expect(mb).toBeLessThan(1024);
});
