import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { IllegalStateChangeError, InvalidReferenceError, LeaseLostError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import {
  DEFAULT_LEASE_SECONDS,
  EXECUTION_STATUSES,
  EXECUTION_TRANSITIONS,
  ExecutionRepository,
  FINAL_EXECUTION_STATUSES,
  LEASED_EXECUTION_STATUSES,
  MAX_EXECUTION_ERROR_LENGTH,
  MAX_EXECUTION_JSON_BYTES,
  canTransition,
  fenceOf,
  type Execution,
  type ExecutionFence,
  type ExecutionStatus,
} from '../../src/repositories/executions.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import { WorkerRepository } from '../../src/repositories/workers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { EnforcementFixture } from '../../src/testing/fixtures/enforcements.js';
import { ExecutionFixture } from '../../src/testing/fixtures/executions.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { InquiryFixture } from '../../src/testing/fixtures/inquiries.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { RuleFixture } from '../../src/testing/fixtures/rules.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

const ALLOWED = Object.entries(EXECUTION_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => [from, to] as [ExecutionStatus, ExecutionStatus]));
const REFUSED = EXECUTION_STATUSES.flatMap((from) => EXECUTION_STATUSES.filter((to) => !canTransition(from, to)).map((to) => [from, to] as [ExecutionStatus, ExecutionStatus]));

/**
 * Seeds the volume the plan test needs inside the test's transaction, then
 * ANALYZEs: 3,000 executions of 300 actions, one a minute over the last two
 * days. A backlog of one in ten is requested; about twenty are scheduled or
 * running with one worker's leases given out in the same order, half of them
 * ended; the rest are finished (succeeded, failed or canceled, interleaved).
 */
async function seedExecutions(db: Executor): Promise<void> {
  const prefix = uniqueName('plan');
  const worker = await new WorkerFixture().create(db);
  await db.query(
    `INSERT INTO executions (action_ref, status, worker_id, lease_expires_at, started_at, finished_at, created_at)
     SELECT $1 || '_' || g % 300 || '.run', x.status,
            CASE WHEN x.status IN ('scheduled', 'running') THEN $2::bigint END,
            CASE WHEN x.status IN ('scheduled', 'running') THEN now() + make_interval(secs => 1200 - g) END,
            CASE WHEN x.status <> 'requested' THEN x.created_at END,
            CASE WHEN x.status IN ('succeeded', 'failed', 'canceled') THEN x.created_at + interval '1 second' END,
            x.created_at
       FROM generate_series(1, 3000) AS g
       CROSS JOIN LATERAL (
         SELECT CASE WHEN g % 10 = 0 THEN 'requested' WHEN g % 300 = 1 THEN 'scheduled' WHEN g % 300 = 2 THEN 'running'
                     ELSE (ARRAY['succeeded', 'succeeded', 'failed', 'canceled'])[1 + g % 4] END AS status,
                now() - make_interval(mins => g) AS created_at
       ) AS x`,
    [prefix, worker.id],
  );
  await analyze(db, 'executions');
}

/** Sets a lease that ended a minute ago, as a dead worker leaves it. */
async function expireLeaseOf(execution: Execution): Promise<void> {
  await ctx.db.query("UPDATE executions SET lease_expires_at = now() - interval '1 minute' WHERE id = $1", [execution.id]);
}

/** A fence for any row: its holder's, or a fresh worker's with the row's attempt when nobody holds it. */
async function someFence(execution: Execution): Promise<ExecutionFence> {
  return { workerId: execution.workerId ?? (await new WorkerFixture().create(ctx.db)).id, attempt: execution.attempt };
}

/** The SQLSTATE and constraint of a statement that fails, run in a savepoint so the test's transaction goes on. */
async function sqlError(sql: string, values: unknown[]): Promise<{ code?: string; constraint?: string }> {
  await ctx.db.query('SAVEPOINT raw_sql');
  try {
    await ctx.db.query(sql, values);
  } catch (error) {
    await ctx.db.query('ROLLBACK TO SAVEPOINT raw_sql');
    const { code, constraint } = error as { code?: string; constraint?: string };
    return { code, constraint };
  }
  await ctx.db.query('RELEASE SAVEPOINT raw_sql');
  throw new Error(`expected ${sql} to fail`);
}

/** The database's clock, in milliseconds. */
async function databaseClock(): Promise<number> {
  return (await ctx.db.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t.getTime();
}

describe('execution statuses', () => {
  it('EXECUTION_STATUSES equals the CHECK in the migration, in order', async () => {
    expect(await checkValues(ctx.db, 'executions_status_check')).toEqual([...EXECUTION_STATUSES]);
  });

  it('the transition table covers every status, final statuses lead nowhere, and the lease set matches the lease index', async () => {
    expect(Object.keys(EXECUTION_TRANSITIONS).sort()).toEqual([...EXECUTION_STATUSES].sort());
    for (const status of FINAL_EXECUTION_STATUSES) expect(EXECUTION_TRANSITIONS[status]).toEqual([]);
    for (const [from, tos] of Object.entries(EXECUTION_TRANSITIONS)) {
      if (!FINAL_EXECUTION_STATUSES.includes(from as ExecutionStatus)) expect(tos.length).toBeGreaterThan(0);
    }
    const index = await ctx.db.query<{ def: string }>("SELECT pg_get_indexdef('executions_lease_idx'::regclass) AS def");
    expect([...index.rows[0]!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1])).toEqual([...LEASED_EXECUTION_STATUSES]);
  });
});

