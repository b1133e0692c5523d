/**
 * A worker whose database connection is lost while it writes a run's output
 * or result (found by the connection-kills fault scenario): the write is
 * retried on a fresh connection, so the run's output and result are stored
 * and the execution ends as the action did, not given up to the lease sweep.
 * The loss is made deterministic: a lock makes the worker's write wait, and
 * the waiting backend is terminated with pg_terminate_backend.
 */
import type pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { ExecutionOutputRepository, ExecutionRepository } from '../../src/repositories/executions.js';
import { createTestPool } from '../../src/testing/index.js';
import { OutputWriter } from '../../src/worker/output-writer.js';
import { memoryLogger } from '../sensors/support.js';
import { actionGate, actionOn, silentLogger, useWorkerScene, waitFor, waitForStatus } from './worker-support.js';

const APPLICATION = 'attune worker connection loss test';
const pool = createTestPool();
// The worker's own pool, named so the test finds its connections.
const workerPool = createPool({ url: process.env.ATTUNE__DATABASE__URL!, maxConnections: 4, applicationName: APPLICATION });
workerPool.on('error', () => undefined);
const scene = useWorkerScene(pool);
afterAll(async () => {
  await workerPool.end();
  await pool.end();
});

/** Terminates the worker pool's connections that wait on a lock; how many. */
async function terminateWaiters(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [APPLICATION],
  );
  return rows[0]!.n;
}

/** Runs `fn` while another transaction holds `lockSql`, then ends that transaction. */
async function whileLocked<T>(lockSql: string, params: unknown[], fn: () => Promise<T>): Promise<T> {
  const locker: pg.PoolClient = await pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(lockSql, params);
    return await fn();
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
}

it('output: a chunk whose write lost its connection is written again on a fresh one, in order, once', { timeout: 60_000 }, async () => {
  const action = await actionOn(pool, 'shell');
  const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'echo one; sleep 0.3; echo two' } });
  await whileLocked('LOCK TABLE execution_output IN EXCLUSIVE MODE', [], async () => {
    await scene.start({ leaseSeconds: 30 }, workerPool);
    await waitFor(async () => ((await terminateWaiters()) > 0 ? true : undefined), 'the output write to wait on the lock');
  });
  const done = await waitForStatus(pool, requested.id);
  expect(done.status).toBe('succeeded');
  expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout')).toBe('one\ntwo\n');
  expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stderr')).toBe('');
});

it('lease: a renewal whose connection was lost is tried again at once on a fresh one, and the run keeps its lease', { timeout: 60_000 }, async () => {
  const action = await actionOn(pool, 'shell');
  const { logger, lines } = memoryLogger();
  const finish = actionGate('lease');
  const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: `${finish.wait}; echo done` } });
  // A 9-second lease is renewed every 3 s. The log says which way a renewal that lost its connection went: tried again at
  // once, or left to the next tick (which would leave a third of the lease). The lease is long enough that a loaded
  // machine does not let it run out while the test holds the row.
  await scene.start({ leaseSeconds: 9, logger }, workerPool);
  await waitFor(async () => ((await ExecutionRepository.getById(pool, requested.id)).pgid ?? undefined), 'the run to start');
  const { rows } = await pool.query<{ at: Date }>('SELECT lease_expires_at AS at FROM executions WHERE id = $1', [requested.id]);
  // Only the renewal writes the row while the process sleeps: hold the row, terminate the renewal waiting on it.
  await whileLocked('SELECT id FROM executions WHERE id = $1 FOR NO KEY UPDATE', [requested.id], () =>
    waitFor(async () => {
      await terminateWaiters();
      return lines.some((line) => line.msg === 'renewing the lease: database unavailable, retrying') ? true : undefined;
    }, 'a renewal to lose its connection'),
  );
  await waitFor(async () => (lines.some((line) => line.msg === 'renewing the lease: written after the database came back') ? true : undefined), 'the renewal to be written again');
  const { rows: after } = await pool.query<{ at: Date }>('SELECT lease_expires_at AS at FROM executions WHERE id = $1', [requested.id]);
  expect(after[0]!.at.getTime()).toBeGreaterThan(rows[0]!.at.getTime());
  await finish.open();
  const done = await waitForStatus(pool, requested.id);
  await finish.remove();
  expect(done).toMatchObject({ status: 'succeeded', attempt: 1 });
  expect(lines.some((line) => line.msg === 'lease lost: stopping the run' || line.msg === 'lease renewal failed; retrying at the next renewal')).toBe(false);
});

it('result: a completion whose write lost its connection is written again, and the execution succeeds', { timeout: 60_000 }, async () => {
  const action = await actionOn(pool, 'shell');
  const { logger, lines } = memoryLogger();
  const finish = actionGate('result');
  const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: `${finish.wait}; echo done` } });
  await scene.start({ leaseSeconds: 30, logger }, workerPool);
  await waitForStatus(pool, requested.id, ['running']);
  // Hold the row (FOR NO KEY UPDATE: output rows, whose foreign key only shares it, still go in), then let the action
  // end: the completion and any renewal wait; terminate what waits until the result's write has been hit.
  await whileLocked('SELECT id FROM executions WHERE id = $1 FOR NO KEY UPDATE', [requested.id], async () => {
    await finish.open();
    return waitFor(async () => {
      await terminateWaiters();
      return lines.some((line) => line.msg === 'writing the result: database unavailable, retrying') ? true : undefined;
    }, 'the result write to lose its connection');
  });
  const done = await waitForStatus(pool, requested.id);
  await finish.remove();
  expect(done).toMatchObject({ status: 'succeeded', attempt: 1 });
  expect(done.result).toMatchObject({ exit_code: 0, stdout: 'done' });
  expect(lines.some((line) => line.msg === 'run failed in the worker')).toBe(false);
});

it('output past the buffer bound while the database is away is dropped under one marker saying how much', { timeout: 60_000 }, async () => {
  const action = await actionOn(pool, 'shell');
  const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 60' } });
  await scene.start({ leaseSeconds: 30, graceSeconds: 1 }, workerPool);
  const running = await waitForStatus(pool, requested.id, ['running']);
  const fence = { workerId: running.workerId!, attempt: running.attempt };
  const writer = new OutputWriter(workerPool, running.id, fence, [], silentLogger, { maxBufferedBytes: 10 });
  await whileLocked('LOCK TABLE execution_output IN EXCLUSIVE MODE', [], async () => {
    writer.push('stdout', 'first\n'); // 6 bytes, in flight, waiting on the lock
    writer.push('stdout', 'over\n'); // 6 + 5 bytes would pass the bound of 10: dropped, and so are the next
    writer.push('stdout', 'dropped-1\n');
    writer.push('stdout', 'dropped-2\n');
    await waitFor(async () => ((await terminateWaiters()) > 0 ? true : undefined), 'the output write to wait on the lock');
  });
  await writer.flush();
  const text = await ExecutionOutputRepository.text(pool, running.id, 1, 'stdout');
  expect(text).toBe('first\n');
  expect(await ExecutionOutputRepository.text(pool, running.id, 1, 'stderr')).toBe('[attune: 25 bytes of output dropped while the database was unavailable]\n');
});
