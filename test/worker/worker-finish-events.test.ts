/**
 * A worker with a listener keeps which finish triggers can fire in a cache
 * (so a completion batch needs no lookup, and no transaction when none can
 * fire): the cache follows attune_rules_changed, so registering the core
 * pack, or disabling or enabling a finish trigger, takes effect for the
 * next completion.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationListener } from '../../src/db/listener.js';
import { requestExecution } from '../../src/engine/request-execution.js';
import { registerPack } from '../../src/packs/register.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import type { WorkerRole } from '../../src/worker/worker.js';
import { startListener } from '../sensors/support.js';
import { CORE_PACK } from './helpers.js';
import { actionOn, tempDataDir, testWorker, waitFor, waitForStatus } from './worker-support.js';

const pool = createTestPool();
let dataDir: Awaited<ReturnType<typeof tempDataDir>>;
let listener: NotificationListener;
let worker: WorkerRole | undefined;

beforeEach(async () => {
  await cleanDatabase(pool);
  dataDir = await tempDataDir();
  listener = await startListener();
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await listener.close();
  await dataDir.remove();
});
afterAll(() => pool.end());

async function finishEventsOf(id: number): Promise<string[]> {
  const { rows } = await pool.query<{ trigger_ref: string }>(
    `SELECT trigger_ref FROM events WHERE (payload->>'execution_id')::bigint = $1 ORDER BY trigger_ref`,
    [id],
  );
  return rows.map((row) => row.trigger_ref);
}

/** Waits until the listener has seen a change of triggers (the NOTIFY is sent at commit, delivered a moment later). */
async function triggersChangedSeen(change: () => Promise<unknown>): Promise<void> {
  let seen = false;
  const unlisten = await listener.listen('attune_rules_changed', () => {
    seen = true;
  });
  try {
    await change();
    await waitFor(async () => (seen ? true : undefined), 'attune_rules_changed');
  } finally {
    await unlisten();
  }
}

describe('finish events through a worker that follows trigger changes', () => {
  it('fires nothing before the core pack exists, and fires once it is registered', async () => {
    const action = await actionOn(pool, 'noop');
    worker = testWorker(pool, dataDir.path, { listener });
    await worker.start();
    const before = await ExecutionRepository.create(pool, { actionId: action.id });
    expect((await waitForStatus(pool, before.id)).status).toBe('succeeded');
    expect(await finishEventsOf(before.id)).toEqual([]);

    await triggersChangedSeen(() => registerPack(pool, CORE_PACK));
    const after = await ExecutionRepository.create(pool, { actionId: action.id });
    expect((await waitForStatus(pool, after.id)).status).toBe('succeeded');
    expect(await finishEventsOf(after.id)).toEqual(['core.execution_finished', 'core.st2.generic.actiontrigger']);
  });

  it('a disabled finish trigger stops firing at the next completion, and fires again once enabled', async () => {
    await registerPack(pool, CORE_PACK);
    worker = testWorker(pool, dataDir.path, { listener });
    await worker.start();
    const first = await requestExecution(pool, 'core.noop');
    await waitForStatus(pool, first.id);
    expect(await finishEventsOf(first.id)).toEqual(['core.execution_finished', 'core.st2.generic.actiontrigger']);

    await triggersChangedSeen(() => pool.query(`UPDATE triggers SET enabled = false WHERE ref = 'core.st2.generic.actiontrigger'`));
    const second = await requestExecution(pool, 'core.noop');
    await waitForStatus(pool, second.id);
    expect(await finishEventsOf(second.id)).toEqual(['core.execution_finished']);

    await triggersChangedSeen(() => pool.query(`UPDATE triggers SET enabled = false WHERE ref = 'core.execution_finished'`));
    const third = await requestExecution(pool, 'core.noop');
    expect((await waitForStatus(pool, third.id)).status).toBe('succeeded');
    expect(await finishEventsOf(third.id)).toEqual([]);

    await triggersChangedSeen(() => pool.query(`UPDATE triggers SET enabled = true WHERE ref LIKE 'core.%'`));
    const fourth = await requestExecution(pool, 'core.noop');
    await waitForStatus(pool, fourth.id);
    expect(await finishEventsOf(fourth.id)).toEqual(['core.execution_finished', 'core.st2.generic.actiontrigger']);
  });
});
