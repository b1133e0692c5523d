/**
 * A worker PROCESS killed with SIGKILL in the middle of its runs: `attune
 * worker` runs as an operator starts it, two long core.local executions are
 * running in it, and the process dies without a word. Its actions' process
 * groups outlive it; once the lease has passed, the maintenance role retries
 * the execution that has attempts left and abandons the other, kills both
 * groups (same host), and records the lost attempt in the history. The retry
 * then runs to success in another worker. Nothing is lost and nothing
 * finishes twice (one finish event per execution).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestExecution } from '../../src/engine/request-execution.js';
import { createMaintenanceRole } from '../../src/engine/maintenance.js';
import { registerPack } from '../../src/packs/register.js';
import { ExecutionAttemptRepository, ExecutionOutputRepository, ExecutionRepository } from '../../src/repositories/executions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import type { WorkerRole } from '../../src/worker/worker.js';
import { CORE_PACK, REPO_ROOT, processRunning } from './helpers.js';
import { silentLogger, tempDataDir, testWorker, waitFor, waitForStatus } from './worker-support.js';

const pool = createTestPool();
let dataDir: Awaited<ReturnType<typeof tempDataDir>>;
const started: RoleChild[] = [];
const ROLE_PROCESS = join(import.meta.dirname, 'role-process.ts');
let worker: WorkerRole | undefined;

beforeEach(async () => {
  await cleanDatabase(pool);
  dataDir = await tempDataDir();
  await registerPack(pool, CORE_PACK);
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  for (const child of started.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await child.exited;
  }
  await dataDir.remove();
});
afterAll(() => pool.end());

/** A role process as an operator runs it, with its JSON log lines on stdout. */
class RoleChild {
  readonly child: ChildProcess;
  stdout = '';
  readonly exited: Promise<void>;

