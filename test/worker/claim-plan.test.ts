/**
 * Query plans of the worker's queue statements at a realistic volume: the
 * claim (filtered by runner type, ordered by run_after; alone or with a
 * batch's completions) is served by
 * executions_claim_idx, the lease sweep by executions_lease_idx and the
 * deadline sweep by executions_deadline_idx, none of them scanning the
 * executions table. Seeded inside the test's rolled-back transaction.
 */
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { ExecutionRepository, fenceOf } from '../../src/repositories/executions.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

/**
 * 20,000 executions of 400 actions, one every ten seconds over the last two
 * days and a half: a backlog of one in twenty requested (a tenth of those
 * delayed by a retry's back-off), mostly shell and python with some noop and
 * http; thirty running on one worker with leases and deadlines spread an
 * hour either side of now; the rest finished.
 */
async function seedQueue(db: Executor): Promise<number> {
  const prefix = uniqueName('claim');
  const worker = await new WorkerFixture().create(db);
  await db.query(
    `INSERT INTO executions (action_ref, runner_type, status, worker_id, lease_expires_at, deadline_at, started_at, finished_at, run_after, created_at)
     SELECT $1 || '_' || g % 400 || '.run',
            (ARRAY['shell', 'shell', 'python', 'python', 'shell-script', 'node', 'noop', 'http'])[1 + (g / 20) % 8],
            x.status,
            CASE WHEN x.status = 'running' THEN $2::bigint END,
            CASE WHEN x.status = 'running' THEN now() + make_interval(secs => (g % 7200) - 3600) END,
            CASE WHEN x.status = 'running' THEN now() + make_interval(secs => (g % 5400) - 2700) END,
            CASE WHEN x.status <> 'requested' THEN x.created_at END,
            CASE WHEN x.status IN ('succeeded', 'failed', 'canceled') THEN x.created_at + interval '1 second' END,
            CASE WHEN x.status = 'requested' AND g % 200 = 0 THEN now() + interval '5 minutes' ELSE x.created_at END,
            x.created_at
       FROM generate_series(1, 20000) AS g
       CROSS JOIN LATERAL (
         SELECT CASE WHEN g % 20 = 0 THEN 'requested' WHEN g % 667 = 1 THEN 'running'
                     ELSE (ARRAY['succeeded', 'succeeded', 'failed', 'canceled'])[1 + g % 4] END AS status,
                now() - make_interval(secs => g * 10) AS created_at
       ) AS x`,
    [prefix, worker.id],
  );
  await analyze(db, 'executions');
  return worker.id;
}

