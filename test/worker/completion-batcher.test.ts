/**
 * The completion batcher with a claim: completions queued by runs that just
 * ended go in the claim's statement (one statement, recorded); one whose
 * row another transaction holds is left to the plain flush, which waits for
 * the lock, and `drain` waits for that too. Rows get a runner type of their
 * own, so the claims see this file's rows only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { ExecutionRepository, fenceOf, type Execution } from '../../src/repositories/executions.js';
import { createTestPool } from '../../src/testing/index.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { FinishTriggerCache } from '../../src/engine/internal-triggers.js';
import { CompletionBatcher } from '../../src/worker/completion-batcher.js';
import { requestedOfOwnType } from '../support/queue.js';
import { recording } from '../support/sql.js';

const pool = createTestPool({ maxConnections: 4 });
afterAll(() => pool.end());

const BACKOFF = { baseSeconds: 1, capSeconds: 10 };

async function scene(count: number): Promise<{ workerId: number; runnerType: string; ids: number[]; cleanup(): Promise<void> }> {
  const worker = await new WorkerFixture().create(pool);
  const { runnerType, ids } = await requestedOfOwnType(pool, count);
  return {
    workerId: worker.id,
    runnerType,
    ids,
    async cleanup() {
      await pool.query('DELETE FROM executions WHERE id = ANY($1::bigint[])', [ids]);
      await pool.query('DELETE FROM workers WHERE id = $1', [worker.id]);
    },
  };
}

const succeeded = (execution: Execution) => ({ id: execution.id, fence: fenceOf(execution), status: 'succeeded' as const, result: { ok: true } });

describe('CompletionBatcher.flushWithClaim', () => {
  it('writes the queued completions in the claim’s statement and resolves them', async () => {
    const s = await scene(4);
    try {
      const claim = { workerId: s.workerId, limit: 2, runnerTypes: [s.runnerType], defaultTimeoutSeconds: 60 };
      const running = await ExecutionRepository.claimAndStart(pool, claim);
      // With a trigger cache, as `attune worker` runs it: no transaction around the statement.
      const recorder = recording(pool as unknown as Executor);
      const batcher = new CompletionBatcher(recorder as never, BACKOFF, new FinishTriggerCache());
      const applied = running.map((execution) => batcher.complete(succeeded(execution)));
      const claimed = await batcher.flushWithClaim(claim);
      expect(claimed!.map((execution) => execution.id)).toEqual(s.ids.slice(2));
      expect((await Promise.all(applied)).map((row) => row?.status)).toEqual(['succeeded', 'succeeded']);
      await batcher.drain();
      // The finish triggers read once, then one statement: the completions and the claim.
      expect(recorder.statements.map((statement) => (/jsonb_to_recordset/.test(statement.text) ? 'finish and claim' : /FROM triggers/.test(statement.text) ? 'triggers' : statement.text))).toEqual([
        'triggers',
        'finish and claim',
      ]);
      // Nothing queued: the caller claims alone.
      expect(await batcher.flushWithClaim(claim)).toBeUndefined();
    } finally {
      await s.cleanup();
    }
  });

  it('leaves a completion whose row is locked to the plain flush, and drain waits for it', async () => {
    const s = await scene(2);
    try {
      const claim = { workerId: s.workerId, limit: 1, runnerTypes: [s.runnerType], defaultTimeoutSeconds: 60 };
      const [held] = await ExecutionRepository.claimAndStart(pool, claim);
      const batcher = new CompletionBatcher(pool, BACKOFF);
      const blocker = await pool.connect();
      let applied: Promise<unknown> | undefined;
      let drained = false;
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM executions WHERE id = $1 FOR UPDATE', [held!.id]);
        applied = batcher.complete(succeeded(held!));
        const claimed = await batcher.flushWithClaim(claim);
        // The claim went through while the completed row was locked.
        expect(claimed!.map((execution) => execution.id)).toEqual([s.ids[1]]);
        const drain = batcher.drain().then(() => (drained = true));
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(drained).toBe(false);
        expect((await ExecutionRepository.getById(pool, held!.id)).status).toBe('running');
        await blocker.query('COMMIT');
        await drain;
      } finally {
        blocker.release();
      }
      expect(await applied).toMatchObject({ id: held!.id, status: 'succeeded' });
      expect((await ExecutionRepository.getById(pool, held!.id)).status).toBe('succeeded');
    } finally {
      await s.cleanup();
    }
  });
});
