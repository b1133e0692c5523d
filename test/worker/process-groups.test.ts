/**
 * recordProcessGroups: the worker's batched write of its runs' process
 * groups, each fenced like recordProcessGroup (worker, attempt, live lease),
 * one statement for all.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ExecutionRepository, fenceOf } from '../../src/repositories/executions.js';
import { ExecutionFixture } from '../../src/testing/fixtures/executions.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { expectErrorType } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';
import { recording } from '../support/sql.js';

const ctx = useTransactionPerTest();

describe('recordProcessGroups', () => {
  it('writes the groups whose fence holds, in one statement, and skips the others', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const other = await new WorkerFixture().create(ctx.db);
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => new ExecutionFixture().withStatus('running').onWorker(worker, 60).create(ctx.db)));
    const expired = d!;
    await ctx.db.query(`UPDATE executions SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = $1`, [expired.id]);
    const db = recording(ctx.db, { inTransaction: true });
    const written = await ExecutionRepository.recordProcessGroups(db, [
      { id: a!.id, fence: fenceOf(a!), pgid: 1001 },
      { id: b!.id, fence: fenceOf(b!), pgid: 1002 },
      { id: c!.id, fence: { workerId: other.id, attempt: 1 }, pgid: 1003 },
      { id: expired.id, fence: fenceOf(expired), pgid: 1004 },
    ]);
    expect(db.statements).toHaveLength(1);
    expect(written.sort((x, y) => x - y)).toEqual([a!.id, b!.id].sort((x, y) => x - y));
    const pgids = await Promise.all([a, b, c, expired].map(async (e) => (await ExecutionRepository.getById(ctx.db, e!.id)).pgid));
    expect(pgids).toEqual([1001, 1002, null, null]);
  });

  it('refuses a pgid that is no process group, before any SQL', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const running = await new ExecutionFixture().withStatus('running').onWorker(worker, 60).create(ctx.db);
    const error = await expectErrorType(ExecutionRepository.recordProcessGroups(ctx.db, [{ id: running.id, fence: fenceOf(running), pgid: 1 }]), ValidationError);
    expect(error.field).toBe('pgid');
    expect(await ExecutionRepository.recordProcessGroups(ctx.db, [])).toEqual([]);
  });
});