describe('the worker queue at volume', () => {
  it('claimAndStart, filtered by the runner types a worker serves, is served by executions_claim_idx', async () => {
    const workerId = await seedQueue(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) =>
      ExecutionRepository.claimAndStart(db, { workerId, limit: 16, runnerTypes: ['shell', 'shell-script', 'python', 'node', 'http', 'noop'], defaultTimeoutSeconds: 600 }),
    );
    expect(plan.indexes).toContain('executions_claim_idx');
    expect(plan.seqScans).toEqual([]);
  });

  it('claimAndStart for every runner type (no filter) is served by executions_claim_idx too', async () => {
    const workerId = await seedQueue(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => ExecutionRepository.claimAndStart(db, { workerId, limit: 100, defaultTimeoutSeconds: 600 }));
    expect(plan.indexes).toContain('executions_claim_idx');
    expect(plan.seqScans).toEqual([]);
  });

  it('the claim takes runnable rows only: oldest run_after first, delayed ones left, of the served runner types', async () => {
    const workerId = await seedQueue(ctx.db);
    const claimed = await ExecutionRepository.claimAndStart(ctx.db, { workerId, limit: 50, runnerTypes: ['python'], defaultTimeoutSeconds: 600 });
    expect(claimed).toHaveLength(50);
    expect(new Set(claimed.map((execution) => execution.runnerType))).toEqual(new Set(['python']));
    expect(claimed.every((execution) => execution.status === 'running' && execution.workerId === workerId && execution.deadlineAt !== null)).toBe(true);
    const { rows } = await ctx.db.query<{ older: number }>(
      `SELECT count(*)::int AS older FROM executions
        WHERE status = 'requested' AND runner_type = 'python' AND run_after <= now()
          AND run_after < (SELECT max(run_after) FROM executions WHERE id = ANY($1::bigint[]))`,
      [claimed.map((execution) => execution.id)],
    );
    // Nothing runnable of that type older than the newest claimed row was left behind.
    expect(rows[0]!.older).toBe(0);
  });

  it("the lease and deadline sweeps are served by an index over the running rows, never a scan of executions", async () => {
    await seedQueue(ctx.db);
    // The sweeps also read each swept row's worker host: a table of a few rows that the planner may well scan.
    const leases = await indexesUsed(ctx.db, (db) => ExecutionRepository.sweepExpiredLeases(db));
    // Running rows are few: the planner may reach them through the lease index or the (status, created_at) one.
    expect(leases.indexes.filter((name) => ['executions_lease_idx', 'executions_status_created_at_idx'].includes(name)), JSON.stringify(leases.indexes)).not.toEqual([]);
    expect(leases.seqScans).not.toContain('executions');
    const deadlines = await indexesUsed(ctx.db, (db) => ExecutionRepository.sweepDeadlines(db, { graceSeconds: 30 }));
    expect(deadlines.indexes.filter((name) => ['executions_deadline_idx', 'executions_status_created_at_idx'].includes(name)), JSON.stringify(deadlines.indexes)).not.toEqual([]);
    expect(deadlines.seqScans).not.toContain('executions');
  });

  it('a completion batch, the process groups and a hand-back look their rows up by primary key, not through every running execution', async () => {
    const workerId = await seedQueue(ctx.db);
    // Hundreds running, as with several workers busy (it runs last: its rolled-back updates leave dead index entries).
    await ctx.db.query(
      `UPDATE executions SET status = 'running', worker_id = $1, started_at = now(), lease_expires_at = now() + interval '1 hour',
              deadline_at = now() + interval '1 hour', finished_at = NULL
        WHERE id IN (SELECT id FROM executions WHERE status = 'succeeded' LIMIT 300)`,
      [workerId],
    );
    await analyze(ctx.db, 'executions');
    const claimed = await ExecutionRepository.claimAndStart(ctx.db, { workerId, limit: 16, defaultTimeoutSeconds: 600 });
    const fences = claimed.map((execution) => ({ id: execution.id, fence: fenceOf(execution) }));
    for (const [name, call] of [
      ['recordProcessGroups', (db: Executor) => ExecutionRepository.recordProcessGroups(db, fences.map((f, i) => ({ ...f, pgid: 5000 + i })))],
      ['finishMany', (db: Executor) => ExecutionRepository.finishMany(db, fences.map((f) => ({ ...f, status: 'succeeded' as const, result: {} })))],
    ] as const) {
      const plan = await indexesUsed(ctx.db, call);
      expect({ name, indexes: plan.indexes.filter((index) => index.startsWith('executions_')) }).toEqual({ name, indexes: ['executions_pkey'] });
      expect(plan.seqScans).not.toContain('executions');
    }
    // The completions with the next claim: the completed rows by primary key, the claim through the claim index.
    const withClaim = await indexesUsed(ctx.db, (db) =>
      ExecutionRepository.finishAndClaim(
        db,
        fences.map((f) => ({ ...f, status: 'succeeded' as const, result: {} })),
        { workerId, limit: 16, runnerTypes: ['shell', 'python'], defaultTimeoutSeconds: 600 },
      ),
    );
    expect(withClaim.indexes.filter((index) => index.startsWith('executions_')).sort()).toEqual(['executions_claim_idx', 'executions_pkey']);
    expect(withClaim.seqScans).not.toContain('executions');
    const handBack = await indexesUsed(ctx.db, (db) => ExecutionRepository.handBack(db, fences));
    expect(handBack.indexes.filter((index) => index.startsWith('executions_'))).toEqual(['executions_pkey']);
  });
});
