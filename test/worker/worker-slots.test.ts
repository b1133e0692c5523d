/**
 * A worker's slot is free again as soon as its run's process is over, while
 * the completion is still being written: with one slot, the next execution
 * is claimed and started while the previous one's result waits on a lock.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { createTestPool } from '../../src/testing/index.js';
import { actionGate, actionOn, useWorkerScene, waitForStatus } from './worker-support.js';

const pool = createTestPool();
const scene = useWorkerScene(pool);
afterAll(() => pool.end());

describe('slots', () => {
  it('the next execution starts while the previous one’s completion is still being written', async () => {
    const shell = await actionOn(pool, 'shell');
    const noop = await actionOn(pool, 'noop');
    // The first run ends when the test opens its gate, after it holds the row (a sleep could end first on a loaded machine).
    const gate = actionGate('slots');
    const first = await ExecutionRepository.create(pool, { actionId: shell.id, params: { cmd: gate.wait } });
    const worker = await scene.start({ slots: 1, leaseSeconds: 20 });
    await waitForStatus(pool, first.id, ['running']);
    const second = await ExecutionRepository.create(pool, { actionId: noop.id });
    // Hold the first row: its completion (and lease renewal) waits on the lock once its process ends.
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM executions WHERE id = $1 FOR UPDATE', [first.id]);
      await gate.open();
      const started = await waitForStatus(pool, second.id, ['running', 'succeeded'], 15_000);
      expect(started.workerId).toBe(worker.workerId);
      expect((await ExecutionRepository.getById(pool, first.id)).status).toBe('running');
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
      await gate.remove();
    }
    expect(await waitForStatus(pool, first.id)).toMatchObject({ status: 'succeeded' });
    expect(await waitForStatus(pool, second.id)).toMatchObject({ status: 'succeeded' });
  });
});