describe('ExecutionRepository.create', () => {
  it('resolves actionRef to the action in the active pack version and stores every field', async () => {
    const old = await new PackFixture('deploy').withVersion('1.0.0').inactive().create(ctx.db);
    const current = await new PackFixture('deploy').withVersion('2.0.0').create(ctx.db);
    await new ActionFixture('run').forPack(old).create(ctx.db);
    const action = await new ActionFixture('run').forPack(current).withTimeout(90).create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const enforcement = await new EnforcementFixture().create(ctx.db);

    const execution = await ExecutionRepository.create(ctx.db, {
      actionRef: 'deploy.run',
      params: { target: 'prod', hosts: ['a', 'b'], nested: { n: 1 } },
      requestedBy: identity.id,
      enforcementId: enforcement.id,
      maxAttempts: 3,
      traceId: 'trace-123',
    });
    expect(execution).toMatchObject({
      actionId: action.id,
      actionRef: 'deploy.run',
      params: { target: 'prod', hosts: ['a', 'b'], nested: { n: 1 } },
      parentId: null,
      enforcementId: enforcement.id,
      requestedBy: identity.id,
      workerId: null,
      status: 'requested',
      result: null,
      error: null,
      attempt: 1,
      maxAttempts: 3,
      timeoutSeconds: 90,
      leaseExpiresAt: null,
      startedAt: null,
      finishedAt: null,
      traceId: 'trace-123',
    });
    expect(execution.createdAt).toBeInstanceOf(Date);
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(execution);
  });

  it('accepts an actionId of any pack version; defaults params, attempts and timeout', async () => {
    const pack = await new PackFixture().inactive().create(ctx.db);
    const action = await new ActionFixture().forPack(pack).create(ctx.db);
    const execution = await ExecutionRepository.create(ctx.db, { actionId: action.id });
    expect(execution).toMatchObject({ actionId: action.id, actionRef: action.ref, params: {}, maxAttempts: 1, timeoutSeconds: null });
  });

  it('an explicit timeoutSeconds (or null) overrides the action default', async () => {
    const action = await new ActionFixture().withTimeout(30).create(ctx.db);
    expect((await ExecutionRepository.create(ctx.db, { actionId: action.id, timeoutSeconds: 5 })).timeoutSeconds).toBe(5);
    expect((await ExecutionRepository.create(ctx.db, { actionId: action.id, timeoutSeconds: null })).timeoutSeconds).toBeNull();
    expect((await ExecutionRepository.create(ctx.db, { actionId: action.id })).timeoutSeconds).toBe(30);
  });

  it('an actionRef with no action in the active version is InvalidReferenceError naming the ref', async () => {
    const inactive = await new PackFixture('legacy').inactive().create(ctx.db);
    await new ActionFixture('gone').forPack(inactive).create(ctx.db);
    for (const ref of ['legacy.gone', 'nopack.nothing']) {
      const error = await expectErrorType(ExecutionRepository.create(ctx.db, { actionRef: ref }), InvalidReferenceError);
      expect(error).toMatchObject({ code: 'ATTUNE_INVALID_REFERENCE', entity: 'execution', field: 'actionRef', value: ref });
      expect(error.message).toContain(ref);
    }
    const byId = await expectErrorType(ExecutionRepository.create(ctx.db, { actionId: 999_999_999 }), InvalidReferenceError);
    expect(byId).toMatchObject({ field: 'actionId', value: 999_999_999 });
    expect((await ExecutionRepository.list(ctx.db)).total).toBe(0);
  });

  it('a parent, enforcement or identity that does not exist is InvalidReferenceError', async () => {
    const action = await new ActionFixture().create(ctx.db);
    for (const field of ['parentId', 'enforcementId', 'requestedBy'] as const) {
      const error = await expectErrorType(
        withTransaction(ctx.db, (tx) => ExecutionRepository.create(tx, { actionId: action.id, [field]: 999_999_999 })),
        InvalidReferenceError,
      );
      expect(error.entity).toBe('execution');
    }
  });

  it.each<[object, string]>([
    [{}, 'no action'],
    [{ actionRef: 'a.b', actionId: 1 }, 'both actionRef and actionId'],
    [{ actionRef: 'NotARef' }, 'a malformed ref'],
    [{ actionId: 1, params: [1] }, 'params that are not an object'],
    [{ actionId: 1, maxAttempts: 0 }, 'maxAttempts below 1'],
    [{ actionId: 1, maxAttempts: 101 }, 'maxAttempts above 100'],
    [{ actionId: 1, timeoutSeconds: 0 }, 'a zero timeout'],
    [{ actionId: 1, status: 'running' }, 'a status (unknown field)'],
  ])('refuses %j (%s) before any SQL', async (input) => {
    await expectErrorType(ExecutionRepository.create(ctx.db, input as never), ValidationError);
  });

  it('refuses params larger than the row cap', async () => {
    const error = await expectErrorType(
      ExecutionRepository.create(ctx.db, { actionId: 1, params: { blob: 'x'.repeat(MAX_EXECUTION_JSON_BYTES) } }),
      ValidationError,
    );
    expect(error.field).toBe('params');
  });
});

