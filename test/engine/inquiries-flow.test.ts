/**
 * Inquiries end to end: core.ask-style actions pause their execution through
 * the worker; respondToInquiry validates against the schema and accepts one
 * answer; the maintenance role times out what nobody answered. Also the
 * fencing of output chunks and heartbeats from a stale worker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { respondToInquiry } from '../../src/engine/inquiries.js';
import { createMaintenanceRole } from '../../src/engine/maintenance.js';
import { IllegalStateChangeError, ValidationError } from '../../src/errors.js';
import { ExecutionOutputRepository, ExecutionRepository, fenceOf } from '../../src/repositories/executions.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import { WorkerRepository } from '../../src/repositories/workers.js';
import { createTestPool, expectErrorType } from '../../src/testing/index.js';
import { actionOn, silentLogger, useWorkerScene, waitFor, waitForStatus } from '../worker/worker-support.js';

const pool = createTestPool();
const scene = useWorkerScene(pool);
afterAll(() => pool.end());

const schema = { type: 'object', properties: { approve: { type: 'boolean' } }, required: ['approve'] };

async function askedInquiry(params: Record<string, unknown> = { schema, ttl: 60, route: 'ops', users: ['alice'] }) {
  const action = await actionOn(pool, 'inquiry');
  const execution = await ExecutionRepository.create(pool, { actionId: action.id, params });
  await scene.start();
  await waitForStatus(pool, execution.id, ['paused']);
  const inquiry = await waitFor(async () => (await InquiryRepository.list(pool, { executionId: execution.id })).items[0], 'the inquiry');
  return { execution, inquiry };
}

describe('inquiries', () => {
  it('the inquiry runner creates the inquiry and pauses the execution outside any lease', async () => {
    const { execution, inquiry } = await askedInquiry();
    expect(inquiry).toMatchObject({ status: 'pending', route: 'ops', users: ['alice'], roles: [], responseSchema: schema });
    expect(inquiry.timeoutAt!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(await ExecutionRepository.getById(pool, execution.id)).toMatchObject({ status: 'paused', leaseExpiresAt: null });
    expect(scene.worker!.activeExecutionIds).toEqual([]);
  });

  it('a response that breaks the schema is refused naming the field, and changes nothing; a valid one succeeds the execution', async () => {
    const { execution, inquiry } = await askedInquiry();
    const bad = await expectErrorType(respondToInquiry(pool, inquiry.id, { approve: 'yes' }), ValidationError);
    expect(bad.field).toBe('response.approve');
    expect((await InquiryRepository.getById(pool, inquiry.id)).status).toBe('pending');
    const { execution: done } = await respondToInquiry(pool, inquiry.id, { approve: true });
    expect(done).toMatchObject({ id: execution.id, status: 'succeeded', result: { approve: true } });
  });

  it('of two concurrent answers exactly one wins; the other gets IllegalStateChangeError', async () => {
    const { inquiry } = await askedInquiry();
    const results = await Promise.allSettled([respondToInquiry(pool, inquiry.id, { approve: true }), respondToInquiry(pool, inquiry.id, { approve: false })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(IllegalStateChangeError);
  });

  it('past timeout_at the maintenance role times out the inquiry and its execution', async () => {
    const { execution, inquiry } = await askedInquiry();
    await pool.query("UPDATE inquiries SET timeout_at = now() - interval '1 second' WHERE id = $1", [inquiry.id]);
    const maintenance = createMaintenanceRole({ pool, logger: silentLogger, intervalMs: 60_000, deadlineGraceSeconds: 0, backoff: { baseSeconds: 0, capSeconds: 0 }, outputRetentionDays: 30 });
    const report = await maintenance.sweep();
    expect(report.inquiriesTimedOut).toBe(1);
    expect((await InquiryRepository.getById(pool, inquiry.id)).status).toBe('timeout');
    expect(await ExecutionRepository.getById(pool, execution.id)).toMatchObject({ status: 'timeout' });
    expect((await maintenance.sweep()).inquiriesTimedOut).toBe(0);
  });
});

describe('fencing of a stale worker', () => {
  it('output chunks and heartbeats from a worker that lost its lease or its row change nothing', async () => {
    const action = await actionOn(pool, 'noop');
    const execution = await ExecutionRepository.create(pool, { actionId: action.id, maxAttempts: 2 });
    const stale = await WorkerRepository.register(pool, { name: 'stale', session: 'old-session' });
    const [claimed] = await ExecutionRepository.claimAndStart(pool, { workerId: stale.id, defaultTimeoutSeconds: 60 });
    const fence = fenceOf(claimed!);
    expect(await ExecutionOutputRepository.append(pool, execution.id, fence, [{ seq: 0, stream: 'stdout', data: 'mine' }])).toBe(1);
    // The lease passes: the sweep retries the execution and another worker takes it.
    await ExecutionRepository.expireLeases(pool, { asOf: new Date(Date.now() + 3600_000) });
    const fresh = await WorkerRepository.register(pool, { name: 'fresh', session: 'fresh-session' });
    const [retaken] = await ExecutionRepository.claimAndStart(pool, { workerId: fresh.id, defaultTimeoutSeconds: 60 });
    expect(retaken).toMatchObject({ id: execution.id, attempt: 2 });
    expect(await ExecutionOutputRepository.append(pool, execution.id, fence, [{ seq: 1, stream: 'stdout', data: 'stale' }])).toBe(0);
    expect((await ExecutionOutputRepository.read(pool, execution.id)).map((chunk) => chunk.data)).toEqual(['mine']);
    expect(await ExecutionRepository.recordProcessGroup(pool, execution.id, fence, 4242)).toBe(false);
    // The row's name is taken over by a new process: the old session's heartbeats count for nothing.
    await WorkerRepository.register(pool, { name: 'stale', session: 'new-session' });
    expect(await WorkerRepository.sessionHeartbeat(pool, stale.id, 'old-session', { status: 'busy' })).toBe(false);
    expect((await WorkerRepository.getById(pool, stale.id)).status).toBe('active');
    expect(await WorkerRepository.sessionHeartbeat(pool, stale.id, 'new-session')).toBe(true);
  });
});
