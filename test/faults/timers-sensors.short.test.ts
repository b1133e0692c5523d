/** The timers-and-sensors fault scenario at a small size (the long form: timers-sensors.long.ts, npm run test:faults). */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runTimersSensors } from './scenarios/timers-sensors.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('timers and sensors processes SIGKILLed: no tick lost or fired twice, the sensor taken over by the other process, one holder at a time', { timeout: 180_000 }, async () => {
  const { figures, ticks } = await runTimersSensors(pool, { timerKills: 2, sensorTakeovers: 2, timeoutMs: 120_000 });
  expect(figures.timerKills).toBe(2);
  expect(ticks).toHaveLength(3);
  for (const schedule of ticks) expect(schedule).toMatchObject({ twice: 0, missing: 0, offGrid: 0 });
  for (const schedule of ticks) expect(schedule.fired).toBeGreaterThan(1);
  // Each kill of the sensor's holder was followed by a new sensor process, in the other role process.
  expect(figures.sensorKills).toBe(2);
  expect(figures.sensorHolders).toBe(3);
  // The events, in the order written, come from one sensor process at a time.
  expect(figures.holderRuns).toBe(figures.sensorHolders);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
});