describe('execution lookups', () => {
  it('findById returns null when absent, getById throws NotFoundError, malformed ids are refused', async () => {
    expect(await ExecutionRepository.findById(ctx.db, 999_999_999)).toBeNull();
    const error = await expectErrorType(ExecutionRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(error).toMatchObject({ entity: 'execution', field: 'id', value: 999_999_999 });
    await expectErrorType(ExecutionRepository.findById(ctx.db, 0), ValidationError);
  });
});

describe('ExecutionRepository.transition: the table', () => {
  it.each(ALLOWED)('allows %s → %s and sets the timestamps and lease accordingly', async (from, to) => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus(from).onWorker(worker, 120).create(ctx.db);
    expect(execution.status).toBe(from);
    const before = await databaseClock();
    const moved = await ExecutionRepository.transition(ctx.db, execution.id, to, { fence: { workerId: worker.id, attempt: execution.attempt } });
    const after = await databaseClock();
    expect(moved.status).toBe(to);
    // set_updated_at: the database clock at the update, and at least 1 ms past the old value.
    const floor = execution.updatedAt.getTime() + 1;
    expect(moved.updatedAt.getTime()).toBeGreaterThanOrEqual(Math.max(before, floor));
    expect(moved.updatedAt.getTime()).toBeLessThanOrEqual(Math.max(after, floor));
    if (FINAL_EXECUTION_STATUSES.includes(to)) {
      expect(moved.finishedAt).toBeInstanceOf(Date);
      expect(moved.leaseExpiresAt).toBeNull();
    } else {
      expect(moved.finishedAt).toBeNull();
    }
    if (LEASED_EXECUTION_STATUSES.includes(to)) {
      // The worker holds it under a lease: the one it had, or a new default one when it takes the row.
      expect(moved.workerId).toBe(worker.id);
      if (LEASED_EXECUTION_STATUSES.includes(from)) expect(moved.leaseExpiresAt).toEqual(execution.leaseExpiresAt);
      else expect(Math.round((moved.leaseExpiresAt!.getTime() - moved.updatedAt.getTime()) / 1000)).toBe(DEFAULT_LEASE_SECONDS);
    } else if (to !== 'requested' && !FINAL_EXECUTION_STATUSES.includes(to)) {
      expect(moved.leaseExpiresAt).toBeNull();
    }
    if (to === 'running') {
      expect(moved.startedAt).toBeInstanceOf(Date);
      // Resuming a paused run keeps its original start.
      if (execution.startedAt) expect(moved.startedAt).toEqual(execution.startedAt);
    }
    if (to === 'requested') {
      expect(moved).toMatchObject({ workerId: null, leaseExpiresAt: null, startedAt: null, attempt: from === 'running' ? 2 : 1 });
    }
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(moved);
  });

  it.each(REFUSED)('refuses %s → %s with IllegalStateChangeError and changes nothing', async (from, to) => {
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus(from).create(ctx.db);
    // The holder's own fence: the only reason left to refuse is the table.
    const fence = await someFence(execution);
    const error = await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, to, { fence }), IllegalStateChangeError);
    expect(error).toMatchObject({ code: 'ATTUNE_ILLEGAL_STATE_CHANGE', entity: 'execution', from, to, value: execution.id });
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(execution);
  });
});

describe('ExecutionRepository.transition: behaviour', () => {
  it('records started_at on the first run and finished_at at the end, in order', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().create(ctx.db);
    const fence = { workerId: worker.id, attempt: 1 };
    const running = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence });
    expect(running.startedAt!.getTime()).toBeGreaterThanOrEqual(execution.createdAt.getTime());
    const paused = await ExecutionRepository.transition(ctx.db, execution.id, 'paused', { fence });
    const resumed = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence });
    expect(paused.startedAt).toEqual(running.startedAt);
    expect(resumed.startedAt).toEqual(running.startedAt);
    const done = await ExecutionRepository.transition(ctx.db, execution.id, 'succeeded', { fence, result: { ok: true, items: [1, 2] } });
    expect(done).toMatchObject({ status: 'succeeded', result: { ok: true, items: [1, 2] }, startedAt: running.startedAt });
    expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt!.getTime());
  });

  it('a finished execution can never run again', async () => {
    for (const status of FINAL_EXECUTION_STATUSES) {
      const execution = await new ExecutionFixture().withMaxAttempts(3).withStatus(status).create(ctx.db);
      const fence = await someFence(execution);
      const error = await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence }), IllegalStateChangeError);
      expect(error).toMatchObject({ from: status, to: 'running' });
      await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'requested', { fence }), IllegalStateChangeError);
    }
  });

  it('retry from running uses an attempt; with none left it is refused, saying why', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker, 60).create(ctx.db);
    const retried = await ExecutionRepository.transition(ctx.db, execution.id, 'requested', {
      fence: fenceOf(execution),
      error: 'exit code 1',
      result: { exitCode: 1 },
    });
    expect(retried).toMatchObject({
      status: 'requested',
      attempt: 2,
      workerId: null,
      leaseExpiresAt: null,
      startedAt: null,
      error: 'exit code 1',
      result: { exitCode: 1 },
    });
    const again = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: { workerId: worker.id, attempt: 2 } });
    const error = await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'requested', { fence: fenceOf(again) }), IllegalStateChangeError);
    expect(error).toMatchObject({ from: 'running', to: 'requested' });
    expect(error.message).toContain('no attempts remain (attempt 2 of 2)');
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(again);
  });

  it('requeue from scheduled hands the row back without using an attempt', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withStatus('scheduled').onWorker(worker, 60).create(ctx.db);
    expect(execution).toMatchObject({ workerId: worker.id });
    expect(execution.leaseExpiresAt).toBeInstanceOf(Date);
    const requeued = await ExecutionRepository.transition(ctx.db, execution.id, 'requested', { fence: fenceOf(execution) });
    expect(requeued).toMatchObject({ status: 'requested', attempt: 1, workerId: null, leaseExpiresAt: null });
  });

  it('expectedFrom is a compare-and-set: it moves only from that status', async () => {
    const execution = await new ExecutionFixture().withStatus('running').create(ctx.db);
    const fence = fenceOf(execution);
    const mismatch = await expectErrorType(
      ExecutionRepository.transition(ctx.db, execution.id, 'failed', { fence, expectedFrom: 'paused' }),
      IllegalStateChangeError,
    );
    expect(mismatch).toMatchObject({ from: 'running', to: 'failed' });
    expect(mismatch.message).toContain('expected it to be paused');
    // A move the table never allows is refused before any SQL.
    const never = await expectErrorType(
      ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence, expectedFrom: 'succeeded' }),
      IllegalStateChangeError,
    );
    expect(never).toMatchObject({ from: 'succeeded', to: 'running' });
    const done = await ExecutionRepository.transition(ctx.db, execution.id, 'failed', { fence, expectedFrom: 'running', error: 'boom' });
    expect(done).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it("taking an execution records the fence's worker and grants the lease asked for; pausing ends the lease", async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().create(ctx.db);
    const fence = { workerId: worker.id, attempt: 1 };
    const running = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence, leaseSeconds: 300 });
    expect(running.workerId).toBe(worker.id);
    const remaining = running.leaseExpiresAt!.getTime() - running.startedAt!.getTime();
    expect(remaining).toBeGreaterThan(299_000);
    expect(remaining).toBeLessThan(301_000);
    const paused = await ExecutionRepository.transition(ctx.db, execution.id, 'paused', { fence });
    expect(paused.leaseExpiresAt).toBeNull();
    expect(paused.workerId).toBe(worker.id);
  });

  it('cuts long error texts and replaces NUL characters, so a failure can always be recorded', async () => {
    const execution = await new ExecutionFixture().withStatus('running').create(ctx.db);
    const failed = await ExecutionRepository.transition(ctx.db, execution.id, 'failed', {
      fence: fenceOf(execution),
      error: `a\u0000b${'x'.repeat(MAX_EXECUTION_ERROR_LENGTH)}`,
    });
    expect(failed.error!.length).toBe(MAX_EXECUTION_ERROR_LENGTH);
    expect(failed.error!.startsWith('a\uFFFDb')).toBe(true);
    expect(failed.error!.endsWith('[truncated]')).toBe(true);
  });

  it('stores any JSON result, refuses one above the cap, and null clears it', async () => {
    const execution = await new ExecutionFixture().withStatus('running').create(ctx.db);
    const fence = fenceOf(execution);
    const big = await expectErrorType(
      ExecutionRepository.transition(ctx.db, execution.id, 'succeeded', { fence, result: 'x'.repeat(MAX_EXECUTION_JSON_BYTES) }),
      ValidationError,
    );
    expect(big.field).toBe('result');
    const paused = await ExecutionRepository.transition(ctx.db, execution.id, 'paused', { fence, result: [1, 'two', null] });
    expect(paused.result).toEqual([1, 'two', null]);
    const resumed = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence, result: null });
    expect(resumed.result).toBeNull();
  });

  it('NotFoundError for a missing id; ValidationError for bad input, before SQL', async () => {
    const fence = { workerId: 1, attempt: 1 };
    await expectErrorType(ExecutionRepository.transition(ctx.db, 999_999_999, 'running', { fence }), NotFoundError);
    await expectErrorType(ExecutionRepository.transition(ctx.db, 1, 'finished' as never), ValidationError);
    for (const bad of [{ workerId: -1, attempt: 1 }, { workerId: 1, attempt: 0 }, { workerId: 1 }, { workerId: 1, attempt: 1, worker: 2 }, 5]) {
      const error = await expectErrorType(ExecutionRepository.transition(ctx.db, 1, 'running', { fence: bad as never }), ValidationError);
      expect(error.field).toMatch(/^fence/);
    }
    await expectErrorType(ExecutionRepository.transition(ctx.db, 1, 'running', { fence, bogus: 1 } as never), ValidationError);
    // The old option that set the worker instead of checking it is gone.
    await expectErrorType(ExecutionRepository.transition(ctx.db, 1, 'running', { fence, workerId: 1 } as never), ValidationError);
    const lease = await expectErrorType(ExecutionRepository.transition(ctx.db, 1, 'requested', { fence, leaseSeconds: 60 }), ValidationError);
    expect(lease.field).toBe('leaseSeconds');
  });

  it('a worker id that does not exist is InvalidReferenceError', async () => {
    const execution = await new ExecutionFixture().create(ctx.db);
    await expectErrorType(
      withTransaction(ctx.db, (tx) => ExecutionRepository.transition(tx, execution.id, 'running', { fence: { workerId: 999_999_999, attempt: 1 } })),
      InvalidReferenceError,
    );
    expect((await ExecutionRepository.getById(ctx.db, execution.id)).status).toBe('requested');
  });
});

