import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ActionRepository, RUNNER_TYPES, escapeLike, type ActionFilter } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuntimeRepository } from '../../src/repositories/runtimes.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { RuntimeFixture } from '../../src/testing/fixtures/runtimes.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

/** Rows of the seeded volume the plan tests query: an active pack version, its ref, and the ref of one of its actions. */
interface SeededActions {
  packId: number;
  packRef: string;
  actionRef: string;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 250 pack refs with four installed versions each (one active),
 * three actions in every version (3,000 actions). Every filtered value is
 * rare (about 10 rows): runner type python, the tag ops, names containing
 * deploy, and enabled = false (or, with `enabled: 'rare'`, enabled = true).
 */
async function seedActions(db: Executor, options: { enabled?: 'common' | 'rare' } = {}): Promise<SeededActions> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH p AS (
       INSERT INTO packs (ref, version, name, is_active)
       SELECT $1 || '_' || (g % 250), (g / 250) || '.0.0', 'Seeded pack', g / 250 = 3
         FROM generate_series(0, 999) AS g
       RETURNING id, ref
     )
     INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type, enabled, tags)
     SELECT p.id, p.ref, x.name, p.ref || '.' || x.name,
            CASE WHEN x.n % 300 = 0 THEN 'python' ELSE (ARRAY['shell', 'http', 'node'])[1 + x.n % 3] END,
            (x.n % 300 = 1) = $2::boolean,
            ARRAY['team' || x.n % 40] || CASE WHEN x.n % 300 = 2 THEN ARRAY['ops'] ELSE ARRAY[]::text[] END
       FROM p
       CROSS JOIN generate_series(1, 3) AS i
       CROSS JOIN LATERAL (
         SELECT p.id * 3 + i AS n,
                CASE WHEN (p.id * 3 + i) % 300 = 3 THEN 'deploy_' || i
                     ELSE (ARRAY['create', 'delete', 'list', 'get', 'update', 'restart', 'stop'])[1 + (p.id * 3 + i) % 7]
                          || '_' || (ARRAY['vm', 'disk', 'user', 'host', 'service', 'volume'])[1 + (p.id * 3 + i) % 6] || '_' || i
                END AS name
       ) AS x`,
    [prefix, options.enabled === 'rare'],
  );
  await analyze(db, 'packs', 'actions');
  const { rows } = await db.query<{ pack_id: number; pack_ref: string; ref: string }>(
    'SELECT a.pack_id, a.pack_ref, a.ref FROM actions a JOIN packs p ON p.id = a.pack_id AND p.is_active WHERE p.ref = $1 ORDER BY a.id LIMIT 1',
    [`${prefix}_7`],
  );
  return { packId: rows[0]!.pack_id, packRef: rows[0]!.pack_ref, actionRef: rows[0]!.ref };
}

describe('ActionRepository.create', () => {
  it('stores every field for a pack version and derives the ref', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const runtime = await new RuntimeFixture().forPack(pack).withKind('python').create(ctx.db);
    const input = {
      packId: pack.id,
      name: 'create_vm',
      label: 'Create VM',
      description: 'Creates a virtual machine',
      runnerType: 'python' as const,
      entryPoint: 'actions/create_vm.py',
      runtimeId: runtime.id,
      enabled: false,
      paramSchema: { type: 'object', required: ['size'], properties: { size: { type: 'string', enum: ['s', 'm'] } } },
      outputSchema: { type: 'object' },
      timeoutSeconds: 600,
      tags: ['cloud', 'vm'],
    };
    const action = await ActionRepository.create(ctx.db, input);
    expect(action).toMatchObject({ ...input, packRef: pack.ref, ref: `${pack.ref}.create_vm` });
    expect(typeof action.id).toBe('number');
    expect(action.createdAt).toBeInstanceOf(Date);
    expect(await ActionRepository.getById(ctx.db, action.id)).toEqual(action);
  });

  it('fills defaults for the optional fields', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const action = await ActionRepository.create(ctx.db, { packId: pack.id, name: 'noop', runnerType: 'noop' });
    expect(action).toMatchObject({
      label: null,
      description: null,
      entryPoint: '',
      runtimeId: null,
      enabled: true,
      paramSchema: {},
      outputSchema: {},
      timeoutSeconds: null,
      tags: [],
    });
  });

  it('resolves packRef to the active version in the same statement', async () => {
    const ref = uniqueName('apack');
    await new PackFixture(ref).withVersion('1.0.0').inactive().create(ctx.db);
    const active = await new PackFixture(ref).withVersion('2.0.0').create(ctx.db);
    const action = await ActionRepository.create(ctx.db, { packRef: ref, name: 'echo', runnerType: 'shell' });
    expect(action).toMatchObject({ packId: active.id, packRef: ref, ref: `${ref}.echo` });
  });

  it('refuses a packRef with no active version with InvalidReferenceError naming it', async () => {
    const missing = uniqueName('nopack');
    const error = await expectErrorType(ActionRepository.create(ctx.db, { packRef: missing, name: 'x', runnerType: 'shell' }), InvalidReferenceError);
    expect(error).toMatchObject({ code: 'ATTUNE_INVALID_REFERENCE', entity: 'action', field: 'packRef', value: missing });
    expect(error.message).toContain(missing);

    const dormant = uniqueName('dormant');
    await new PackFixture(dormant).inactive().create(ctx.db);
    await expectErrorType(ActionRepository.create(ctx.db, { packRef: dormant, name: 'x', runnerType: 'shell' }), InvalidReferenceError);
    expect((await ActionRepository.list(ctx.db, { search: 'x', packRef: dormant })).total).toBe(0);
  });

  it('refuses a missing packId, or one whose ref differs from packRef, with InvalidReferenceError', async () => {
    const missing = await expectErrorType(ActionRepository.create(ctx.db, { packId: 999_999_999, name: 'x', runnerType: 'shell' }), InvalidReferenceError);
    expect(missing).toMatchObject({ field: 'packId', value: 999_999_999 });
    const pack = await new PackFixture().create(ctx.db);
    await expectErrorType(ActionRepository.create(ctx.db, { packId: pack.id, packRef: uniqueName('other'), name: 'x', runnerType: 'shell' }), InvalidReferenceError);
    expect(await ActionRepository.create(ctx.db, { packId: pack.id, packRef: pack.ref, name: 'x', runnerType: 'shell' })).toMatchObject({ packId: pack.id });
  });

  it('refuses a runtime that does not exist with InvalidReferenceError', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => ActionRepository.create(tx, { packId: pack.id, name: 'x', runnerType: 'shell', runtimeId: 999_999_999 })),
      InvalidReferenceError,
    );
    expect(error).toMatchObject({ entity: 'action', field: 'runtime_id' });
    expect((await ActionRepository.list(ctx.db, { packId: pack.id })).total).toBe(0);
  });

  it.each([
    [{ packId: undefined }, 'packRef'],
    [{ packId: 'one' }, 'packId'],
    [{ packRef: 'Core' }, 'packRef'],
    [{ name: 'Echo!' }, 'name'],
    [{ name: 'core..echo' }, 'name'],
    [{ disabledReason: 'runner x is not supported yet' }, 'disabledReason'],
    [{ name: 'x'.repeat(129) }, 'name'],
    [{ runnerType: 'bash' }, 'runnerType'],
    [{ runnerType: undefined }, 'runnerType'],
    [{ timeoutSeconds: 0 }, 'timeoutSeconds'],
    [{ timeoutSeconds: 1.5 }, 'timeoutSeconds'],
    [{ tags: 'ops' }, 'tags'],
    [{ tags: [1] }, 'tags'],
    [{ paramSchema: [] }, 'paramSchema'],
    [{ enabled: null }, 'enabled'],
    [{ ref: 'core.echo' }, 'ref'],
  ])('refuses %j before any SQL runs', async (override, field) => {
    const input = { packId: 1, name: 'ok', runnerType: 'shell', ...override };
    const error = await expectErrorType(ActionRepository.create(ctx.db, input as never), ValidationError);
    expect(error).toMatchObject({ entity: 'action', field });
  });
});

describe('action names across pack versions', () => {
  it('a name is unique within a pack version: AlreadyExistsError, and the first row stays', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const first = await new ActionFixture('dup').forPack(pack).create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new ActionFixture('dup').forPack(pack).withRunnerType('noop').create(tx)),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ entity: 'action', field: 'pack_id, name', value: `${pack.id}, dup` });
    expect((await ActionRepository.list(ctx.db, { packId: pack.id })).items).toEqual([first]);
  });

  it('the same ref lives in two versions of a pack; findByRef returns the active one', async () => {
    const ref = uniqueName('versioned');
    const v1 = await new PackFixture(ref).withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture(ref).withVersion('2.0.0').inactive().create(ctx.db);
    const old = await new ActionFixture('deploy').forPack(v1).create(ctx.db);
    const next = await new ActionFixture('deploy').forPack(v2).withTimeout(60).create(ctx.db);
    expect(old.ref).toBe(next.ref);
    expect(old.id).not.toBe(next.id);

    expect(await ActionRepository.getByRef(ctx.db, `${ref}.deploy`)).toEqual(old);
    await PackRepository.activateVersion(ctx.db, ref, '2.0.0');
    expect(await ActionRepository.getByRef(ctx.db, `${ref}.deploy`)).toEqual(next);
  });

  it('the same name may exist in another pack', async () => {
    const a = await new ActionFixture('echo').create(ctx.db);
    const b = await new ActionFixture('echo').create(ctx.db);
    expect(a.packId).not.toBe(b.packId);
    expect(a.ref).not.toBe(b.ref);
  });
});

describe('action lookups', () => {
  it('finds by id and ref; null when absent; NotFoundError from the get variants', async () => {
    const action = await new ActionFixture().create(ctx.db);
    expect(await ActionRepository.findById(ctx.db, action.id)).toEqual(action);
    expect(await ActionRepository.findByRef(ctx.db, action.ref)).toEqual(action);
    const absent = `${uniqueName('absent')}.action`;
    expect(await ActionRepository.findByRef(ctx.db, absent)).toBeNull();
    expect(await ActionRepository.findByRef(ctx.db, `${action.packRef}.absent`)).toBeNull();
    expect(await ActionRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await expectErrorType(ActionRepository.getByRef(ctx.db, absent), NotFoundError)).toMatchObject({ entity: 'action', field: 'ref', value: absent });
    expect(await expectErrorType(ActionRepository.getById(ctx.db, 999_999_999), NotFoundError)).toMatchObject({ field: 'id' });
  });

  it('findParamSchema reads the parameter schema alone; null for no such action', async () => {
    const schema = { type: 'object', properties: { password: { type: 'string', secret: true } } };
    const action = await new ActionFixture().with({ paramSchema: schema }).create(ctx.db);
    expect(await ActionRepository.findParamSchema(ctx.db, action.id)).toEqual(action.paramSchema);
    expect(action.paramSchema).toMatchObject(schema);
    expect(await ActionRepository.findParamSchema(ctx.db, 999_999_999)).toBeNull();
  });

  it('findByRef finds nothing when the pack has no active version', async () => {
    const ref = uniqueName('inactive');
    const pack = await new PackFixture(ref).inactive().create(ctx.db);
    const action = await new ActionFixture('a').forPack(pack).create(ctx.db);
    expect(await ActionRepository.findByRef(ctx.db, action.ref)).toBeNull();
    expect(await ActionRepository.findById(ctx.db, action.id)).toEqual(action);
  });

  it('refuses malformed refs and ids before any SQL', async () => {
    for (const ref of ['core', 'core.a..b', 'Core.echo', 'core.echo.', '']) {
      expect(await expectErrorType(ActionRepository.findByRef(ctx.db, ref), ValidationError)).toMatchObject({ field: 'ref' });
    }
    await expectErrorType(ActionRepository.getById(ctx.db, 0), ValidationError);
  });

  it('findByRef is served by the active-pack and (pack_id, name) indexes', async () => {
    const { actionRef } = await seedActions(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => ActionRepository.findByRef(db, actionRef));
    expect(plan.indexes).toEqual(expect.arrayContaining(['packs_one_active_per_ref', 'actions_pack_id_name_key']));
    expect(plan.seqScans).toEqual([]);
  });
});

describe('ActionRepository.list', () => {
  it('filters by pack id, paginates by ref and reports the total', async () => {
    const pack = await new PackFixture().create(ctx.db);
    for (const name of ['d', 'b', 'a', 'c', 'e']) await new ActionFixture(name).forPack(pack).create(ctx.db);
    await new ActionFixture('a').create(ctx.db);

    const first = await ActionRepository.list(ctx.db, { packId: pack.id, limit: 2 });
    expect(first).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(first.items.map((a) => a.name)).toEqual(['a', 'b']);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, limit: 2, offset: 4 })).items.map((a) => a.name)).toEqual(['e']);
    expect(await ActionRepository.list(ctx.db, { packId: pack.id, offset: 50 })).toMatchObject({ items: [], total: 5 });
  });

  it('filters by pack ref: the active version only', async () => {
    const ref = uniqueName('lp');
    const v1 = await new PackFixture(ref).withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture(ref).withVersion('2.0.0').inactive().create(ctx.db);
    const current = await new ActionFixture('run').forPack(v1).create(ctx.db);
    await new ActionFixture('run').forPack(v2).create(ctx.db);
    await new ActionFixture('only_in_v2').forPack(v2).create(ctx.db);
    expect((await ActionRepository.list(ctx.db, { packRef: ref })).items).toEqual([current]);
    await PackRepository.activateVersion(ctx.db, ref, '2.0.0');
    expect((await ActionRepository.list(ctx.db, { packRef: ref })).items.map((a) => [a.name, a.packId])).toEqual([
      ['only_in_v2', v2.id],
      ['run', v2.id],
    ]);
  });

  it('filters by runner type, enabled and tag', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const http = await new ActionFixture('http_call').forPack(pack).withRunnerType('http').withTags('net', 'ops').create(ctx.db);
    const off = await new ActionFixture('off').forPack(pack).withRunnerType('http').disabled().create(ctx.db);
    const shell = await new ActionFixture('sh').forPack(pack).withTags('ops').create(ctx.db);

    expect((await ActionRepository.list(ctx.db, { packId: pack.id, runnerType: 'http' })).items).toEqual([http, off]);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, enabled: true })).items).toEqual([http, shell]);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, enabled: false })).items).toEqual([off]);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, tag: 'ops' })).items).toEqual([http, shell]);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, tag: 'net', runnerType: 'http', enabled: true })).items).toEqual([http]);
    expect((await ActionRepository.list(ctx.db, { packId: pack.id, tag: 'missing' })).total).toBe(0);
  });

  it('searches names by case-insensitive substring, with % and _ matched literally', async () => {
    const pack = await new PackFixture().create(ctx.db);
    await new ActionFixture('create_vm').forPack(pack).create(ctx.db);
    await new ActionFixture('createxvm').forPack(pack).create(ctx.db);
    await new ActionFixture('delete_vm').forPack(pack).create(ctx.db);
    const names = async (search: string) => (await ActionRepository.list(ctx.db, { packId: pack.id, search })).items.map((a) => a.name);

    expect(await names('VM')).toEqual(['create_vm', 'createxvm', 'delete_vm']);
    expect(await names('E_V')).toEqual(['create_vm', 'delete_vm']);
    expect(await names('eat')).toEqual(['create_vm', 'createxvm']);
    expect(await names('%')).toEqual([]);
    expect(await names('\\')).toEqual([]);
    expect(await names('')).toHaveLength(3);
    expect(escapeLike('50%_a\\b')).toBe('50\\%\\_a\\\\b');
  });

  it('refuses invalid filter values before any SQL', async () => {
    await expectErrorType(ActionRepository.list(ctx.db, { runnerType: 'bash' as never }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { packRef: 'a.b' }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { packId: 0 }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { enabled: 'yes' as never }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { tag: '' }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { search: 'x'.repeat(256) }), ValidationError);
    await expectErrorType(ActionRepository.list(ctx.db, { limit: 1.5 }), ValidationError);
  });

  it.each([
    ['packId', ['actions_pack_id_name_key'], (seeded: SeededActions) => ({ packId: seeded.packId })],
    ['packRef', ['packs_one_active_per_ref', 'actions_pack_id_name_key'], (seeded: SeededActions) => ({ packRef: seeded.packRef })],
    ['runnerType', ['actions_runner_type_idx'], () => ({ runnerType: 'python' })],
    ['enabled: true', ['actions_enabled_idx'], () => ({ enabled: true })],
    ['enabled: false', ['actions_disabled_idx'], () => ({ enabled: false })],
    ['tag', ['actions_tags_idx'], () => ({ tag: 'ops' })],
    ['search', ['actions_name_trgm_idx'], () => ({ search: 'deploy' })],
  ] as const)('serves the %s filter with %j at volume', async (label, indexes, filterOf) => {
    const seeded = await seedActions(ctx.db, { enabled: label === 'enabled: true' ? 'rare' : 'common' });
    const plan = await indexesUsed(ctx.db, (db) => ActionRepository.list(db, filterOf(seeded) as ActionFilter));
    expect(plan.indexes).toEqual(expect.arrayContaining([...indexes]));
    expect(plan.seqScans).toEqual([]);
  });
});

describe('ActionRepository.update and delete', () => {
  it('touches only the fields given, clears with null, and moves updated_at', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const action = await new ActionFixture().withTags('a').withTimeout(30).withDescription('before').create(ctx.db);
    const updated = await ActionRepository.update(ctx.db, action.id, { runtimeId: runtime.id, tags: ['a', 'b'], enabled: false });
    expect(updated).toMatchObject({ runtimeId: runtime.id, tags: ['a', 'b'], enabled: false, timeoutSeconds: 30, description: 'before', ref: action.ref });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(action.updatedAt.getTime());
    const cleared = await ActionRepository.update(ctx.db, action.id, { runtimeId: null, timeoutSeconds: null, description: null });
    expect(cleared).toMatchObject({ runtimeId: null, timeoutSeconds: null, description: null, tags: ['a', 'b'] });
  });

  it('refuses identity fields and invalid values; maps a missing runtime; NotFoundError for a missing id', async () => {
    const action = await new ActionFixture().create(ctx.db);
    for (const patch of [{ name: 'x' }, { packId: 1 }, { packRef: 'x' }, { ref: 'a.b' }, { runnerType: 'bash' }, { timeoutSeconds: -1 }]) {
      await expectErrorType(ActionRepository.update(ctx.db, action.id, patch as never), ValidationError);
    }
    await expectErrorType(withTransaction(ctx.db, (tx) => ActionRepository.update(tx, action.id, { runtimeId: 999_999_999 })), InvalidReferenceError);
    await expectErrorType(ActionRepository.update(ctx.db, 999_999_999, { label: 'x' }), NotFoundError);
    expect(await ActionRepository.getById(ctx.db, action.id)).toEqual(action);
  });

  it('delete returns whether a row went', async () => {
    const action = await new ActionFixture().create(ctx.db);
    expect(await ActionRepository.delete(ctx.db, action.id)).toBe(true);
    expect(await ActionRepository.delete(ctx.db, action.id)).toBe(false);
    expect(await ActionRepository.findById(ctx.db, action.id)).toBeNull();
  });

  it('deleting a pack version removes its actions and only those', async () => {
    const ref = uniqueName('casc');
    const v1 = await new PackFixture(ref).withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture(ref).withVersion('2.0.0').inactive().create(ctx.db);
    const gone = await new ActionFixture('a').forPack(v1).create(ctx.db);
    const kept = await new ActionFixture('a').forPack(v2).create(ctx.db);
    await PackRepository.delete(ctx.db, v1.id);
    expect(await ActionRepository.findById(ctx.db, gone.id)).toBeNull();
    expect(await ActionRepository.findById(ctx.db, kept.id)).toEqual(kept);
  });

  it('deleting a runtime leaves the action with runtimeId null', async () => {
    const runtime = await new RuntimeFixture().create(ctx.db);
    const action = await new ActionFixture().withRuntime(runtime).create(ctx.db);
    await RuntimeRepository.delete(ctx.db, runtime.id);
    expect(await ActionRepository.getById(ctx.db, action.id)).toMatchObject({ runtimeId: null, ref: action.ref });
  });
});

describe('action constants and fixture', () => {
  it('RUNNER_TYPES mirrors the actions_runner_type_check constraint', async () => {
    expect(await checkValues(ctx.db, 'actions_runner_type_check')).toEqual([...RUNNER_TYPES]);
  });

  it('creates a pack for the action when none is given, or uses the active version of forPackRef', async () => {
    const action = await new ActionFixture('fx').withRunnerType('noop').create(ctx.db);
    const pack = await PackRepository.getById(ctx.db, action.packId);
    expect(action).toMatchObject({ name: 'fx', runnerType: 'noop', ref: `${pack.ref}.fx`, entryPoint: 'fx.sh' });
    const byRef = await new ActionFixture('other').forPackRef(pack.ref).create(ctx.db);
    expect(byRef.packId).toBe(pack.id);
    expect(new ActionFixture('b').build()).toEqual({ name: 'b', runnerType: 'shell', entryPoint: 'b.sh', label: 'Action b', description: 'Fixture action b' });
  });
});
