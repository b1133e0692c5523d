import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { TriggerRepository, generateWebhookKey, type TriggerFilter } from '../../src/repositories/triggers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, indexesUsed } from '../support/sql.js';

// randomBytes stays real unless a test fixes its next values (to force a key collision).
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, randomBytes: vi.fn(actual.randomBytes) };
});

const ctx = useTransactionPerTest();

/** Rows of the seeded volume the plan tests query: a pack and its ref. */
interface SeededTriggers {
  packId: number;
  packRef: string;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 1,000 packs with three triggers each and 300 built-in triggers
 * (3,300 rows), half of them with a webhook key. About ten are disabled (or,
 * with `enabled: 'rare'`, about ten are enabled); a pack has three.
 */
async function seedTriggers(db: Executor, options: { enabled?: 'common' | 'rare' } = {}): Promise<SeededTriggers> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH p AS (
       INSERT INTO packs (ref, version, name)
       SELECT $1 || '_' || g, '1.0.0', 'Seeded pack' FROM generate_series(1, 1000) AS g
       RETURNING id, ref
     ),
     t AS (
       SELECT p.id AS pack_id, p.ref AS pack_ref, 'on_' || i AS name, p.id * 3 + i AS n FROM p CROSS JOIN generate_series(1, 3) AS i
       UNION ALL
       SELECT NULL, $1 || '_builtin_' || g, 'fired', g FROM generate_series(1, 300) AS g
     )
     INSERT INTO triggers (pack_id, pack_ref, name, ref, enabled, webhook_enabled, webhook_key)
     SELECT pack_id, pack_ref, name, pack_ref || '.' || name, (n % 330 = 1) = $2::boolean, n % 2 = 0,
            CASE WHEN n % 2 = 0 THEN md5($1 || pack_ref || name) END
       FROM t`,
    [prefix, options.enabled === 'rare'],
  );
  await analyze(db, 'packs', 'triggers');
  const { rows } = await db.query<{ id: number; ref: string }>('SELECT id, ref FROM packs WHERE ref = $1', [`${prefix}_7`]);
  return { packId: rows[0]!.id, packRef: rows[0]!.ref };
}

describe('TriggerRepository.create', () => {
  it('stores every field for a pack version and derives the ref', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const trigger = await TriggerRepository.create(ctx.db, {
      packId: pack.id,
      name: 'push',
      label: 'Push',
      description: 'A push to a repository',
      enabled: false,
      paramSchema: { type: 'object', properties: { repo: { type: 'string' } } },
      payloadSchema: { type: 'object', properties: { commits: { type: 'array' } } },
    });
    expect(trigger).toMatchObject({
      ref: `${pack.ref}.push`,
      packId: pack.id,
      packRef: pack.ref,
      name: 'push',
      label: 'Push',
      description: 'A push to a repository',
      enabled: false,
      paramSchema: { type: 'object', properties: { repo: { type: 'string' } } },
      payloadSchema: { type: 'object', properties: { commits: { type: 'array' } } },
      webhookEnabled: false,
      webhookKey: null,
    });
    expect(trigger.createdAt).toBeInstanceOf(Date);
    expect(await TriggerRepository.getById(ctx.db, trigger.id)).toEqual(trigger);
  });

  it('fills defaults for the optional fields', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const trigger = await TriggerRepository.create(ctx.db, { packId: pack.id, name: 'tick' });
    expect(trigger).toMatchObject({ label: null, description: null, enabled: true, paramSchema: {}, payloadSchema: {}, webhookEnabled: false });
  });

  it('resolves packRef to the active version, or makes a built-in when there is none', async () => {
    const ref = uniqueName('trpack');
    await new PackFixture(ref).withVersion('1.0.0').inactive().create(ctx.db);
    const active = await new PackFixture(ref).withVersion('1.1.0').create(ctx.db);
    expect(await TriggerRepository.create(ctx.db, { packRef: ref, name: 'issue' })).toMatchObject({ packId: active.id, ref: `${ref}.issue` });

    const core = uniqueName('core');
    expect(await TriggerRepository.create(ctx.db, { packRef: core, name: 'timer' })).toMatchObject({ packId: null, packRef: core, ref: `${core}.timer` });
  });

  it('refuses a missing packId, or one whose ref differs from packRef, with InvalidReferenceError', async () => {
    const missing = await expectErrorType(TriggerRepository.create(ctx.db, { packId: 999_999_999, name: 'x' }), InvalidReferenceError);
    expect(missing).toMatchObject({ entity: 'trigger', field: 'packId', value: 999_999_999 });
    const pack = await new PackFixture().create(ctx.db);
    await expectErrorType(TriggerRepository.create(ctx.db, { packId: pack.id, packRef: uniqueName('other'), name: 'x' }), InvalidReferenceError);
    expect(await TriggerRepository.create(ctx.db, { packId: pack.id, packRef: pack.ref, name: 'x' })).toMatchObject({ ref: `${pack.ref}.x` });
  });

  it.each([
    [{ packRef: undefined }, 'packRef'],
    [{ packRef: 'core.timer' }, 'packRef'],
    [{ name: '.Timer' }, 'name'],
    [{ name: 'a..b' }, 'name'],
    [{ name: 'timer.' }, 'name'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ payloadSchema: null }, 'payloadSchema'],
    [{ webhookKey: 'chosen-by-caller-123' }, 'webhookKey'],
    [{ ref: 'core.timer' }, 'ref'],
  ])('refuses %j before any SQL runs', async (override, field) => {
    const input = { packRef: 'core', name: 'ok', ...override };
    const error = await expectErrorType(TriggerRepository.create(ctx.db, input as never), ValidationError);
    expect(error).toMatchObject({ entity: 'trigger', field });
  });

  it('rejects a name taken in the same pack version with AlreadyExistsError', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const first = await new TriggerFixture('dup').forPack(pack).create(ctx.db);
    const error = await expectErrorType(withTransaction(ctx.db, (tx) => new TriggerFixture('dup').forPack(pack).create(tx)), AlreadyExistsError);
    expect(error).toMatchObject({ entity: 'trigger', field: 'pack_id, name' });
    expect(await TriggerRepository.getByRef(ctx.db, first.ref)).toEqual(first);
  });

  it('takes StackStorm names with dots and capitals (core.st2.IntervalTimer)', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const trigger = await new TriggerFixture('st2.IntervalTimer').forPack(pack).create(ctx.db);
    expect(trigger).toMatchObject({ name: 'st2.IntervalTimer', ref: `${pack.ref}.st2.IntervalTimer`, packRef: pack.ref });
    expect(await TriggerRepository.getByRef(ctx.db, trigger.ref)).toEqual(trigger);
  });

  it('the same ref in two versions of a pack: the ref resolves to the active version', async () => {
    const ref = uniqueName('versioned');
    const v1 = await new PackFixture(ref).withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture(ref).withVersion('2.0.0').with({ isActive: false }).create(ctx.db);
    const old = await new TriggerFixture('push').forPack(v1).create(ctx.db);
    const next = await new TriggerFixture('push').forPack(v2).create(ctx.db);
    expect(await TriggerRepository.getByRef(ctx.db, `${ref}.push`)).toEqual(old);
    await PackRepository.activateVersion(ctx.db, ref, '2.0.0');
    expect(await TriggerRepository.getByRef(ctx.db, `${ref}.push`)).toEqual(next);
  });

  it('a built-in answers for its ref only when no active version of the pack defines it', async () => {
    const ref = uniqueName('builtin');
    const builtin = await new TriggerFixture('tick').forPackRef(ref).create(ctx.db);
    expect(builtin.packId).toBeNull();
    expect(await TriggerRepository.getByRef(ctx.db, `${ref}.tick`)).toEqual(builtin);
    const pack = await new PackFixture(ref).create(ctx.db);
    const owned = await new TriggerFixture('tick').forPack(pack).create(ctx.db);
    expect(await TriggerRepository.getByRef(ctx.db, `${ref}.tick`)).toEqual(owned);
  });
});

describe('trigger lookups', () => {
  it('finds by id and ref; null when absent; NotFoundError from the get variants', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    expect(await TriggerRepository.findById(ctx.db, trigger.id)).toEqual(trigger);
    expect(await TriggerRepository.findByRef(ctx.db, trigger.ref)).toEqual(trigger);
    expect(await TriggerRepository.getByRef(ctx.db, trigger.ref)).toEqual(trigger);
    const absent = `${uniqueName('absent')}.trigger`;
    expect(await TriggerRepository.findByRef(ctx.db, absent)).toBeNull();
    expect(await TriggerRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await expectErrorType(TriggerRepository.getByRef(ctx.db, absent), NotFoundError)).toMatchObject({ entity: 'trigger', field: 'ref', value: absent });
    expect(await expectErrorType(TriggerRepository.getById(ctx.db, 999_999_999), NotFoundError)).toMatchObject({ field: 'id' });
  });

  it('refuses malformed refs and ids before any SQL', async () => {
    await expectErrorType(TriggerRepository.findByRef(ctx.db, 'core'), ValidationError);
    await expectErrorType(TriggerRepository.findByRef(ctx.db, 'core.a..b'), ValidationError);
    await expectErrorType(TriggerRepository.findByRef(ctx.db, 'Core.timer'), ValidationError);
    await expectErrorType(TriggerRepository.findById(ctx.db, 1.5), ValidationError);
  });
});

describe('TriggerRepository.list', () => {
  it('filters by pack and enabled, paginates by ref and reports the total', async () => {
    const pack = await new PackFixture().create(ctx.db);
    for (const name of ['c', 'a', 'b']) await new TriggerFixture(name).forPack(pack).create(ctx.db);
    await new TriggerFixture('z').forPack(pack).disabled().create(ctx.db);
    await new TriggerFixture().create(ctx.db);

    const page = await TriggerRepository.list(ctx.db, { packId: pack.id, enabled: true, limit: 2 });
    expect(page).toMatchObject({ total: 3, limit: 2 });
    expect(page.items.map((t) => t.name)).toEqual(['a', 'b']);
    expect((await TriggerRepository.list(ctx.db, { packId: pack.id, enabled: true, limit: 2, offset: 2 })).items.map((t) => t.name)).toEqual(['c']);
    expect((await TriggerRepository.list(ctx.db, { packId: pack.id, enabled: false })).items.map((t) => t.name)).toEqual(['z']);
    expect((await TriggerRepository.list(ctx.db, { packId: pack.id })).total).toBe(4);
    expect((await TriggerRepository.list(ctx.db, { packRef: pack.ref })).total).toBe(4);
  });

  it('lists built-ins by their pack ref', async () => {
    const core = uniqueName('core');
    const timer = await new TriggerFixture('timer').builtIn(core).create(ctx.db);
    expect((await TriggerRepository.list(ctx.db, { packRef: core })).items).toEqual([timer]);
  });

  it('refuses invalid filter values before any SQL', async () => {
    await expectErrorType(TriggerRepository.list(ctx.db, { packRef: 'a.b' }), ValidationError);
    await expectErrorType(TriggerRepository.list(ctx.db, { packId: 0 }), ValidationError);
    await expectErrorType(TriggerRepository.list(ctx.db, { enabled: 'true' as never }), ValidationError);
    await expectErrorType(TriggerRepository.list(ctx.db, { limit: 1001 }), ValidationError);
  });

  it.each([
    ['packId', 'triggers_pack_id_name_key', (seeded: SeededTriggers) => ({ packId: seeded.packId })],
    ['packRef', 'triggers_pack_ref_idx', (seeded: SeededTriggers) => ({ packRef: seeded.packRef })],
    ['enabled: true', 'triggers_enabled_idx', () => ({ enabled: true })],
    ['enabled: false', 'triggers_disabled_idx', () => ({ enabled: false })],
  ] as const)('serves the %s filter with %s at volume', async (label, index, filterOf) => {
    const seeded = await seedTriggers(ctx.db, { enabled: label === 'enabled: true' ? 'rare' : 'common' });
    const plan = await indexesUsed(ctx.db, (db) => TriggerRepository.list(db, filterOf(seeded) as TriggerFilter));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });
});

describe('trigger webhooks', () => {
  it('enableWebhook sets a random base64url key of at least 24 bytes; calling it again rotates the key', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const enabled = await TriggerRepository.enableWebhook(ctx.db, trigger.id);
    expect(enabled.webhookEnabled).toBe(true);
    expect(enabled.webhookKey).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(enabled.webhookKey!, 'base64url').length).toBeGreaterThanOrEqual(24);
    const rotated = await TriggerRepository.enableWebhook(ctx.db, trigger.id);
    expect(rotated.webhookKey).not.toBe(enabled.webhookKey);
    expect(await TriggerRepository.findByWebhookKey(ctx.db, enabled.webhookKey!)).toBeNull();
    expect(await TriggerRepository.findByWebhookKey(ctx.db, rotated.webhookKey!)).toEqual(rotated);
  });

  it('generates distinct keys', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateWebhookKey()));
    expect(keys.size).toBe(100);
  });

  it('disableWebhook clears the key so it no longer finds the trigger', async () => {
    const trigger = await new TriggerFixture().withWebhook().create(ctx.db);
    const key = trigger.webhookKey!;
    expect((await TriggerRepository.findByWebhookKey(ctx.db, key))?.id).toBe(trigger.id);
    const disabled = await TriggerRepository.disableWebhook(ctx.db, trigger.id);
    expect(disabled).toMatchObject({ webhookEnabled: false, webhookKey: null });
    expect(await TriggerRepository.findByWebhookKey(ctx.db, key)).toBeNull();
  });

  it('findByWebhookKey returns null for unknown or malformed keys and refuses a non-string', async () => {
    expect(await TriggerRepository.findByWebhookKey(ctx.db, generateWebhookKey())).toBeNull();
    expect(await TriggerRepository.findByWebhookKey(ctx.db, '')).toBeNull();
    expect(await TriggerRepository.findByWebhookKey(ctx.db, "' OR 1=1 --")).toBeNull();
    await expectErrorType(TriggerRepository.findByWebhookKey(ctx.db, 42 as never), ValidationError);
  });

  it('findByWebhookKey is served by the unique key index', async () => {
    await seedTriggers(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => TriggerRepository.findByWebhookKey(db, generateWebhookKey()));
    expect(plan.indexes).toContain('triggers_webhook_key_key');
    expect(plan.seqScans).toEqual([]);
  });

  it('a colliding key is AlreadyExistsError that does not reveal the key', async () => {
    const first = await new TriggerFixture().create(ctx.db);
    const second = await new TriggerFixture().create(ctx.db);
    const fixed = Buffer.alloc(32, 7);
    vi.mocked(randomBytes).mockReturnValueOnce(fixed as never).mockReturnValueOnce(fixed as never);
    const key = (await TriggerRepository.enableWebhook(ctx.db, first.id)).webhookKey!;
    expect(key).toBe(fixed.toString('base64url'));
    const error = await expectErrorType(withTransaction(ctx.db, (tx) => TriggerRepository.enableWebhook(tx, second.id)), AlreadyExistsError);
    expect(error).toMatchObject({ entity: 'trigger', field: 'webhookKey', value: undefined });
    expect(JSON.stringify(error)).not.toContain(key);
    expect(error.message).not.toContain(key);
    expect(error.cause).toBeUndefined();
    expect((await TriggerRepository.getById(ctx.db, second.id)).webhookKey).toBeNull();
  });

  it('webhook calls refuse a malformed id and report a missing one', async () => {
    await expectErrorType(TriggerRepository.enableWebhook(ctx.db, 0), ValidationError);
    await expectErrorType(TriggerRepository.disableWebhook(ctx.db, -1), ValidationError);
    await expectErrorType(TriggerRepository.enableWebhook(ctx.db, 999_999_999), NotFoundError);
    await expectErrorType(TriggerRepository.disableWebhook(ctx.db, 999_999_999), NotFoundError);
  });
});

describe('TriggerRepository.update and delete', () => {
  it('touches only the fields given, clears with null, and moves updated_at', async () => {
    const trigger = await new TriggerFixture().withPayloadSchema({ type: 'object' }).withWebhook().create(ctx.db);
    const updated = await TriggerRepository.update(ctx.db, trigger.id, { enabled: false, label: null });
    expect(updated).toMatchObject({ enabled: false, label: null, description: trigger.description, payloadSchema: { type: 'object' }, webhookKey: trigger.webhookKey });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(trigger.updatedAt.getTime());
  });

  it('refuses identity and webhook fields; a missing id is NotFoundError', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    for (const patch of [{ name: 'x' }, { packId: 1 }, { packRef: 'x' }, { webhookKey: 'k'.repeat(40) }, { webhookEnabled: true }, { enabled: 1 }]) {
      await expectErrorType(TriggerRepository.update(ctx.db, trigger.id, patch as never), ValidationError);
    }
    await expectErrorType(TriggerRepository.update(ctx.db, 999_999_999, { label: 'x' }), NotFoundError);
    expect(await TriggerRepository.getById(ctx.db, trigger.id)).toEqual(trigger);
  });

  it('delete returns whether a row went', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    expect(await TriggerRepository.delete(ctx.db, trigger.id)).toBe(true);
    expect(await TriggerRepository.delete(ctx.db, trigger.id)).toBe(false);
    expect(await TriggerRepository.findById(ctx.db, trigger.id)).toBeNull();
  });

  it('deleting a pack removes its triggers and leaves built-ins alone', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const owned = await new TriggerFixture().forPack(pack).create(ctx.db);
    const builtIn = await new TriggerFixture().builtIn().create(ctx.db);
    await PackRepository.delete(ctx.db, pack.id);
    expect(await TriggerRepository.findById(ctx.db, owned.id)).toBeNull();
    expect(await TriggerRepository.findById(ctx.db, builtIn.id)).toEqual(builtIn);
  });
});

describe('trigger fixture', () => {
  it('creates a pack for the trigger when none is given', async () => {
    const trigger = await new TriggerFixture('fx').disabled().create(ctx.db);
    const pack = await PackRepository.getById(ctx.db, trigger.packId!);
    expect(trigger).toMatchObject({ name: 'fx', enabled: false, ref: `${pack.ref}.fx`, webhookKey: null });
    expect(new TriggerFixture('b').build()).toEqual({ name: 'b', label: 'Trigger b', description: 'Fixture trigger b' });
  });
});