describe('fencing: every worker write names the worker and attempt it holds', () => {
  it('a stale worker cannot start, finish or renew once the sweep requeued the row and another worker claimed it', async () => {
    const [a, b] = [await new WorkerFixture().create(ctx.db), await new WorkerFixture().create(ctx.db)];
    const execution = await new ExecutionFixture().withMaxAttempts(2).create(ctx.db);
    const [claimedByA] = await ExecutionRepository.claim(ctx.db, { workerId: a.id, leaseSeconds: 60 });
    const runningA = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: fenceOf(claimedByA!) });
    await expireLeaseOf(runningA);
    expect((await ExecutionRepository.expireLeases(ctx.db)).map((e) => e.id)).toEqual([execution.id]);
    const [claimedByB] = await ExecutionRepository.claim(ctx.db, { workerId: b.id });
    expect(claimedByB).toMatchObject({ id: execution.id, workerId: b.id, attempt: 2, status: 'scheduled' });

    const staleFence = fenceOf(runningA);
    for (const write of [
      () => ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: staleFence }),
      () => ExecutionRepository.transition(ctx.db, execution.id, 'succeeded', { fence: staleFence, result: { stale: true } }),
      () => ExecutionRepository.transition(ctx.db, execution.id, 'failed', { fence: staleFence, error: 'stale' }),
      () => ExecutionRepository.renewLease(ctx.db, execution.id, staleFence, 600),
    ]) {
      const error = await expectErrorType(write(), LeaseLostError);
      expect(error).toMatchObject({ code: 'ATTUNE_LEASE_LOST', entity: 'execution', field: 'fence', value: execution.id });
      expect(error.message).toContain(`worker ${a.id} in attempt 1: attempt 1 is over`);
    }
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(claimedByB);

    // B's own writes go through.
    const running = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: fenceOf(claimedByB!) });
    const done = await ExecutionRepository.transition(ctx.db, execution.id, 'succeeded', { fence: fenceOf(running), result: { by: 'b' } });
    expect(done).toMatchObject({ status: 'succeeded', workerId: b.id, attempt: 2, result: { by: 'b' } });
  });

  it('a stale worker cannot write after the sweep requeued the row, even before anyone claimed it', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker).create(ctx.db);
    await expireLeaseOf(execution);
    const [requeued] = await ExecutionRepository.expireLeases(ctx.db);
    expect(requeued).toMatchObject({ status: 'requested', attempt: 2 });
    // Even the same worker: its fence names attempt 1.
    await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: fenceOf(execution) }), LeaseLostError);
    await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'failed', { fence: fenceOf(execution) }), LeaseLostError);
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(requeued);
  });

  it("another worker cannot take over a row held under a valid lease, nor renew it", async () => {
    const [a, b] = [await new WorkerFixture().create(ctx.db), await new WorkerFixture().create(ctx.db)];
    const scheduled = await new ExecutionFixture().withStatus('scheduled').onWorker(a, 600).create(ctx.db);
    const running = await new ExecutionFixture().withStatus('running').onWorker(a, 600).create(ctx.db);
    for (const held of [scheduled, running]) {
      const intruder = { workerId: b.id, attempt: held.attempt };
      for (const to of ['running', 'succeeded', 'canceling', 'requested'] as const) {
        if (!EXECUTION_TRANSITIONS[held.status].includes(to)) continue;
        const error = await expectErrorType(ExecutionRepository.transition(ctx.db, held.id, to, { fence: intruder }), LeaseLostError);
        expect(error.message).toContain('another worker holds it');
      }
      await expectErrorType(ExecutionRepository.renewLease(ctx.db, held.id, intruder, 600), LeaseLostError);
      expect(await ExecutionRepository.getById(ctx.db, held.id)).toEqual(held);
    }
  });

  it('an expired lease is lost before the sweep runs: its worker can neither finish nor renew, and the sweep still takes it back', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker).create(ctx.db);
    await expireLeaseOf(execution);
    const expired = await ExecutionRepository.getById(ctx.db, execution.id);
    const fence = fenceOf(execution);
    const finish = await expectErrorType(ExecutionRepository.transition(ctx.db, execution.id, 'succeeded', { fence }), LeaseLostError);
    expect(finish.message).toContain('its lease expired at');
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, execution.id, fence, 600), LeaseLostError);
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(expired);
    expect((await ExecutionRepository.expireLeases(ctx.db)).map((e) => [e.id, e.status, e.attempt])).toEqual([[execution.id, 'requested', 2]]);
  });

  it('a move out of a held status without a fence is refused: ValidationError before SQL, or IllegalStateChangeError naming the holder', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const running = await new ExecutionFixture().withStatus('running').onWorker(worker).create(ctx.db);
    for (const to of ['running', 'succeeded', 'canceling', 'requested'] as const) {
      const error = await expectErrorType(ExecutionRepository.transition(ctx.db, running.id, to), ValidationError);
      expect(error).toMatchObject({ field: 'fence', value: running.id });
    }
    // failed is also reachable from unheld statuses, so only the row says whose it is.
    const failed = await expectErrorType(ExecutionRepository.transition(ctx.db, running.id, 'failed'), IllegalStateChangeError);
    expect(failed.message).toContain(`worker ${worker.id} holds it under a lease`);
    expect(await ExecutionRepository.getById(ctx.db, running.id)).toEqual(running);
    // Unheld rows move without one: an operator fails a requested execution.
    const requested = await new ExecutionFixture().create(ctx.db);
    expect((await ExecutionRepository.transition(ctx.db, requested.id, 'failed', { error: 'no runner' })).status).toBe('failed');
  });

  it('a fence of another attempt cannot move an unheld row either', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const requested = await new ExecutionFixture().create(ctx.db);
    const error = await expectErrorType(
      ExecutionRepository.transition(ctx.db, requested.id, 'running', { fence: { workerId: worker.id, attempt: 2 } }),
      LeaseLostError,
    );
    expect(error.message).toContain('attempt 2 is over');
    expect(await ExecutionRepository.getById(ctx.db, requested.id)).toEqual(requested);
  });

  it('a running execution always has a worker and a lease: the repository grants one, the CHECKs refuse a row without', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().create(ctx.db);
    // No leaseSeconds: taking the row still grants the default lease.
    const running = await ExecutionRepository.transition(ctx.db, execution.id, 'running', { fence: { workerId: worker.id, attempt: 1 } });
    expect(running.workerId).toBe(worker.id);
    expect(Math.round((running.leaseExpiresAt!.getTime() - running.updatedAt.getTime()) / 1000)).toBe(DEFAULT_LEASE_SECONDS);

    const action = await new ActionFixture().create(ctx.db);
    expect(await sqlError(`INSERT INTO executions (action_ref, status, worker_id) VALUES ($1, 'running', ${worker.id})`, [action.ref])).toEqual({
      code: '23514',
      constraint: 'executions_lease_expires_at_check',
    });
    expect(
      await sqlError(`INSERT INTO executions (action_ref, status, lease_expires_at) VALUES ($1, 'running', now() + interval '1 minute')`, [action.ref]),
    ).toEqual({ code: '23514', constraint: 'executions_worker_id_check' });
    expect(await sqlError('UPDATE executions SET lease_expires_at = NULL WHERE id = $1', [running.id])).toEqual({
      code: '23514',
      constraint: 'executions_lease_expires_at_check',
    });
    expect(await ExecutionRepository.getById(ctx.db, running.id)).toEqual(running);
  });
});

