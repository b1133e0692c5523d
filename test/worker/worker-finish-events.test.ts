/**
 * A worker with a listener keeps which finish triggers can fire in a cache
 * and writes a completion batch and its finish events in one statement: the
 * events carry the payloads fireExecutionsFinished gives, and the cache
 * follows attune_rules_changed, so registering the core pack, or disabling
 * or enabling a finish trigger, takes effect for the next completion.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationListener } from '../../src/db/listener.js';
import { requestExecution } from '../../src/engine/request-execution.js';
import { registerPack } from '../../src/packs/register.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { fireExecutionsFinished } from '../../src/engine/internal-triggers.js';
import { EnforcementFixture } from '../../src/testing/fixtures/enforcements.js';
import { cleanDatabase, createTestPool, withTestTransaction } from '../../src/testing/index.js';
import { testCipher } from '../engine/rule-setup.js';
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

interface EventRow {
  id: number;
  execution_id: number;
  trigger_ref: string;
  payload: Record<string, unknown>;
  source: string;
  trace_id: string;
}

async function eventRows(executionIds: number[], db: Pick<typeof pool, 'query'> = pool): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT id::int AS id, (payload->>'execution_id')::int AS execution_id, trigger_ref, payload, source, trace_id
       FROM events WHERE (payload->>'execution_id')::bigint = ANY($1::bigint[]) ORDER BY id`,
    [executionIds],
  );
  return rows;
}

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

describe('finish events written with the completion', () => {
  it('carry the payloads fireExecutionsFinished gives (parameters masked, rule, trace), one pair per final run', async () => {
    await registerPack(pool, CORE_PACK);
    const cipher = testCipher();
    const schema = { type: 'object', properties: { token: { type: 'string', secret: true }, n: { type: 'integer' }, cmd: { type: 'string' } } };
    const noop = await actionOn(pool, 'noop', schema);
    const shell = await actionOn(pool, 'shell', schema);
    const enforcement = await new EnforcementFixture().create(pool);
    const secret = 'a-secret-token-value';
    const ok = await requestExecution(pool, noop.ref, { token: secret, n: 3 }, { cipher, enforcementId: enforcement.id, traceId: 'trace-ok' });
    const bad = await requestExecution(pool, shell.ref, { cmd: 'echo out; exit 2', n: 1 }, { cipher });
    worker = testWorker(pool, dataDir.path, { listener, cipher });
    await worker.start();
    const done = [await waitForStatus(pool, ok.id), await waitForStatus(pool, bad.id)];
    expect(done.map((execution) => execution.status)).toEqual(['succeeded', 'failed']);

    const written = await eventRows(done.map((execution) => execution.id));
    expect(written.map((row) => [row.execution_id, row.trigger_ref])).toEqual([
      [ok.id, 'core.execution_finished'],
      [ok.id, 'core.st2.generic.actiontrigger'],
      [bad.id, 'core.execution_finished'],
      [bad.id, 'core.st2.generic.actiontrigger'],
    ]);
    expect(written[0]!.payload).toMatchObject({ parameters: { token: '********', n: 3 }, rule_ref: enforcement.ruleRef, enforcement_id: enforcement.id });
    expect(written[0]!.trace_id).toBe('trace-ok');
    expect(written[2]!.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(written).includes(secret)).toBe(false);

    // The same executions through fireExecutionsFinished (payload schemas checked), rolled back.
    const expected = await withTestTransaction(pool, async (db) => {
      const before = Number((await db.query<{ max: string }>('SELECT COALESCE(max(id), 0) AS max FROM events')).rows[0]!.max);
      await fireExecutionsFinished(db, done);
      return (await eventRows(done.map((execution) => execution.id), db)).filter((row) => row.id > before);
    });
    expect(written.map(({ payload, trigger_ref, source }) => ({ payload, trigger_ref, source }))).toEqual(
      expected.map(({ payload, trigger_ref, source }) => ({ payload, trigger_ref, source })),
    );
  });
});

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
