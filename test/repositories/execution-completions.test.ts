/**
 * finishAndClaim: a batch's completions and the claim that refills the
 * worker's slots in one statement. The completions are written exactly as
 * finishMany writes them; the claim takes what claimAndStart would take,
 * never a run the same statement requeued; and the statement never waits
 * on a completion's row that another transaction holds (it skips it, and
 * finishMany writes it afterwards). Executions get a runner type of their
 * own per test, so claims only ever see that test's rows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionRepository, fenceOf, type Execution } from '../../src/repositories/executions.js';
import { createTestPool } from '../../src/testing/index.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { useTransactionPerTest } from '../support/db.js';
import { requestedOfOwnType } from '../support/queue.js';
import { recording } from '../support/sql.js';

const ctx = useTransactionPerTest();
const shared = createTestPool({ maxConnections: 3 });
afterAll(() => shared.end());

const NO_BACKOFF = { baseSeconds: 0, capSeconds: 0 };

const succeeded = (execution: Execution) => ({ id: execution.id, fence: fenceOf(execution), status: 'succeeded' as const, result: { ok: execution.id } });

describe('finishAndClaim', () => {
  it('writes the completions and claims the next runs in one statement, never the run it requeued', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const { runnerType, ids } = await requestedOfOwnType(ctx.db, 4, 2);
    const claim = { workerId: worker.id, limit: 2, runnerTypes: [runnerType], defaultTimeoutSeconds: 60 };
    const [first, second] = await ExecutionRepository.claimAndStart(ctx.db, claim);
    expect([first!.id, second!.id]).toEqual(ids.slice(0, 2));

    const recorder = recording(ctx.db, { inTransaction: true });
    const { finished, claimed } = await ExecutionRepository.finishAndClaim(
      recorder,
      [succeeded(first!), { id: second!.id, fence: fenceOf(second!), status: 'failed', error: 'exit 1' }],
      { ...claim, limit: 5 },
      NO_BACKOFF,
    );
    expect(recorder.statements).toHaveLength(1);
    // The first succeeded; the second failed with an attempt left and is requested again, due at once.
    expect(finished.map(({ id, status, attempt, retried }) => ({ id, status, attempt, retried })).sort((a, b) => a.id - b.id)).toEqual([
      { id: first!.id, status: 'succeeded', attempt: 1, retried: false },
      { id: second!.id, status: 'requested', attempt: 1, retried: true },
    ]);
    expect(finished.find((row) => row.id === first!.id)!.execution.result).toEqual({ ok: first!.id });
    // The claim took the two still waiting, in queue order, and not the requeued one: its snapshot still saw it running.
    expect(claimed.map((execution) => execution.id)).toEqual(ids.slice(2));
    expect(claimed.every((execution) => execution.status === 'running' && execution.workerId === worker.id && execution.deadlineAt !== null)).toBe(true);
    // The retry's attempt is in the history, and the requeued run is claimable by the next claim.
    const { rows } = await ctx.db.query('SELECT attempt, status FROM execution_attempts WHERE execution_id = $1', [second!.id]);
    expect(rows).toEqual([{ attempt: 1, status: 'failed' }]);
    const next = await ExecutionRepository.claimAndStart(ctx.db, claim);
    expect(next.map((execution) => [execution.id, execution.attempt])).toEqual([[second!.id, 2]]);
  });

  it('with no completions it is a claim, and a completion whose fence no longer holds changes nothing', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const { runnerType, ids } = await requestedOfOwnType(ctx.db, 2);
    const claim = { workerId: worker.id, limit: 1, runnerTypes: [runnerType], defaultTimeoutSeconds: 60 };
    const { finished, claimed } = await ExecutionRepository.finishAndClaim(ctx.db, [], claim);
    expect(finished).toEqual([]);
    expect(claimed.map((execution) => execution.id)).toEqual([ids[0]]);

    const stale = { ...succeeded(claimed[0]!), fence: { workerId: worker.id, attempt: 2 } };
    const again = await ExecutionRepository.finishAndClaim(ctx.db, [stale], claim);
    expect(again.finished).toEqual([]);
    expect(again.claimed.map((execution) => execution.id)).toEqual([ids[1]]);
    expect(await ExecutionRepository.getById(ctx.db, ids[0]!)).toMatchObject({ status: 'running', result: null });
  });

  it('checks its claim like claimAndStart, before any SQL', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const recorder = recording(ctx.db, { inTransaction: true });
    await expect(ExecutionRepository.finishAndClaim(recorder, [], { workerId: worker.id, limit: 0, defaultTimeoutSeconds: 60 })).rejects.toThrow(/limit/);
    await expect(
      ExecutionRepository.finishAndClaim(recorder, [{ id: 1, fence: { workerId: worker.id, attempt: 1 }, status: 'done' as never }], { workerId: worker.id, defaultTimeoutSeconds: 60 }),
    ).rejects.toThrow(/status/);
    expect(recorder.statements).toEqual([]);
  });

  it('skips a completion whose row another transaction holds instead of waiting, and claims all the same', async () => {
    const worker = await new WorkerFixture().create(shared);
    const { runnerType, ids } = await requestedOfOwnType(shared, 2);
    try {
      const claim = { workerId: worker.id, limit: 1, runnerTypes: [runnerType], defaultTimeoutSeconds: 60 };
      const [held] = await ExecutionRepository.claimAndStart(shared, claim);
      const blocker = await shared.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM executions WHERE id = $1 FOR UPDATE', [held!.id]);
        const { finished, claimed } = await ExecutionRepository.finishAndClaim(shared, [succeeded(held!)], claim);
        expect(finished).toEqual([]);
        expect(claimed.map((execution) => execution.id)).toEqual([ids[1]]);
        expect((await ExecutionRepository.getById(shared, held!.id)).status).toBe('running');
        await blocker.query('COMMIT');
      } finally {
        blocker.release();
      }
      // Written afterwards by finishMany, which waits for the lock.
      const [applied] = await ExecutionRepository.finishMany(shared, [succeeded(held!)]);
      expect(applied).toMatchObject({ id: held!.id, status: 'succeeded', retried: false });
    } finally {
      await shared.query('DELETE FROM executions WHERE id = ANY($1::bigint[])', [ids]);
      await shared.query('DELETE FROM workers WHERE id = $1', [worker.id]);
    }
  });
});