describe('the queue: claim, renewLease, expireLeases', () => {
  it('claim takes the oldest requested rows, marks them scheduled with worker and lease, and returns them oldest first', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const action = await new ActionFixture().create(ctx.db);
    const made: Execution[] = [];
    for (let i = 0; i < 4; i++) made.push(await new ExecutionFixture().forAction(action).create(ctx.db));
    // Same transaction, same created_at: the id breaks the tie.
    const running = await new ExecutionFixture().forAction(action).withStatus('running').create(ctx.db);

    const claimed = await ExecutionRepository.claim(ctx.db, { workerId: worker.id, limit: 3, leaseSeconds: 45 });
    expect(claimed.map((e) => e.id)).toEqual(made.slice(0, 3).map((e) => e.id));
    for (const execution of claimed) {
      expect(execution).toMatchObject({ status: 'scheduled', workerId: worker.id });
      const lease = execution.leaseExpiresAt!.getTime() - execution.updatedAt.getTime();
      expect(lease).toBeGreaterThan(44_000);
      expect(lease).toBeLessThan(46_000);
    }
    const next = await ExecutionRepository.claim(ctx.db, { workerId: worker.id, limit: 5 });
    expect(next.map((e) => e.id)).toEqual([made[3]!.id]);
    expect((await ExecutionRepository.claim(ctx.db, { workerId: worker.id }))).toEqual([]);
    expect((await ExecutionRepository.getById(ctx.db, running.id)).status).toBe('running');
  });

  it('claim defaults to one row and the default lease', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    await new ExecutionFixture().create(ctx.db);
    await new ExecutionFixture().create(ctx.db);
    const claimed = await ExecutionRepository.claim(ctx.db, { workerId: worker.id });
    expect(claimed).toHaveLength(1);
    const lease = claimed[0]!.leaseExpiresAt!.getTime() - claimed[0]!.updatedAt.getTime();
    expect(Math.round(lease / 1000)).toBe(DEFAULT_LEASE_SECONDS);
  });

  it('claim validates its options before SQL, and a missing worker is InvalidReferenceError', async () => {
    await expectErrorType(ExecutionRepository.claim(ctx.db, {} as never), ValidationError);
    await expectErrorType(ExecutionRepository.claim(ctx.db, { workerId: 1, limit: 0 }), ValidationError);
    await expectErrorType(ExecutionRepository.claim(ctx.db, { workerId: 1, leaseSeconds: 0 }), ValidationError);
    await new ExecutionFixture().create(ctx.db);
    await expectErrorType(withTransaction(ctx.db, (tx) => ExecutionRepository.claim(tx, { workerId: 999_999_999 })), InvalidReferenceError);
  });

  it('the claim and sweep queries are served by the partial indexes', async () => {
    await seedExecutions(ctx.db);
    const worker = await new WorkerFixture().create(ctx.db);
    const claim = await indexesUsed(ctx.db, (db) => ExecutionRepository.claim(db, { workerId: worker.id, limit: 5 }));
    expect(claim.indexes).toContain('executions_claim_idx');
    expect(claim.seqScans).toEqual([]);
    const sweep = await indexesUsed(ctx.db, (db) => ExecutionRepository.expireLeases(db));
    expect(sweep.indexes).toContain('executions_lease_idx');
    expect(sweep.seqScans).toEqual([]);
  });

  it('renewLease extends the lease for the holding worker and attempt only', async () => {
    const owner = await new WorkerFixture().create(ctx.db);
    const other = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(owner, 10).create(ctx.db);
    const renewed = await ExecutionRepository.renewLease(ctx.db, execution.id, fenceOf(execution), 600);
    expect(renewed.leaseExpiresAt!.getTime()).toBeGreaterThan(execution.leaseExpiresAt!.getTime() + 500_000);
    expect(renewed.status).toBe('running');

    const stolen = await expectErrorType(ExecutionRepository.renewLease(ctx.db, execution.id, { workerId: other.id, attempt: 1 }, 900), LeaseLostError);
    expect(stolen.message).toContain(`no longer held by worker ${other.id}`);
    const wrongAttempt = await expectErrorType(ExecutionRepository.renewLease(ctx.db, execution.id, { workerId: owner.id, attempt: 2 }, 900), LeaseLostError);
    expect(wrongAttempt.message).toContain('attempt 2 is over');
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(renewed);
  });

  it('renewLease does not revive an expired lease', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withStatus('scheduled').onWorker(worker).create(ctx.db);
    await expireLeaseOf(execution);
    const expired = await ExecutionRepository.getById(ctx.db, execution.id);
    const error = await expectErrorType(ExecutionRepository.renewLease(ctx.db, execution.id, fenceOf(execution), 600), LeaseLostError);
    expect(error.message).toContain('its lease expired at');
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(expired);
  });

  it('renewLease is refused once the execution is finished, canceled or back in the queue; NotFoundError for a missing id', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const finished = await new ExecutionFixture().withStatus('succeeded').onWorker(worker, 60).create(ctx.db);
    expect(finished.workerId).toBe(worker.id);
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, finished.id, fenceOf(finished)), LeaseLostError);
    const requeued = await new ExecutionFixture().withStatus('scheduled').onWorker(worker, 60).create(ctx.db);
    await ExecutionRepository.transition(ctx.db, requeued.id, 'requested', { fence: fenceOf(requeued) });
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, requeued.id, fenceOf(requeued)), LeaseLostError);
    const canceled = await new ExecutionFixture().withStatus('scheduled').onWorker(worker, 60).create(ctx.db);
    await ExecutionRepository.cancel(ctx.db, canceled.id);
    const error = await expectErrorType(ExecutionRepository.renewLease(ctx.db, canceled.id, fenceOf(canceled)), LeaseLostError);
    expect(error.message).toContain('it is canceled');
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, 999_999_999, { workerId: worker.id, attempt: 1 }), NotFoundError);
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, finished.id, fenceOf(finished), 0), ValidationError);
    await expectErrorType(ExecutionRepository.renewLease(ctx.db, finished.id, worker.id as never), ValidationError);
  });

  it('expireLeases retries when attempts remain, abandons when none do, cancels a canceling one, and leaves live leases alone', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const retry = await new ExecutionFixture().withMaxAttempts(3).withStatus('running').onWorker(worker, 60).withOutcome({ result: { partial: 1 } }).create(ctx.db);
    const lastTry = await new ExecutionFixture().withStatus('scheduled').onWorker(worker, 60).create(ctx.db);
    const canceling = await new ExecutionFixture().withStatus('canceling').onWorker(worker, 60).create(ctx.db);
    const alive = await new ExecutionFixture().withMaxAttempts(3).withStatus('running').onWorker(worker, 60).create(ctx.db);
    for (const execution of [retry, lastTry, canceling]) await expireLeaseOf(execution);

    const changed = await ExecutionRepository.expireLeases(ctx.db);
    expect(changed.map((e) => e.id)).toEqual([retry.id, lastTry.id, canceling.id]);
    const [retried, abandoned, canceled] = changed;
    expect(retried).toMatchObject({ status: 'requested', attempt: 2, workerId: null, leaseExpiresAt: null, startedAt: null, result: null, finishedAt: null });
    expect(retried!.error).toContain('expired in attempt 1 of 3; retrying');
    expect(abandoned).toMatchObject({ status: 'abandoned', attempt: 1, workerId: worker.id, leaseExpiresAt: null });
    expect(abandoned!.finishedAt).toBeInstanceOf(Date);
    expect(abandoned!.error).toContain('last attempt (1 of 1)');
    expect(canceled).toMatchObject({ status: 'canceled', leaseExpiresAt: null });
    expect(canceled!.error).toContain('while canceling');
    expect(await ExecutionRepository.getById(ctx.db, alive.id)).toEqual(alive);

    // Nothing left to expire; the retried row is claimable again.
    expect(await ExecutionRepository.expireLeases(ctx.db)).toEqual([]);
    const reclaimed = await ExecutionRepository.claim(ctx.db, { workerId: worker.id });
    expect(reclaimed.map((e) => e.id)).toEqual([retry.id]);
  });

  it('expireLeases honours asOf and limit, and sweeps every running row once its lease ends', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const a = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker, 600).create(ctx.db);
    const b = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker, 1200).create(ctx.db);
    // Started with no lease asked for: it has the default one all the same, so the sweep sees it too.
    const defaultLease = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker).create(ctx.db);
    expect(defaultLease.leaseExpiresAt).toBeInstanceOf(Date);
    const future = new Date(Date.now() + 3600_000);
    const first = await ExecutionRepository.expireLeases(ctx.db, { asOf: future, limit: 1 });
    expect(first.map((e) => e.id)).toEqual([defaultLease.id]);
    const rest = await ExecutionRepository.expireLeases(ctx.db, { asOf: future });
    expect(rest.map((e) => e.id)).toEqual([a.id, b.id]);
    const left = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM executions WHERE status = 'running'");
    expect(left.rows[0]!.n).toBe(0);
    await expectErrorType(ExecutionRepository.expireLeases(ctx.db, { limit: 0 }), ValidationError);
  });
});

