/** The event-storm fault scenario at a small size (the long form: event-storm.long.ts, npm run test:faults). */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runEventStorm } from './scenarios/event-storm.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('a storm of webhooks: every event processed once, the API answers /healthz throughout, memory bounded', { timeout: 180_000 }, async () => {
  const figures = await runEventStorm(pool, { events: 500, concurrency: 16, timeoutMs: 150_000 });
  expect(figures.replies).toEqual({ '202': 500 });
  expect(figures).toMatchObject({ lost: 0, duplicated: 0, notFinal: 0, succeeded: 500 });
  expect(figures.healthz.failures).toBe(0);
  expect(figures.healthz.probes).toBeGreaterThan(0);
  // Bounded: far below what holding the storm in memory would take (the peaks are reported).
  for (const mb of Object.values(figures.peakRssMb)) expect(mb).toBeLessThan(1024);
});
