import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { RuntimeRepository } from '../../src/repositories/runtimes.js';
import { WORKER_STATUSES, WORKER_TYPES, WorkerRepository, type WorkerFilter } from '../../src/repositories/workers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { RuntimeFixture } from '../../src/testing/fixtures/runtimes.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 300 built-in runtimes and 3,000 workers, ten on each runtime.
 * Most workers are inactive local ones with a heartbeat hours old; about ten
 * are active and ten busy with a fresh heartbeat, and about ten are remote.
 * Returns the id of a runtime with ten workers.
 */
async function seedWorkers(db: Executor): Promise<{ runtimeId: number }> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH r AS (
       INSERT INTO runtimes (pack_ref, name, ref, kind)
       SELECT $1 || '_' || g, 'rt', $1 || '_' || g || '.rt', 'shell' FROM generate_series(1, 300) AS g
       RETURNING id
     ),
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM r)
     INSERT INTO workers (name, worker_type, runtime_id, status, last_heartbeat)
     SELECT $1 || '_w' || g,
            CASE WHEN g % 300 = 1 THEN 'remote' WHEN g % 2 = 0 THEN 'local' ELSE 'container' END,
            numbered.id,
            CASE WHEN g % 300 = 2 THEN 'active' WHEN g % 300 = 3 THEN 'busy' WHEN g % 300 = 4 THEN 'error' ELSE 'inactive' END,
            CASE WHEN g % 300 IN (2, 3) THEN now() - interval '5 seconds' ELSE now() - (g || ' minutes')::interval - interval '1 hour' END
       FROM generate_series(1, 3000) AS g JOIN numbered ON numbered.k = 1 + g % 300`,
    [prefix],
  );
  await analyze(db, 'runtimes', 'workers');
  const { rows } = await db.query<{ id: number }>('SELECT id FROM runtimes WHERE pack_ref = $1', [`${prefix}_7`]);
  return { runtimeId: rows[0]!.id };
}

/** Moves a worker's heartbeat `seconds` into the past (relative to the transaction's now()). */
async function ageHeartbeat(id: number, seconds: number): Promise<void> {
  await ctx.db.query(`UPDATE workers SET last_heartbeat = now() - make_interval(secs => $2) WHERE id = $1`, [id, seconds]);
}

describe('WorkerRepository.create', () => {
  it('stores every field', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const name = uniqueName('w');
    const worker = await WorkerRepository.create(ctx.db, {
      name,
      workerType: 'container',
      runtimeId: runtime.id,
      host: 'worker-1.internal',
      port: 8443,
      status: 'busy',
      capabilities: { runtimes: ['shell', 'python'], concurrency: 4, labels: { zone: 'a' } },
      meta: { version: '1.2.3' },
    });
    expect(worker).toMatchObject({
      name,
      workerType: 'container',
      runtimeId: runtime.id,
      host: 'worker-1.internal',
      port: 8443,
      status: 'busy',
      capabilities: { runtimes: ['shell', 'python'], concurrency: 4, labels: { zone: 'a' } },
      meta: { version: '1.2.3' },
      lastHeartbeat: null,
    });
    expect(worker.createdAt).toBeInstanceOf(Date);
    expect(await WorkerRepository.getById(ctx.db, worker.id)).toEqual(worker);
  });

  it('defaults to a local, inactive worker with no runtime', async () => {
    const worker = await WorkerRepository.create(ctx.db, { name: uniqueName('w') });
    expect(worker).toMatchObject({ workerType: 'local', status: 'inactive', runtimeId: null, host: null, port: null, capabilities: {}, meta: {} });
  });

  it('accepts ports 1 and 65535', async () => {
    expect((await new WorkerFixture().withPort(1).create(ctx.db)).port).toBe(1);
    expect((await new WorkerFixture().withPort(65_535).create(ctx.db)).port).toBe(65_535);
  });

  it.each([
    [{ port: 0 }, 'port'],
    [{ port: 65_536 }, 'port'],
    [{ port: 80.5 }, 'port'],
    [{ port: '80' }, 'port'],
    [{ workerType: 'cloud' }, 'workerType'],
    [{ status: 'sleeping' }, 'status'],
    [{ name: '' }, 'name'],
    [{ name: undefined }, 'name'],
    [{ runtimeId: -1 }, 'runtimeId'],
    [{ capabilities: 'all' }, 'capabilities'],
    [{ lastHeartbeat: new Date() }, 'lastHeartbeat'],
  ])('refuses %j before any SQL runs', async (override, field) => {
    const input = { name: 'ok', ...override };
    const error = await expectErrorType(WorkerRepository.create(ctx.db, input as never), ValidationError);
    expect(error).toMatchObject({ entity: 'worker', field });
  });

  it('rejects a taken name with AlreadyExistsError', async () => {
    const first = await new WorkerFixture().create(ctx.db);
    const error = await expectErrorType(withTransaction(ctx.db, (tx) => new WorkerFixture(first.name).create(tx)), AlreadyExistsError);
    expect(error).toMatchObject({ entity: 'worker', field: 'name', value: first.name });
    expect(await WorkerRepository.getByName(ctx.db, first.name)).toEqual(first);
  });

  it('rejects a runtime that does not exist with InvalidReferenceError', async () => {
    const name = uniqueName('w');
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => WorkerRepository.create(tx, { name, runtimeId: 999_999_999 })),
      InvalidReferenceError,
    );
    expect(error).toMatchObject({ entity: 'worker', field: 'runtime_id' });
    expect(await WorkerRepository.findByName(ctx.db, name)).toBeNull();
  });
});

describe('worker lookups', () => {
  it('finds by id and name; null when absent; NotFoundError from the get variants', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    expect(await WorkerRepository.findById(ctx.db, worker.id)).toEqual(worker);
    expect(await WorkerRepository.findByName(ctx.db, worker.name)).toEqual(worker);
    expect(await WorkerRepository.getByName(ctx.db, worker.name)).toEqual(worker);
    const absent = uniqueName('absent');
    expect(await WorkerRepository.findByName(ctx.db, absent)).toBeNull();
    expect(await WorkerRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await expectErrorType(WorkerRepository.getByName(ctx.db, absent), NotFoundError)).toMatchObject({ field: 'name', value: absent });
    expect(await expectErrorType(WorkerRepository.getById(ctx.db, 999_999_999), NotFoundError)).toMatchObject({ field: 'id' });
  });

  it('refuses a malformed id or name before any SQL', async () => {
    await expectErrorType(WorkerRepository.findById(ctx.db, 0), ValidationError);
    await expectErrorType(WorkerRepository.findByName(ctx.db, ''), ValidationError);
    await expectErrorType(WorkerRepository.findByName(ctx.db, 42 as never), ValidationError);
  });
});

describe('WorkerRepository.list', () => {
  it('filters by runtime and status, paginates by name and reports the total', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const prefix = uniqueName('lw');
    for (const suffix of ['c', 'a', 'b']) await new WorkerFixture(`${prefix}_${suffix}`).withRuntime(runtime).withStatus('active').create(ctx.db);
    await new WorkerFixture(`${prefix}_d`).withRuntime(runtime).withStatus('error').create(ctx.db);
    await new WorkerFixture().withStatus('active').create(ctx.db);

    const page = await WorkerRepository.list(ctx.db, { runtimeId: runtime.id, status: 'active', limit: 2 });
    expect(page).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(page.items.map((w) => w.name)).toEqual([`${prefix}_a`, `${prefix}_b`]);
    const rest = await WorkerRepository.list(ctx.db, { runtimeId: runtime.id, status: 'active', limit: 2, offset: 2 });
    expect(rest.items.map((w) => w.name)).toEqual([`${prefix}_c`]);
    expect((await WorkerRepository.list(ctx.db, { runtimeId: runtime.id })).total).toBe(4);
    expect((await WorkerRepository.list(ctx.db, { runtimeId: runtime.id, status: 'error' })).items.map((w) => w.name)).toEqual([`${prefix}_d`]);
  });

  it('filters by worker type', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const remote = await new WorkerFixture().withRuntime(runtime).withType('remote').create(ctx.db);
    await new WorkerFixture().withRuntime(runtime).withType('local').create(ctx.db);
    expect((await WorkerRepository.list(ctx.db, { runtimeId: runtime.id, workerType: 'remote' })).items).toEqual([remote]);
    const remotes = await WorkerRepository.list(ctx.db, { workerType: 'remote', limit: 1000 });
    expect(remotes.items.every((w) => w.workerType === 'remote')).toBe(true);
    expect(remotes.items.map((w) => w.id)).toContain(remote.id);
  });

  it('refuses invalid filter values before any SQL', async () => {
    await expectErrorType(WorkerRepository.list(ctx.db, { status: 'asleep' as never }), ValidationError);
    await expectErrorType(WorkerRepository.list(ctx.db, { workerType: 'cloud' as never }), ValidationError);
    await expectErrorType(WorkerRepository.list(ctx.db, { runtimeId: 1.5 }), ValidationError);
    await expectErrorType(WorkerRepository.list(ctx.db, { offset: -1 }), ValidationError);
  });

  it.each([
    ['status', 'workers_status_heartbeat_idx', () => ({ status: 'active' })],
    ['workerType', 'workers_worker_type_idx', () => ({ workerType: 'remote' })],
    ['runtimeId', 'workers_runtime_id_idx', (seeded: { runtimeId: number }) => ({ runtimeId: seeded.runtimeId })],
  ] as const)('serves the %s filter with %s at volume', async (_label, index, filterOf) => {
    const seeded = await seedWorkers(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => WorkerRepository.list(db, filterOf(seeded) as WorkerFilter));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });
});

describe('worker heartbeats', () => {
  it('sets last_heartbeat to now and makes an inactive worker active', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    expect(worker).toMatchObject({ status: 'inactive', lastHeartbeat: null });
    const beat = await WorkerRepository.heartbeat(ctx.db, worker.id);
    const { rows } = await ctx.db.query<{ now: Date }>('SELECT now() AS now');
    expect(beat.status).toBe('active');
    expect(beat.lastHeartbeat).toEqual(rows[0]!.now);
  });

  it('keeps a busy or errored worker in its status unless told otherwise', async () => {
    const busy = await new WorkerFixture().withStatus('busy').create(ctx.db);
    expect((await WorkerRepository.heartbeat(ctx.db, busy.id)).status).toBe('busy');
    const failed = await new WorkerFixture().withStatus('error').create(ctx.db);
    expect((await WorkerRepository.heartbeat(ctx.db, failed.id, {})).status).toBe('error');
    expect((await WorkerRepository.heartbeat(ctx.db, failed.id, { status: 'active' })).status).toBe('active');
    expect((await WorkerRepository.heartbeat(ctx.db, busy.id, { status: 'inactive' })).status).toBe('inactive');
  });

  it('refuses an unknown status or field, a malformed id, and a missing worker', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    await expectErrorType(WorkerRepository.heartbeat(ctx.db, worker.id, { status: 'alive' as never }), ValidationError);
    await expectErrorType(WorkerRepository.heartbeat(ctx.db, worker.id, { stauts: 'busy' } as never), ValidationError);
    await expectErrorType(WorkerRepository.heartbeat(ctx.db, -1), ValidationError);
    expect(await expectErrorType(WorkerRepository.heartbeat(ctx.db, 999_999_999), NotFoundError)).toMatchObject({ entity: 'worker', value: 999_999_999 });
    expect((await WorkerRepository.getById(ctx.db, worker.id)).lastHeartbeat).toBeNull();
  });

  it('listLive returns active and busy workers with a recent heartbeat, most recent first', async () => {
    const active = await new WorkerFixture().create(ctx.db);
    const busy = await new WorkerFixture().withStatus('busy').create(ctx.db);
    const errored = await new WorkerFixture().withStatus('error').create(ctx.db);
    const stopped = await new WorkerFixture().create(ctx.db);
    const stale = await new WorkerFixture().create(ctx.db);
    const silent = await new WorkerFixture().withStatus('active').create(ctx.db);
    for (const worker of [active, busy, errored, stopped, stale]) await WorkerRepository.heartbeat(ctx.db, worker.id);
    await WorkerRepository.heartbeat(ctx.db, stopped.id, { status: 'inactive' });
    await ageHeartbeat(busy.id, 10);
    await ageHeartbeat(stale.id, 31);

    const live = (await WorkerRepository.listLive(ctx.db)).map((w) => w.id);
    expect(live.filter((id) => [active.id, busy.id, errored.id, stopped.id, stale.id, silent.id].includes(id))).toEqual([active.id, busy.id]);
    expect((await WorkerRepository.listLive(ctx.db, { withinSeconds: 5 })).map((w) => w.id)).not.toContain(busy.id);
    expect((await WorkerRepository.listLive(ctx.db, { withinSeconds: 60 })).map((w) => w.id)).toContain(stale.id);
  });

  it('listLive refuses a window that is not a positive number of seconds', async () => {
    for (const withinSeconds of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '30' as never]) {
      await expectErrorType(WorkerRepository.listLive(ctx.db, { withinSeconds }), ValidationError);
    }
  });

  it('listLive is served by the (status, last_heartbeat) index', async () => {
    await seedWorkers(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => WorkerRepository.listLive(db));
    expect(plan.indexes).toContain('workers_status_heartbeat_idx');
    expect(plan.seqScans).toEqual([]);
  });
});

describe('WorkerRepository.update and delete', () => {
  it('touches only the fields given, clears with null, and moves updated_at', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const worker = await new WorkerFixture().withRuntime(runtime).withHost('h1', 9000).withMeta({ a: 1 }).create(ctx.db);
    const updated = await WorkerRepository.update(ctx.db, worker.id, { port: 9001, status: 'error' });
    expect(updated).toMatchObject({ port: 9001, status: 'error', host: 'h1', meta: { a: 1 }, runtimeId: runtime.id });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(worker.updatedAt.getTime());
    const cleared = await WorkerRepository.update(ctx.db, worker.id, { runtimeId: null, port: null });
    expect(cleared).toMatchObject({ runtimeId: null, port: null, host: 'h1' });
  });

  it('refuses invalid values, maps a taken name and a missing runtime, and NotFoundError for a missing id', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    const other = await new WorkerFixture().create(ctx.db);
    await expectErrorType(WorkerRepository.update(ctx.db, worker.id, { port: 70_000 }), ValidationError);
    await expectErrorType(WorkerRepository.update(ctx.db, worker.id, { status: 'gone' as never }), ValidationError);
    await expectErrorType(withTransaction(ctx.db, (tx) => WorkerRepository.update(tx, worker.id, { name: other.name })), AlreadyExistsError);
    await expectErrorType(withTransaction(ctx.db, (tx) => WorkerRepository.update(tx, worker.id, { runtimeId: 999_999_999 })), InvalidReferenceError);
    await expectErrorType(WorkerRepository.update(ctx.db, 999_999_999, { port: 80 }), NotFoundError);
    expect(await WorkerRepository.getById(ctx.db, worker.id)).toEqual(worker);
    const renamed = await WorkerRepository.update(ctx.db, worker.id, { name: `${worker.name}_renamed` });
    expect(renamed.name).toBe(`${worker.name}_renamed`);
  });

  it('delete returns whether a row went', async () => {
    const worker = await new WorkerFixture().create(ctx.db);
    expect(await WorkerRepository.delete(ctx.db, worker.id)).toBe(true);
    expect(await WorkerRepository.delete(ctx.db, worker.id)).toBe(false);
    expect(await WorkerRepository.findById(ctx.db, worker.id)).toBeNull();
  });

  it('a deleted runtime leaves the worker with runtimeId null', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const worker = await new WorkerFixture().withRuntime(runtime).create(ctx.db);
    await RuntimeRepository.delete(ctx.db, runtime.id);
    expect(await WorkerRepository.getById(ctx.db, worker.id)).toMatchObject({ runtimeId: null, name: worker.name });
  });
});

describe('worker constants and fixture', () => {
  it('WORKER_TYPES and WORKER_STATUSES mirror the CHECK constraints', async () => {
    expect(await checkValues(ctx.db, 'workers_worker_type_check')).toEqual([...WORKER_TYPES]);
    expect(await checkValues(ctx.db, 'workers_status_check')).toEqual([...WORKER_STATUSES]);
  });

  it('builds a unique local worker by default', async () => {
    const a = new WorkerFixture().build();
    const b = new WorkerFixture().build();
    expect(a.name).not.toBe(b.name);
    expect(new WorkerFixture('n').withType('remote').with({ meta: { x: 1 } }).build()).toEqual({ name: 'n', workerType: 'remote', host: 'localhost', meta: { x: 1 } });
  });
});