describe('ExecutionRepository.cancel', () => {
  it.each([
    ['requested', 'canceled'],
    ['scheduled', 'canceled'],
    ['paused', 'canceled'],
    ['running', 'canceling'],
    ['canceling', 'canceling'],
  ] as const)('%s becomes %s', async (from, to) => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withStatus(from).onWorker(worker, 60).create(ctx.db);
    const canceled = await ExecutionRepository.cancel(ctx.db, execution.id);
    expect(canceled.status).toBe(to);
    if (to === 'canceled') expect(canceled).toMatchObject({ leaseExpiresAt: null, finishedAt: expect.any(Date) });
    else expect(canceled).toMatchObject({ finishedAt: null, leaseExpiresAt: execution.leaseExpiresAt });
  });

  it('a finished execution cannot be canceled; NotFoundError for a missing id', async () => {
    const done = await new ExecutionFixture().withStatus('succeeded').create(ctx.db);
    const error = await expectErrorType(ExecutionRepository.cancel(ctx.db, done.id), IllegalStateChangeError);
    expect(error).toMatchObject({ from: 'succeeded', to: 'canceled' });
    await expectErrorType(ExecutionRepository.cancel(ctx.db, 999_999_999), NotFoundError);
  });
});

describe('ExecutionRepository.list and children', () => {
  it('filters by one or several statuses, newest first, with pagination and a total', async () => {
    const action = await new ActionFixture().create(ctx.db);
    const requested = await new ExecutionFixture().forAction(action).create(ctx.db);
    const running = await new ExecutionFixture().forAction(action).withStatus('running').create(ctx.db);
    const failed = await new ExecutionFixture().forAction(action).withStatus('failed').create(ctx.db);
    expect((await ExecutionRepository.list(ctx.db, { status: 'running' })).items.map((e) => e.id)).toEqual([running.id]);
    const several = await ExecutionRepository.list(ctx.db, { status: ['requested', 'failed'] });
    expect(several.items.map((e) => e.id)).toEqual([failed.id, requested.id]);
    const page = await ExecutionRepository.list(ctx.db, { actionRef: action.ref, limit: 2, offset: 1 });
    expect(page).toMatchObject({ total: 3, limit: 2, offset: 1 });
    expect(page.items.map((e) => e.id)).toEqual([running.id, requested.id]);
  });

  it('filters by action, parent, enforcement, worker, requester and time', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const enforcement = await new EnforcementFixture().create(ctx.db);
    const action = await new ActionFixture().withRunnerType('workflow').create(ctx.db);
    const parent = await new ExecutionFixture().forAction(action).requestedBy(identity).forEnforcement(enforcement).create(ctx.db);
    const child = await new ExecutionFixture().childOf(parent).withStatus('running').onWorker(worker).create(ctx.db);
    const other = await new ExecutionFixture().create(ctx.db);

    const ids = async (filter: Parameters<typeof ExecutionRepository.list>[1]) => (await ExecutionRepository.list(ctx.db, filter)).items.map((e) => e.id);
    expect(await ids({ actionRef: action.ref })).toEqual([parent.id]);
    expect(await ids({ actionId: action.id })).toEqual([parent.id]);
    expect(await ids({ parentId: parent.id })).toEqual([child.id]);
    expect((await ids({ parentId: null })).sort()).toEqual([parent.id, other.id].sort());
    expect(await ids({ enforcementId: enforcement.id })).toEqual([parent.id]);
    expect(await ids({ workerId: worker.id })).toEqual([child.id]);
    expect(await ids({ requestedBy: identity.id })).toEqual([parent.id]);
    const created = parent.createdAt;
    expect((await ids({ since: created })).length).toBe(3);
    expect(await ids({ since: new Date(created.getTime() + 1) })).toEqual([]);
    expect(await ids({ until: created })).toEqual([]);
    expect((await ids({ until: new Date(created.getTime() + 1) })).length).toBe(3);
  });

  it('filters by the rule whose enforcements requested them, in any version of its pack', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    const first = await new EnforcementFixture().forRule(rule).create(ctx.db);
    const again = await new EnforcementFixture().forRule(rule).create(ctx.db);
    const elsewhere = await new EnforcementFixture().create(ctx.db);
    const a = await new ExecutionFixture().forEnforcement(first).create(ctx.db);
    const b = await new ExecutionFixture().forEnforcement(again).create(ctx.db);
    await new ExecutionFixture().forEnforcement(elsewhere).create(ctx.db);
    await new ExecutionFixture().create(ctx.db);
    const page = await ExecutionRepository.list(ctx.db, { ruleRef: first.ruleRef });
    expect(page.items.map((e) => e.id)).toEqual([b.id, a.id]);
    expect(page.total).toBe(2);
    expect((await ExecutionRepository.list(ctx.db, { ruleRef: 'nobody.no_rule' })).items).toEqual([]);
    await expectErrorType(ExecutionRepository.list(ctx.db, { ruleRef: 'not a ref' }), ValidationError);
  });

  it('refuses malformed filters before SQL', async () => {
    await expectErrorType(ExecutionRepository.list(ctx.db, { status: 'done' as never }), ValidationError);
    await expectErrorType(ExecutionRepository.list(ctx.db, { status: [] }), ValidationError);
    await expectErrorType(ExecutionRepository.list(ctx.db, { actionRef: 'Bad Ref' }), ValidationError);
    await expectErrorType(ExecutionRepository.list(ctx.db, { parentId: -1 }), ValidationError);
    await expectErrorType(ExecutionRepository.list(ctx.db, { since: 'yesterday' as never }), ValidationError);
    await expectErrorType(ExecutionRepository.list(ctx.db, { limit: 5000 }), ValidationError);
  });

  it('children lists the direct children of a workflow run, oldest first', async () => {
    const parent = await new ExecutionFixture().create(ctx.db);
    const first = await new ExecutionFixture().childOf(parent).create(ctx.db);
    const second = await new ExecutionFixture().childOf(parent).create(ctx.db);
    await new ExecutionFixture().childOf(first).create(ctx.db);
    expect((await ExecutionRepository.children(ctx.db, parent.id)).map((e) => e.id)).toEqual([first.id, second.id]);
    expect(await ExecutionRepository.children(ctx.db, second.id)).toEqual([]);
    await expectErrorType(ExecutionRepository.children(ctx.db, 0), ValidationError);
  });
});

