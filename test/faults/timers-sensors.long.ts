/** The timers-and-sensors fault scenario with more kills: npm run test:faults. */
import { afterAll, expect, it } from 'vitest';
import { createTestPool } from '../../src/testing/index.js';
import { runTimersSensors } from './scenarios/timers-sensors.js';

const pool = createTestPool();
afterAll(() => pool.end());

it('timers and sensors processes SIGKILLed again and again: no tick lost or fired twice, one sensor holder at a time', { timeout: 1_800_000 }, async () => {
  const { figures, ticks } = await runTimersSensors(pool, { timerKills: 15, sensorTakeovers: 10, timeoutMs: 1_700_000 });
  for (const schedule of ticks) expect(schedule).toMatchObject({ twice: 0, missing: 0, offGrid: 0 });
  expect(figures.sensorHolders).toBe(11);
  expect(figures.holderRuns).toBe(figures.sensorHolders);
  expect(figures).toMatchObject({ lost: 0, duplicated: 0 });
});