  constructor(role: 'worker' | 'maintenance', env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ROLE_PROCESS, role], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', () => resolve()));
  }

  /** Resolves once a JSON log line says `msg`; fails when the process exits first. */
  async waitForLog(msg: string): Promise<void> {
    for (;;) {
      if (this.stdout.split('\n').some((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === msg)) return;
      if (this.child.exitCode !== null) throw new Error(`the role process exited (${this.child.exitCode}) before logging '${msg}': ${this.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** `attune <role>` (role-process.ts) against this test's database, with settings fast enough for a test. */
function attune(role: 'worker' | 'maintenance', env: Record<string, string> = {}): RoleChild {
  const child = new RoleChild(role, {
    ...process.env,
    ATTUNE__LOG__LEVEL: 'info',
    ATTUNE__WORKER__LEASE_SECONDS: '3',
    ATTUNE__WORKER__SLOTS: '4',
    ATTUNE__WORKER__RUNNERS: 'shell',
    ATTUNE__WORKER__POLL_INTERVAL_MS: '100',
    ATTUNE__WORKER__HEARTBEAT_SECONDS: '1',
    ATTUNE__WORKER__DATA_DIR: join(dataDir.path, role),
    ATTUNE__EXECUTION__SWEEP_INTERVAL_MS: '200',
    ATTUNE__EXECUTION__RETRY_BACKOFF_BASE_SECONDS: '0',
    ...env,
  });
  started.push(child);
  return child;
}

/** The execution's process group once its worker recorded it. */
function pgidOf(id: number): Promise<number> {
  return waitFor(async () => (await ExecutionRepository.getById(pool, id)).pgid ?? undefined, `the process group of execution ${id}`);
}

/** Waits until the worker's leases on `ids` have all run out. */
async function leasesExpired(ids: number[]): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query<{ live: number }>(
      'SELECT count(*)::int AS live FROM executions WHERE id = ANY($1::bigint[]) AND lease_expires_at >= clock_timestamp()',
      [ids],
    );
    return rows[0]!.live === 0 ? true : undefined;
  }, 'the leases to expire');
}

async function finishEvents(executionId: number): Promise<Array<{ status: string; attempt: number }>> {
  const { rows } = await pool.query<{ payload: { status: string; attempt: number } }>(
    `SELECT payload FROM events WHERE trigger_ref = 'core.execution_finished' AND (payload->>'execution_id')::bigint = $1 ORDER BY id`,
    [executionId],
  );
  return rows.map((row) => ({ status: row.payload.status, attempt: row.payload.attempt }));
}

/** A command that hangs on its first attempt and succeeds on the next (the marker survives the crash). */
const hangOnce = (marker: string): string => `if [ -e ${marker} ]; then echo second attempt; else touch ${marker}; sleep 60; fi`;

describe('a worker process killed with SIGKILL mid-run', () => {
  it('the lease sweep retries the execution with attempts left, abandons the other, kills both process groups, and keeps the lost attempt', { timeout: 90_000 }, async () => {
    const retried = await requestExecution(pool, 'core.local', { cmd: hangOnce(join(dataDir.path, 'marker')) }, { maxAttempts: 2 });
    const lost = await requestExecution(pool, 'core.local', { cmd: 'sleep 60' });
    const process1 = attune('worker');
    await process1.waitForLog('worker started');
    const pgids = [await pgidOf(retried.id), await pgidOf(lost.id)];
    const running = await ExecutionRepository.getById(pool, retried.id);
    expect(running).toMatchObject({ status: 'running', attempt: 1 });

    process1.child.kill('SIGKILL');
    await process1.exited;
    // The worker is gone; its actions are not: nothing else knows to stop them yet.
    for (const pgid of pgids) expect(await processRunning(pgid)).toBe(true);
    expect((await ExecutionRepository.getById(pool, retried.id)).status).toBe('running');

    await leasesExpired([retried.id, lost.id]);
    const maintenance = createMaintenanceRole({
      pool,
      logger: silentLogger,
      intervalMs: 60_000,
      deadlineGraceSeconds: 30,
      backoff: { baseSeconds: 0, capSeconds: 0 },
      outputRetentionDays: 30,
    });
    const report = await maintenance.sweep();
    expect(report).toMatchObject({ expiredLeases: 2, processGroupsKilled: 2 });
    await waitFor(async () => ((await Promise.all(pgids.map(processRunning))).some(Boolean) ? undefined : true), 'the swept process groups to die');

    expect(await ExecutionRepository.getById(pool, lost.id)).toMatchObject({ status: 'abandoned', attempt: 1, leaseExpiresAt: null, pgid: null });
    expect((await ExecutionRepository.getById(pool, lost.id)).error).toContain('expired in the last attempt (1 of 1); abandoned');
    expect(await ExecutionRepository.getById(pool, retried.id)).toMatchObject({ status: 'requested', attempt: 2, workerId: null, pgid: null });
    const history = await ExecutionAttemptRepository.listForExecution(pool, retried.id);
    expect(history).toHaveLength(1); // the current attempt has not started yet
    expect(history[0]).toMatchObject({ attempt: 1, status: 'abandoned', host: hostname(), pgid: pgids[0], current: false });
    expect(history[0]!.workerId).toBe(running.workerId);

    // A second sweep finds nothing more: each item is handled once.
    expect(await maintenance.sweep()).toMatchObject({ expiredLeases: 0, deadlines: 0, processGroupsKilled: 0 });

    worker = testWorker(pool, join(dataDir.path, 'second'), { runnerTypes: ['shell'] });
    await worker.start();
    const done = await waitForStatus(pool, retried.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(await ExecutionOutputRepository.text(pool, retried.id, 2, 'stdout')).toBe('second attempt\n');
    const attempts = await ExecutionAttemptRepository.listForExecution(pool, retried.id);
    expect(attempts.map((attempt) => [attempt.attempt, attempt.status, attempt.current])).toEqual([
      [1, 'abandoned', false],
      [2, 'succeeded', true],
    ]);
    // Finished once each: one finish event, for the final attempt.
    expect(await finishEvents(retried.id)).toEqual([{ status: 'succeeded', attempt: 2 }]);
    expect(await finishEvents(lost.id)).toEqual([{ status: 'abandoned', attempt: 1 }]);
  });

  it('end to end with processes only: attune maintenance recovers the run and a second attune worker finishes it', async () => {
    const execution = await requestExecution(pool, 'core.local', { cmd: hangOnce(join(dataDir.path, 'marker')) }, { maxAttempts: 3 });
    const first = attune('worker', { ATTUNE__WORKER__NAME: 'first' });
    await first.waitForLog('worker started');
    const pgid = await pgidOf(execution.id);
    first.child.kill('SIGKILL');
    await first.exited;

    attune('maintenance');
    const second = attune('worker', { ATTUNE__WORKER__NAME: 'second' });
    await second.waitForLog('worker started');
    const done = await waitForStatus(pool, execution.id, ['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(await processRunning(pgid)).toBe(false);
    const attempts = await ExecutionAttemptRepository.listForExecution(pool, execution.id);
    expect(attempts.map((attempt) => [attempt.attempt, attempt.status])).toEqual([
      [1, 'abandoned'],
      [2, 'succeeded'],
    ]);
    expect(await finishEvents(execution.id)).toEqual([{ status: 'succeeded', attempt: 2 }]);
  }, 90_000);
});