describe('ExecutionRepository.update and delete', () => {
  it('updates attempts, timeout and trace id only', async () => {
    const execution = await new ExecutionFixture().create(ctx.db);
    const updated = await ExecutionRepository.update(ctx.db, execution.id, { maxAttempts: 4, traceId: 'abc', timeoutSeconds: null });
    expect(updated).toMatchObject({ maxAttempts: 4, traceId: 'abc', timeoutSeconds: null, status: 'requested', params: execution.params });
    await expectErrorType(ExecutionRepository.update(ctx.db, execution.id, { status: 'running' } as never), ValidationError);
    await expectErrorType(ExecutionRepository.update(ctx.db, execution.id, { params: {} } as never), ValidationError);
    await expectErrorType(ExecutionRepository.update(ctx.db, execution.id, { actionRef: 'a.b' } as never), ValidationError);
    await expectErrorType(ExecutionRepository.update(ctx.db, 999_999_999, { traceId: 'x' }), NotFoundError);
  });

  it('maxAttempts below the current attempt violates the CHECK: ValidationError', async () => {
    const execution = await new ExecutionFixture().withMaxAttempts(3).withStatus('running').create(ctx.db);
    await ExecutionRepository.transition(ctx.db, execution.id, 'requested', { fence: fenceOf(execution) });
    await expectErrorType(withTransaction(ctx.db, (tx) => ExecutionRepository.update(tx, execution.id, { maxAttempts: 1 })), ValidationError);
    expect((await ExecutionRepository.getById(ctx.db, execution.id)).maxAttempts).toBe(3);
  });

  it('delete removes child executions (all levels) and inquiries by cascade', async () => {
    const parent = await new ExecutionFixture().create(ctx.db);
    const child = await new ExecutionFixture().childOf(parent).create(ctx.db);
    const grandchild = await new ExecutionFixture().childOf(child).create(ctx.db);
    const inquiry = await new InquiryFixture().forExecution(child).create(ctx.db);
    const unrelated = await new ExecutionFixture().create(ctx.db);
    expect(await ExecutionRepository.delete(ctx.db, parent.id)).toBe(true);
    expect(await ExecutionRepository.findById(ctx.db, child.id)).toBeNull();
    expect(await ExecutionRepository.findById(ctx.db, grandchild.id)).toBeNull();
    expect(await InquiryRepository.findById(ctx.db, inquiry.id)).toBeNull();
    expect(await ExecutionRepository.findById(ctx.db, unrelated.id)).not.toBeNull();
    expect(await ExecutionRepository.delete(ctx.db, parent.id)).toBe(false);
  });

  it('deleting the action, worker or identity keeps the execution with the id cleared and the ref kept', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const action = await new ActionFixture().create(ctx.db);
    const execution = await new ExecutionFixture().forAction(action).requestedBy(identity).withStatus('failed').onWorker(worker).create(ctx.db);
    expect(execution.workerId).toBe(worker.id);
    await ActionRepository.delete(ctx.db, action.id);
    await WorkerRepository.delete(ctx.db, worker.id);
    await IdentityRepository.delete(ctx.db, identity.id);
    const kept = await ExecutionRepository.getById(ctx.db, execution.id);
    expect(kept).toMatchObject({ actionId: null, actionRef: action.ref, workerId: null, requestedBy: null, status: 'failed' });
  });

  it('a worker holding a running execution cannot be deleted until the run ends or the sweep takes it back', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withMaxAttempts(2).withStatus('running').onWorker(worker).create(ctx.db);
    const error = await expectErrorType(withTransaction(ctx.db, (tx) => WorkerRepository.delete(tx, worker.id)), ValidationError);
    expect(error.field).toBe('worker_id');
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toEqual(execution);
    await expireLeaseOf(execution);
    await ExecutionRepository.expireLeases(ctx.db);
    expect(await WorkerRepository.delete(ctx.db, worker.id)).toBe(true);
  });
});
