import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RUNTIME_KINDS, RuntimeRepository, type RuntimeFilter } from '../../src/repositories/runtimes.js';
import { WorkerRepository } from '../../src/repositories/workers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { RuntimeFixture } from '../../src/testing/fixtures/runtimes.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { WorkerFixture } from '../../src/testing/fixtures/workers.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

/** Rows of the seeded volume the plan tests query: a pack and its ref. */
interface SeededRuntimes {
  packId: number;
  packRef: string;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 1,000 packs with three runtimes each and 300 built-in runtimes
 * (3,300 rows). Kind python is rare (about 10 rows); a pack has three.
 */
async function seedRuntimes(db: Executor): Promise<SeededRuntimes> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH p AS (
       INSERT INTO packs (ref, version, name)
       SELECT $1 || '_' || g, '1.0.0', 'Seeded pack' FROM generate_series(1, 1000) AS g
       RETURNING id, ref
     ),
     r AS (
       SELECT p.id AS pack_id, p.ref AS pack_ref, 'rt' || i AS name, p.id * 3 + i AS n FROM p CROSS JOIN generate_series(1, 3) AS i
       UNION ALL
       SELECT NULL, $1 || '_builtin_' || g, 'rt', g FROM generate_series(1, 300) AS g
     )
     INSERT INTO runtimes (pack_id, pack_ref, name, ref, kind)
     SELECT pack_id, pack_ref, name, pack_ref || '.' || name,
            CASE WHEN n % 330 = 0 THEN 'python' ELSE (ARRAY['shell', 'node', 'http', 'native', 'container'])[1 + n % 5] END
       FROM r`,
    [prefix],
  );
  await analyze(db, 'packs', 'runtimes');
  const { rows } = await db.query<{ id: number; ref: string }>('SELECT id, ref FROM packs WHERE ref = $1', [`${prefix}_7`]);
  return { packId: rows[0]!.id, packRef: rows[0]!.ref };
}

describe('RuntimeRepository.create', () => {
  it('stores every field for a pack version and derives the ref', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const runtime = await RuntimeRepository.create(ctx.db, {
      packId: pack.id,
      name: 'python3',
      description: 'CPython 3',
      kind: 'python',
      executionConfig: { interpreter: 'python3', args: ['-u'], fileExtension: '.py', env: { PYTHONUNBUFFERED: '1' } },
      distributions: { debian: ['python3'] },
      installation: { venv: true },
    });
    expect(runtime).toMatchObject({
      ref: `${pack.ref}.python3`,
      packId: pack.id,
      packRef: pack.ref,
      name: 'python3',
      description: 'CPython 3',
      kind: 'python',
      executionConfig: { interpreter: 'python3', args: ['-u'], fileExtension: '.py', env: { PYTHONUNBUFFERED: '1' } },
      distributions: { debian: ['python3'] },
      installation: { venv: true },
    });
    expect(typeof runtime.id).toBe('number');
    expect(runtime.createdAt).toBeInstanceOf(Date);
    expect(await RuntimeRepository.getById(ctx.db, runtime.id)).toEqual(runtime);
  });

  it('fills defaults for the optional fields', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const runtime = await RuntimeRepository.create(ctx.db, { packId: pack.id, name: 'sh', kind: 'shell' });
    expect(runtime).toMatchObject({ description: null, executionConfig: {}, distributions: {}, installation: {} });
  });

  it('resolves packRef to the active version of the pack in the same statement', async () => {
    const ref = uniqueName('rtpack');
    await new PackFixture(ref).withVersion('1.0.0').inactive().create(ctx.db);
    const active = await new PackFixture(ref).withVersion('2.0.0').create(ctx.db);
    const runtime = await RuntimeRepository.create(ctx.db, { packRef: ref, name: 'node', kind: 'node' });
    expect(runtime).toMatchObject({ packId: active.id, packRef: ref, ref: `${ref}.node` });
  });

  it('creates a built-in (no pack row) when the packRef has no active version', async () => {
    const core = uniqueName('core');
    const builtIn = await RuntimeRepository.create(ctx.db, { packRef: core, name: 'shell', kind: 'shell' });
    expect(builtIn).toMatchObject({ packId: null, packRef: core, ref: `${core}.shell` });

    const ref = uniqueName('dormant');
    await new PackFixture(ref).inactive().create(ctx.db);
    const besideInactive = await RuntimeRepository.create(ctx.db, { packRef: ref, name: 'x', kind: 'native' });
    expect(besideInactive.packId).toBeNull();
  });

  it('takes packRef from the pack when only packId is given, and checks it when both are', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const both = await RuntimeRepository.create(ctx.db, { packId: pack.id, packRef: pack.ref, name: 'a', kind: 'http' });
    expect(both).toMatchObject({ packId: pack.id, ref: `${pack.ref}.a` });
    const mismatch = await expectErrorType(
      RuntimeRepository.create(ctx.db, { packId: pack.id, packRef: 'someone_else', name: 'b', kind: 'http' }),
      InvalidReferenceError,
    );
    expect(mismatch).toMatchObject({ entity: 'runtime', field: 'packId', value: pack.id });
    expect(await RuntimeRepository.findByRef(ctx.db, 'someone_else.b')).toBeNull();
  });

  it('refuses a packId that does not exist with InvalidReferenceError', async () => {
    const error = await expectErrorType(RuntimeRepository.create(ctx.db, { packId: 999_999_999, name: 'x', kind: 'shell' }), InvalidReferenceError);
    expect(error).toMatchObject({ code: 'ATTUNE_INVALID_REFERENCE', field: 'packId', value: 999_999_999 });
  });

  it('requires packRef or packId', async () => {
    const error = await expectErrorType(RuntimeRepository.create(ctx.db, { name: 'x', kind: 'shell' }), ValidationError);
    expect(error.field).toBe('packRef');
  });

  it.each([
    [{ kind: 'ruby' }, 'kind'],
    [{ kind: undefined }, 'kind'],
    [{ name: 'Bad..Name' }, 'name'],
    [{ name: '-bad' }, 'name'],
    [{ name: '' }, 'name'],
    [{ packRef: 'Core' }, 'packRef'],
    [{ packId: 0 }, 'packId'],
    [{ executionConfig: ['not', 'an', 'object'] }, 'executionConfig'],
    [{ nmae: 'typo' }, 'nmae'],
  ])('refuses %j before any SQL runs', async (override, field) => {
    const input = { packRef: 'core', name: 'ok', kind: 'shell', ...override };
    const error = await expectErrorType(RuntimeRepository.create(ctx.db, input as never), ValidationError);
    expect(error).toMatchObject({ entity: 'runtime', field });
  });

  it('rejects a name taken in the same pack version with AlreadyExistsError and keeps the first', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const first = await new RuntimeFixture('dup').forPack(pack).create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new RuntimeFixture('dup').forPack(pack).withKind('python').create(tx)),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ entity: 'runtime', field: 'pack_id, name' });
    expect(await RuntimeRepository.getByRef(ctx.db, `${pack.ref}.dup`)).toEqual(first);
  });
});

describe('runtime lookups', () => {
  it('finds by id and ref; null when absent; NotFoundError from the get variants', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    expect(await RuntimeRepository.findById(ctx.db, runtime.id)).toEqual(runtime);
    expect(await RuntimeRepository.findByRef(ctx.db, runtime.ref)).toEqual(runtime);
    expect(await RuntimeRepository.getByRef(ctx.db, runtime.ref)).toEqual(runtime);
    expect(await RuntimeRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await RuntimeRepository.findByRef(ctx.db, 'absent.runtime')).toBeNull();
    const byId = await expectErrorType(RuntimeRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(byId).toMatchObject({ entity: 'runtime', field: 'id', value: 999_999_999 });
    const byRef = await expectErrorType(RuntimeRepository.getByRef(ctx.db, 'absent.runtime'), NotFoundError);
    expect(byRef).toMatchObject({ entity: 'runtime', field: 'ref', value: 'absent.runtime' });
  });

  it.each(['core', 'core.a..b', 'core.a.', 'Core.shell', '', '.shell'])('refuses the malformed ref %j before any SQL', async (ref) => {
    const error = await expectErrorType(RuntimeRepository.findByRef(ctx.db, ref), ValidationError);
    expect(error.field).toBe('ref');
  });
});

describe('RuntimeRepository.list', () => {
  it('filters by kind, paginates and reports the total', async () => {
    const pack = await new PackFixture().create(ctx.db);
    for (const name of ['c', 'a', 'd', 'b']) await new RuntimeFixture(name).forPack(pack).withKind('container').create(ctx.db);
    await new RuntimeFixture('e').forPack(pack).withKind('shell').create(ctx.db);

    const first = await RuntimeRepository.list(ctx.db, { kind: 'container', packId: pack.id, limit: 3 });
    expect(first).toMatchObject({ total: 4, limit: 3, offset: 0 });
    expect(first.items.map((r) => r.name)).toEqual(['a', 'b', 'c']);
    const second = await RuntimeRepository.list(ctx.db, { kind: 'container', packId: pack.id, limit: 3, offset: 3 });
    expect(second.items.map((r) => r.name)).toEqual(['d']);
    expect(await RuntimeRepository.list(ctx.db, { kind: 'container', packId: pack.id, offset: 10 })).toMatchObject({ items: [], total: 4 });
  });

  it('filters by pack id (one version) and by pack ref (built-ins included)', async () => {
    const packRef = uniqueName('lst');
    const pack = await new PackFixture(packRef).create(ctx.db);
    const owned = await new RuntimeFixture('owned').forPack(pack).create(ctx.db);
    await new RuntimeFixture().create(ctx.db);
    const builtInRef = uniqueName('bi');
    const builtIn = await new RuntimeFixture('sh').builtIn(builtInRef).create(ctx.db);

    expect((await RuntimeRepository.list(ctx.db, { packId: pack.id })).items).toEqual([owned]);
    expect((await RuntimeRepository.list(ctx.db, { packRef })).items).toEqual([owned]);
    expect((await RuntimeRepository.list(ctx.db, { packRef: builtInRef })).items).toEqual([builtIn]);
    expect((await RuntimeRepository.list(ctx.db, { packRef: builtInRef, kind: 'python' })).total).toBe(0);
  });

  it('refuses invalid filter values and pagination before any SQL', async () => {
    await expectErrorType(RuntimeRepository.list(ctx.db, { kind: 'ruby' as never }), ValidationError);
    await expectErrorType(RuntimeRepository.list(ctx.db, { packRef: 'Not A Ref' }), ValidationError);
    await expectErrorType(RuntimeRepository.list(ctx.db, { packId: -3 }), ValidationError);
    await expectErrorType(RuntimeRepository.list(ctx.db, { limit: 0 }), ValidationError);
  });

  it.each([
    ['kind', 'runtimes_kind_idx', () => ({ kind: 'python' })],
    ['packId', 'runtimes_pack_id_name_key', (seeded: SeededRuntimes) => ({ packId: seeded.packId })],
    ['packRef', 'runtimes_pack_ref_idx', (seeded: SeededRuntimes) => ({ packRef: seeded.packRef })],
  ] as const)('serves the %s filter with %s at volume', async (_label, index, filterOf) => {
    const seeded = await seedRuntimes(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => RuntimeRepository.list(db, filterOf(seeded) as RuntimeFilter));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });
});

describe('RuntimeRepository.update and delete', () => {
  it('touches only the fields given, clears with null, and moves updated_at', async () => {
    const runtime = await new RuntimeFixture().withExecutionConfig({ interpreter: 'bash' }).withDescription('before').create(ctx.db);
    const updated = await RuntimeRepository.update(ctx.db, runtime.id, { kind: 'native', installation: { steps: ['x'] } });
    expect(updated).toMatchObject({ kind: 'native', installation: { steps: ['x'] }, executionConfig: { interpreter: 'bash' }, description: 'before' });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(runtime.updatedAt.getTime());
    expect((await RuntimeRepository.update(ctx.db, runtime.id, { description: null })).description).toBeNull();
    expect(await RuntimeRepository.update(ctx.db, runtime.id, {})).toMatchObject({ kind: 'native', description: null });
  });

  it('refuses to change the identity or set an invalid kind; a missing id is NotFoundError', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    for (const patch of [{ name: 'other' }, { packRef: 'other' }, { packId: 1 }, { ref: 'a.b' }, { kind: 'cobol' }]) {
      await expectErrorType(RuntimeRepository.update(ctx.db, runtime.id, patch as never), ValidationError);
    }
    await expectErrorType(RuntimeRepository.update(ctx.db, 999_999_999, { description: 'x' }), NotFoundError);
    await expectErrorType(RuntimeRepository.update(ctx.db, 0, { description: 'x' }), ValidationError);
    expect(await RuntimeRepository.getById(ctx.db, runtime.id)).toEqual(runtime);
  });

  it('delete returns whether a row went', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    expect(await RuntimeRepository.delete(ctx.db, runtime.id)).toBe(true);
    expect(await RuntimeRepository.delete(ctx.db, runtime.id)).toBe(false);
    expect(await RuntimeRepository.findById(ctx.db, runtime.id)).toBeNull();
  });

  it('deleting a runtime keeps its workers and actions with runtimeId null', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const worker = await new WorkerFixture().withRuntime(runtime).create(ctx.db);
    const action = await new ActionFixture().withRuntime(runtime).create(ctx.db);
    expect(worker.runtimeId).toBe(runtime.id);
    expect(action.runtimeId).toBe(runtime.id);
    await RuntimeRepository.delete(ctx.db, runtime.id);
    expect((await WorkerRepository.getById(ctx.db, worker.id)).runtimeId).toBeNull();
    expect((await ActionRepository.getById(ctx.db, action.id)).runtimeId).toBeNull();
  });

  it('deleting a pack removes its runtimes and leaves built-ins alone', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const owned = await new RuntimeFixture().forPack(pack).create(ctx.db);
    const builtIn = await new RuntimeFixture().builtIn().create(ctx.db);
    await PackRepository.delete(ctx.db, pack.id);
    expect(await RuntimeRepository.findById(ctx.db, owned.id)).toBeNull();
    expect(await RuntimeRepository.findById(ctx.db, builtIn.id)).toEqual(builtIn);
  });
});

describe('runtime fixture and kinds', () => {
  it('RUNTIME_KINDS mirrors the runtimes_kind_check constraint', async () => {
    expect(await checkValues(ctx.db, 'runtimes_kind_check')).toEqual([...RUNTIME_KINDS]);
  });

  it('creates a pack for the runtime when none is given, and builds input without one', async () => {
    const runtime = await new RuntimeFixture('fx').withKind('http').create(ctx.db);
    const pack = await PackRepository.getById(ctx.db, runtime.packId!);
    expect(runtime).toMatchObject({ name: 'fx', kind: 'http', ref: `${pack.ref}.fx` });
    expect(new RuntimeFixture('b').build()).toEqual({ name: 'b', kind: 'shell', description: 'Fixture runtime b' });
    expect(new RuntimeFixture().build().name).not.toBe(new RuntimeFixture().build().name);
  });
});
