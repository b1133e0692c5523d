import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { IllegalStateChangeError } from '../../src/errors.js';
import { ExecutionRepository, fenceOf, type Execution } from '../../src/repositories/executions.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import type { Worker } from '../../src/repositories/workers.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { InquiryFixture } from '../../src/testing/fixtures/inquiries.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';

// Real commits on several connections: SKIP LOCKED only shows between transactions.
const CLAIMERS = 4;
const pool = createTestPool({ maxConnections: CLAIMERS + 2 });

beforeEach(async () => {
  await cleanDatabase(pool);
});

afterAll(async () => {
  await pool.end();
});

async function requestExecutions(count: number, maxAttempts = 1): Promise<number[]> {
  const action = await new ActionFixture().create(pool);
  const result = await pool.query<{ id: number }>(
    `INSERT INTO executions (action_id, action_ref, max_attempts) SELECT $1, $2, $3 FROM generate_series(1, $4) RETURNING id`,
    [action.id, action.ref, maxAttempts, count],
  );
  return result.rows.map((row) => row.id);
}

async function workers(count: number): Promise<Worker[]> {
  return Promise.all(Array.from({ length: count }, () => new WorkerFixture().create(pool)));
}

describe('claim under concurrency', () => {
  it('racing claimers take every requested row exactly once', async () => {
    const ids = await requestExecutions(120);
    const claimers = await workers(CLAIMERS);

    const claimedBy = new Map<number, number[]>();
    await Promise.all(
      claimers.map(async (worker) => {
        const mine: number[] = [];
        for (;;) {
          const batch = await ExecutionRepository.claim(pool, { workerId: worker.id, limit: 3, leaseSeconds: 60 });
          if (batch.length === 0) break;
          mine.push(...batch.map((e) => e.id));
        }
        claimedBy.set(worker.id, mine);
      }),
    );

    const all = [...claimedBy.values()].flat();
    expect(all).toHaveLength(ids.length);
    expect(new Set(all).size).toBe(ids.length);
    expect([...all].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));

    // The database agrees with what each claimer was told.
    const rows = await pool.query<{ id: number; status: string; worker_id: number }>('SELECT id, status, worker_id FROM executions');
    for (const row of rows.rows) {
      expect(row.status).toBe('scheduled');
      expect(claimedBy.get(row.worker_id)).toContain(row.id);
    }
  });

  it('a claimer skips rows another open transaction holds, without waiting for it', async () => {
    const ids = await requestExecutions(5);
    const [first, second] = await workers(2);
    const holder = await pool.connect();
    const other = await pool.connect();
    try {
      // If the second claim waited on the first's locks it would fail here instead of hanging.
      await other.query("SET lock_timeout = '2s'");
      await holder.query('BEGIN');
      const held = await ExecutionRepository.claim(holder, { workerId: first!.id, limit: 2 });
      expect(held.map((e) => e.id)).toEqual(ids.slice(0, 2));

      const taken = await ExecutionRepository.claim(other, { workerId: second!.id, limit: 10 });
      expect(taken.map((e) => e.id)).toEqual(ids.slice(2));

      await holder.query('ROLLBACK');
      // Rolled back: the held rows are requested again and go to the next claimer.
      const again = await ExecutionRepository.claim(other, { workerId: second!.id, limit: 10 });
      expect(again.map((e) => e.id)).toEqual(ids.slice(0, 2));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      other.release();
    }
  });

  it('claims taken inside longer worker transactions never overlap', async () => {
    const ids = await requestExecutions(40);
    const claimers = await workers(CLAIMERS);
    const seen: Execution[][] = await Promise.all(
      claimers.map(async (worker) => {
        const mine: Execution[] = [];
        for (;;) {
          // Claim and start in one transaction, as a worker would: locks are held across statements.
          const batch = await withTransaction(pool, async (tx) => {
            const claimed = await ExecutionRepository.claim(tx, { workerId: worker.id, limit: 2 });
            for (const execution of claimed) await ExecutionRepository.transition(tx, execution.id, 'running', { expectedFrom: 'scheduled', fence: fenceOf(execution) });
            return claimed;
          });
          if (batch.length === 0) return mine;
          mine.push(...batch);
        }
      }),
    );
    const all = seen.flat().map((e) => e.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((a, b) => a - b)).toEqual(ids);
    const running = await pool.query("SELECT count(*)::int AS n FROM executions WHERE status = 'running' AND started_at IS NOT NULL");
    expect(running.rows[0].n).toBe(ids.length);
  });
});

describe('lease expiry under concurrency', () => {
  it('concurrent sweeps change each expired row exactly once, retrying or abandoning it', async () => {
    const retryable = await requestExecutions(30, 2);
    const lastTry = await requestExecutions(30, 1);
    const [worker] = await workers(1);
    let claimed = 0;
    for (;;) {
      const batch = await ExecutionRepository.claim(pool, { workerId: worker!.id, limit: 100 });
      if (batch.length === 0) break;
      claimed += batch.length;
    }
    expect(claimed).toBe(60);
    await pool.query("UPDATE executions SET lease_expires_at = now() - interval '1 second'");

    const results = await Promise.all(Array.from({ length: CLAIMERS }, () => ExecutionRepository.expireLeases(pool, { limit: 7 })));
    // Batches of 7 cannot cover 60 rows in 4 sweeps: sweep until nothing is left.
    const changed = results.flat();
    for (;;) {
      const more = await ExecutionRepository.expireLeases(pool);
      if (more.length === 0) break;
      changed.push(...more);
    }
    const changedIds = changed.map((e) => e.id);
    expect(new Set(changedIds).size).toBe(changedIds.length);
    expect(changedIds.sort((a, b) => a - b)).toEqual([...retryable, ...lastTry].sort((a, b) => a - b));

    const byStatus = await pool.query<{ status: string; attempt: number; n: number }>(
      'SELECT status, attempt, count(*)::int AS n FROM executions GROUP BY status, attempt ORDER BY status',
    );
    expect(byStatus.rows).toEqual([
      { status: 'abandoned', attempt: 1, n: 30 },
      { status: 'requested', attempt: 2, n: 30 },
    ]);
  });

  it('a sweep skips a row whose worker is mid-transition, and the worker keeps it', async () => {
    const [id] = await requestExecutions(1, 2);
    const [worker] = await workers(1);
    const [claimed] = await ExecutionRepository.claim(pool, { workerId: worker!.id, leaseSeconds: 600 });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await ExecutionRepository.renewLease(client, id!, fenceOf(claimed!), 60);
      // A sweep for which every lease has ended still skips the row the worker's open transaction holds.
      expect(await ExecutionRepository.expireLeases(pool, { asOf: new Date(Date.now() + 3600_000) })).toEqual([]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await ExecutionRepository.expireLeases(pool)).toEqual([]);
    expect((await ExecutionRepository.getById(pool, id!)).status).toBe('scheduled');
  });
});

describe('inquiry respond under concurrency', () => {
  it('of several simultaneous answers exactly one wins; the others get IllegalStateChangeError', async () => {
    const inquiry = await new InquiryFixture().create(pool);
    const outcomes = await Promise.allSettled(
      Array.from({ length: CLAIMERS }, (_, i) => InquiryRepository.respond(pool, inquiry.id, { response: { answer: i } })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(CLAIMERS - 1);
    for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(IllegalStateChangeError);
    const stored = await InquiryRepository.getById(pool, inquiry.id);
    expect(stored.response).toEqual((won[0] as PromiseFulfilledResult<{ response: unknown }>).value.response);
  });
});
