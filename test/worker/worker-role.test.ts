/**
 * The worker role with real processes against a real database: each
 * runner's success, failure, timeout and cancel; output stored in chunks,
 * capped; retries with back-off and the attempt history; graceful stop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cancelExecution } from '../../src/engine/cancel-execution.js';
import { ExecutionAttemptRepository, ExecutionOutputRepository, ExecutionRepository } from '../../src/repositories/executions.js';
import { WorkerRepository } from '../../src/repositories/workers.js';
import { createTestPool } from '../../src/testing/index.js';
import { actionOn, useWorkerScene, waitFor, waitForStatus } from './worker-support.js';

const pool = createTestPool();
const scene = useWorkerScene(pool);
afterAll(() => pool.end());

describe('runs', () => {
  it('shell: success with output stored in chunks, the result holding exit code and tails', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'echo hello; echo oops >&2' } });
    expect(requested.runnerType).toBe('shell');
    await scene.start();
    const done = await waitForStatus(pool, requested.id);
    expect(done).toMatchObject({ status: 'succeeded', error: null, attempt: 1, leaseExpiresAt: null });
    expect(done.result).toMatchObject({ exit_code: 0, stdout: 'hello', stderr: 'oops', succeeded: true });
    expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout')).toBe('hello\n');
    expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stderr')).toBe('oops\n');
  });

  it('shell: failure, with the exit code and the error', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'exit 3' } });
    await scene.start();
    const done = await waitForStatus(pool, requested.id);
    expect(done).toMatchObject({ status: 'failed', error: 'the process exited with code 3' });
    expect(done.result).toMatchObject({ exit_code: 3 });
  });

  it('timeout: the execution timeout kills the process group and ends in timeout', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 30' }, timeoutSeconds: 1 });
    await scene.start();
    const done = await waitForStatus(pool, requested.id);
    expect(done.status).toBe('timeout');
    expect(done.error).toContain('did not finish within 1 seconds');
  });

  it('noop succeeds; a runner type the worker does not serve is never claimed', async () => {
    const noop = await actionOn(pool, 'noop');
    const shell = await actionOn(pool, 'shell');
    const a = await ExecutionRepository.create(pool, { actionId: noop.id });
    const b = await ExecutionRepository.create(pool, { actionId: shell.id, params: { cmd: 'true' } });
    await scene.start({ runnerTypes: ['noop'] });
    expect((await waitForStatus(pool, a.id)).status).toBe('succeeded');
    expect((await ExecutionRepository.getById(pool, b.id)).status).toBe('requested');
  });

  it('output larger than the cap is stored up to the cap, with the marker, and the run still succeeds', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'head -c 300000 /dev/zero | tr "\\0" x; echo; echo done' } });
    await scene.start({ outputCapBytes: 100_000 });
    const done = await waitForStatus(pool, requested.id);
    expect(done.status).toBe('succeeded');
    const stdout = await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout');
    expect(stdout).toContain('[output truncated at 100000 bytes]');
    expect(stdout.replace(/\n\[output truncated at 100000 bytes\]\n$/, '')).toHaveLength(100_000);
    expect(stdout).not.toContain('done');
  });

  it('a background child forked by the action is killed with its group when the run times out', async () => {
    const action = await actionOn(pool, 'shell');
    const marker = `${scene.dataDir}/child-pid`;
    const requested = await ExecutionRepository.create(pool, {
      actionId: action.id,
      params: { cmd: `sleep 60 & echo $! > ${marker}; wait` },
      timeoutSeconds: 1,
    });
    await scene.start();
    const done = await waitForStatus(pool, requested.id);
    expect(done.status).toBe('timeout');
    const { readFile } = await import('node:fs/promises');
    const childPid = Number((await readFile(marker, 'utf8')).trim());
    // Gone, or a zombie waiting for a reaper (a container's pid 1 may not reap): either way not running.
    const state = await readFile(`/proc/${childPid}/stat`, 'utf8').then((stat) => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), () => 'gone');
    expect(['gone', 'Z', 'X']).toContain(state);
  });
});

describe('cancel', () => {
  it('a running execution goes to canceling, the worker kills it, and it ends canceled', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 30' } });
    // This worker has no listener: it learns of the cancel at its next renewal, every third of the lease (2 s here).
    await scene.start({ leaseSeconds: 6 });
    await waitFor(async () => ((await ExecutionRepository.getById(pool, requested.id)).pgid ?? undefined), 'the process group');
    const { execution } = await cancelExecution(pool, requested.id);
    expect(execution.status).toBe('canceling');
    const done = await waitForStatus(pool, requested.id);
    expect(done).toMatchObject({ status: 'canceled', error: 'the execution was canceled' });
  });

  it('a requested execution is canceled at once, and a parent cancel cascades to its children', async () => {
    const action = await actionOn(pool, 'noop');
    const parent = await ExecutionRepository.create(pool, { actionId: action.id });
    const child = await ExecutionRepository.create(pool, { actionId: action.id, parentId: parent.id });
    const grandchild = await ExecutionRepository.create(pool, { actionId: action.id, parentId: child.id });
    const result = await cancelExecution(pool, parent.id);
    expect(result.execution.status).toBe('canceled');
    expect(result.descendants.map((e) => [e.id, e.status])).toEqual([
      [child.id, 'canceled'],
      [grandchild.id, 'canceled'],
    ]);
  });
});

describe('retries', () => {
  it('a failing run is retried up to max_attempts with back-off, and every attempt is kept', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'echo try; exit 1' }, maxAttempts: 3 });
    await scene.start({ backoff: { baseSeconds: 1, capSeconds: 1 } });
    const done = await waitForStatus(pool, requested.id);
    expect(done).toMatchObject({ status: 'failed', attempt: 3 });
    const attempts = await ExecutionAttemptRepository.listForExecution(pool, requested.id);
    expect(attempts.map((a) => [a.attempt, a.status, a.current])).toEqual([
      [1, 'failed', false],
      [2, 'failed', false],
      [3, 'failed', true],
    ]);
    // The back-off: each retry waited at least its second before it was claimed again.
    expect(attempts[1]!.startedAt!.getTime() - attempts[0]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(900);
    // Output of each attempt is kept apart.
    for (const attempt of [1, 2, 3]) expect(await ExecutionOutputRepository.text(pool, requested.id, attempt, 'stdout')).toBe('try\n');
  });

  it('a timed-out run is retried only with retryOnTimeout', async () => {
    const action = await actionOn(pool, 'shell');
    const plain = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 10' }, timeoutSeconds: 1, maxAttempts: 2 });
    const retried = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 10' }, timeoutSeconds: 1, maxAttempts: 2, retryOnTimeout: true });
    await scene.start();
    expect(await waitForStatus(pool, plain.id)).toMatchObject({ status: 'timeout', attempt: 1 });
    expect(await waitForStatus(pool, retried.id)).toMatchObject({ status: 'timeout', attempt: 2 });
  });
});

describe('registration and stop', () => {
  it('registers its row with a session and heartbeats; stop marks it inactive', async () => {
    const started = await scene.start({ name: 'worker-under-test' });
    const row = await WorkerRepository.getByName(pool, 'worker-under-test');
    expect(row).toMatchObject({ id: started.workerId, status: 'active' });
    expect(row.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.capabilities).toMatchObject({ slots: 4 });
    await started.stop();
    scene.worker = undefined;
    expect((await WorkerRepository.getByName(pool, 'worker-under-test')).status).toBe('inactive');
  });

  it('graceful stop lets a running execution finish within the grace period', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 1; echo finished' } });
    const started = await scene.start({ graceSeconds: 20 });
    // Started, not just claimed: a claim whose runner has not started yet is handed back by stop.
    await waitFor(async () => ((await ExecutionRepository.getById(pool, requested.id)).pgid ?? undefined), 'the process group');
    await started.stop();
    scene.worker = undefined;
    expect(await ExecutionRepository.getById(pool, requested.id)).toMatchObject({ status: 'succeeded', result: expect.objectContaining({ stdout: 'finished' }) });
  });

  it('past the grace period the run is killed and left to the lease sweep (nothing written by the worker)', async () => {
    const action = await actionOn(pool, 'shell');
    const requested = await ExecutionRepository.create(pool, { actionId: action.id, params: { cmd: 'sleep 30' } });
    const started = await scene.start({ graceSeconds: 0 });
    await waitFor(async () => ((await ExecutionRepository.getById(pool, requested.id)).pgid ?? undefined), 'the process group');
    await started.stop();
    scene.worker = undefined;
    const left = await ExecutionRepository.getById(pool, requested.id);
    expect(left.status).toBe('running');
    const [swept] = await ExecutionRepository.expireLeases(pool, { asOf: new Date(Date.now() + 60_000) });
    expect(swept).toMatchObject({ id: requested.id, status: 'abandoned' });
  });

  it('a run whose runner never started is handed back to requested without using an attempt', async () => {
    const action = await actionOn(pool, 'noop');
    const [claimed] = await (async () => {
      const execution = await ExecutionRepository.create(pool, { actionId: action.id });
      const w = await WorkerRepository.register(pool, { name: 'hand-back', session: 'session-1' });
      return ExecutionRepository.claimAndStart(pool, { workerId: w.id, defaultTimeoutSeconds: 10 }).then((rows) => (expect(rows[0]!.id).toBe(execution.id), rows));
    })();
    expect(claimed!.status).toBe('running');
    const handed = await ExecutionRepository.handBack(pool, [{ id: claimed!.id, fence: { workerId: claimed!.workerId!, attempt: 1 } }]);
    expect(handed).toEqual([claimed!.id]);
    expect(await ExecutionRepository.getById(pool, claimed!.id)).toMatchObject({ status: 'requested', attempt: 1, workerId: null, startedAt: null });
  });
});
