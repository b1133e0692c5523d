import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { mapPgError } from '../../src/db/pg-errors.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository, type CreateRuleInput } from '../../src/repositories/rules.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { RuleFixture } from '../../src/testing/fixtures/rules.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, indexesUsed, recording } from '../support/sql.js';

/** The partial indexes of enabled rules that lead with trigger_ref; the planner may pick either. */
const ENABLED_TRIGGER_INDEXES = ['rules_trigger_ref_enabled_idx', 'rules_trigger_params_enabled_idx'];

const ctx = useTransactionPerTest();

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 250 pack refs with four installed versions each and three rules
 * in every version (3,000 rules). Each of 300 trigger refs and 300 action
 * refs is used by ten rules; one rule in five is disabled. Returns a seeded
 * trigger ref, action ref and pack ref.
 */
async function seedRules(db: Executor): Promise<{ triggerRef: string; actionRef: string; packRef: string }> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH p AS (
       INSERT INTO packs (ref, version, name, is_active)
       SELECT $1 || '_' || (g % 250), (g / 250) || '.0.0', 'Seeded pack', g / 250 = 3
         FROM generate_series(0, 999) AS g
       RETURNING id, ref, version
     )
     INSERT INTO rules (pack_id, pack_ref, name, ref, trigger_ref, action_ref, enabled)
     SELECT p.id, p.ref, x.name, p.ref || '.' || x.name,
            $1 || '_t' || x.n % 300 || '.fired', $1 || '_a' || (x.n * 7) % 300 || '.run', (x.n / 300) % 5 <> 0
       FROM p
       CROSS JOIN generate_series(1, 3) AS i
       CROSS JOIN LATERAL (SELECT p.id * 3 + i AS n, 'r' || split_part(p.version, '.', 1) || '_' || i AS name) AS x`,
    [prefix],
  );
  await analyze(db, 'packs', 'rules');
  return { triggerRef: `${prefix}_t7.fired`, actionRef: `${prefix}_a7.run`, packRef: `${prefix}_7` };
}

/** A pack with a trigger and an action in it. */
async function parents(db: Executor) {
  const pack = await new PackFixture().create(db);
  const trigger = await new TriggerFixture().forPack(pack).create(db);
  const action = await new ActionFixture().forPack(pack).create(db);
  return { pack, trigger, action };
}

describe('RuleRepository.create', () => {
  it('stores every field, derives the ref and resolves ids from refs in one round trip', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const db = recording(ctx.db);
    const rule = await RuleRepository.create(db, {
      packRef: pack.ref,
      name: 'on_push',
      triggerRef: trigger.ref,
      actionRef: action.ref,
      criteria: { 'trigger.branch': { type: 'equals', pattern: 'main' } },
      actionParams: { message: '{{ trigger.commit }}', list: [1, 'two', null] },
      triggerParams: { repo: 'attune' },
      enabled: false,
      label: 'On push',
      description: 'Runs on every push to main',
    });
    expect(db.statements).toHaveLength(1);
    expect(rule).toMatchObject({
      ref: `${pack.ref}.on_push`,
      packId: pack.id,
      packRef: pack.ref,
      name: 'on_push',
      triggerId: trigger.id,
      triggerRef: trigger.ref,
      actionId: action.id,
      actionRef: action.ref,
      criteria: { 'trigger.branch': { type: 'equals', pattern: 'main' } },
      actionParams: { message: '{{ trigger.commit }}', list: [1, 'two', null] },
      triggerParams: { repo: 'attune' },
      enabled: false,
      label: 'On push',
      description: 'Runs on every push to main',
    });
    expect(typeof rule.id).toBe('number');
    expect(rule.createdAt).toBeInstanceOf(Date);
    expect(await RuleRepository.getById(ctx.db, rule.id)).toEqual(rule);
  });

  it('takes ids instead of refs and fills in the refs, with defaults for the rest', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const rule = await RuleRepository.create(ctx.db, { packId: pack.id, name: 'by_ids', triggerId: trigger.id, actionId: action.id });
    expect(rule).toMatchObject({
      ref: `${pack.ref}.by_ids`,
      packRef: pack.ref,
      triggerRef: trigger.ref,
      actionRef: action.ref,
      criteria: {},
      actionParams: {},
      triggerParams: {},
      enabled: true,
      label: null,
      description: null,
    });
  });

  it('resolves packRef to the active version of the pack', async () => {
    await new PackFixture('versioned').withVersion('1.0.0').inactive().create(ctx.db);
    const active = await new PackFixture('versioned').withVersion('2.0.0').create(ctx.db);
    const { trigger, action } = await parents(ctx.db);
    const rule = await RuleRepository.create(ctx.db, { packRef: 'versioned', name: 'r', triggerId: trigger.id, actionId: action.id });
    expect(rule.packId).toBe(active.id);
  });

  it('resolves an action ref to the action in the active version of its pack', async () => {
    const v1 = await new PackFixture('tools').withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture('tools').withVersion('2.0.0').inactive().create(ctx.db);
    const oldAction = await new ActionFixture('deploy').forPack(v1).create(ctx.db);
    const newAction = await new ActionFixture('deploy').forPack(v2).create(ctx.db);
    const { pack, trigger } = await parents(ctx.db);

    const before = await new RuleFixture('before').forPack(pack).forTrigger(trigger).with({ actionRef: 'tools.deploy' }).create(ctx.db);
    expect(before).toMatchObject({ actionId: oldAction.id, actionRef: 'tools.deploy' });

    await PackRepository.activateVersion(ctx.db, 'tools', '2.0.0');
    const after = await new RuleFixture('after').forPack(pack).forTrigger(trigger).with({ actionRef: 'tools.deploy' }).create(ctx.db);
    expect(after).toMatchObject({ actionId: newAction.id, actionRef: 'tools.deploy' });
  });

  it('refuses an action that exists only in an inactive pack version, naming the ref', async () => {
    const inactive = await new PackFixture('dormant').withVersion('1.0.0').inactive().create(ctx.db);
    await new ActionFixture('sleep').forPack(inactive).create(ctx.db);
    const { pack, trigger } = await parents(ctx.db);
    const error = await expectErrorType(
      RuleRepository.create(ctx.db, { packId: pack.id, name: 'r', triggerId: trigger.id, actionRef: 'dormant.sleep' }),
      InvalidReferenceError,
    );
    expect(error).toMatchObject({ code: 'ATTUNE_INVALID_REFERENCE', entity: 'rule', field: 'actionRef', value: 'dormant.sleep' });
    expect(error.message).toContain("'dormant.sleep'");
  });

  it('refuses a missing trigger, action or pack with InvalidReferenceError naming it, and inserts nothing', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const base = { packId: pack.id, name: 'strict', triggerId: trigger.id, actionId: action.id };
    const cases: [Partial<CreateRuleInput>, string, unknown][] = [
      [{ triggerId: undefined, triggerRef: 'nowhere.fired' }, 'triggerRef', 'nowhere.fired'],
      [{ triggerId: 999_999_999 }, 'triggerId', 999_999_999],
      [{ actionId: undefined, actionRef: 'nowhere.run' }, 'actionRef', 'nowhere.run'],
      [{ actionId: 999_999_999 }, 'actionId', 999_999_999],
      [{ packId: undefined, packRef: 'no_such_pack' }, 'packRef', 'no_such_pack'],
      [{ packId: 999_999_999 }, 'packId', 999_999_999],
    ];
    for (const [change, field, value] of cases) {
      const input = { ...base, ...change } as CreateRuleInput;
      const error = await expectErrorType(RuleRepository.create(ctx.db, input), InvalidReferenceError);
      expect(error).toMatchObject({ entity: 'rule', field, value });
      expect(error.message).toContain(String(value));
    }
    expect((await RuleRepository.list(ctx.db, { packId: pack.id })).total).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a malformed trigger ref', { triggerRef: 'Not A Ref' }, 'triggerRef'],
    ['a trigger ref with two dots in a row', { triggerRef: 'a.b..c' }, 'triggerRef'],
    ['a malformed action ref', { actionRef: 'noDot' }, 'actionRef'],
    ['a malformed pack ref', { packRef: 'Bad' }, 'packRef'],
    ['a name ending with a dot', { name: 'a.' }, 'name'],
    ['a name with a space', { name: 'Up per' }, 'name'],
    ['criteria that are an array', { criteria: [] }, 'criteria'],
    ['actionParams that are a string', { actionParams: 'x' }, 'actionParams'],
    ['enabled that is a string', { enabled: 'yes' }, 'enabled'],
    ['a label over 255 characters', { label: 'x'.repeat(256) }, 'label'],
    ['a negative trigger id', { triggerId: -1 }, 'triggerId'],
    ['an unknown field', { nmae: 'typo' }, 'nmae'],
    ['a ref, which is derived', { ref: 'p.r' }, 'ref'],
  ])('refuses %s before any SQL runs', async (_label, change, field) => {
    const db = recording(ctx.db);
    const input = { packRef: 'p', name: 'r', triggerRef: 'p.t', actionRef: 'p.a', ...change };
    if ('triggerId' in change) delete (input as Record<string, unknown>).triggerRef;
    const error = await expectErrorType(RuleRepository.create(db, input as CreateRuleInput), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'rule', field });
    expect(db.statements).toHaveLength(0);
  });

  it('refuses both or neither of a ref and its id before any SQL runs', async () => {
    const db = recording(ctx.db);
    const both = await expectErrorType(
      RuleRepository.create(db, { packRef: 'p', name: 'r', triggerRef: 'p.t', triggerId: 1, actionRef: 'p.a' }),
      ValidationError,
    );
    expect(both.field).toBe('triggerId');
    const neither = await expectErrorType(RuleRepository.create(db, { packRef: 'p', name: 'r', triggerRef: 'p.t' }), ValidationError);
    expect(neither.field).toBe('actionRef');
    await expectErrorType(RuleRepository.create(db, { name: 'r', triggerRef: 'p.t', actionRef: 'p.a' }), ValidationError);
    await expectErrorType(RuleRepository.create(db, { packRef: 'p', triggerRef: 'p.t', actionRef: 'p.a' } as never), ValidationError);
    expect(db.statements).toHaveLength(0);
  });

  it('rejects a name taken in the same pack version with AlreadyExistsError and keeps the first rule', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const first = await new RuleFixture('twice').forPack(pack).forTrigger(trigger).forAction(action).create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new RuleFixture('twice').forPack(pack).forTrigger(trigger).forAction(action).withLabel('second').create(tx)),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ code: 'ATTUNE_ALREADY_EXISTS', entity: 'rule', field: 'pack_id, name' });
    expect((await RuleRepository.getByRef(ctx.db, first.ref)).label).toBe(first.label);
  });
});

describe('rule lookups', () => {
  it('findById and findByRef return null when absent; getById and getByRef throw NotFoundError', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    expect((await RuleRepository.findByRef(ctx.db, rule.ref))?.id).toBe(rule.id);
    expect(await RuleRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await RuleRepository.findByRef(ctx.db, 'absent.rule')).toBeNull();
    const byId = await expectErrorType(RuleRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(byId).toMatchObject({ entity: 'rule', field: 'id', value: 999_999_999 });
    const byRef = await expectErrorType(RuleRepository.getByRef(ctx.db, 'absent.rule'), NotFoundError);
    expect(byRef).toMatchObject({ entity: 'rule', field: 'ref', value: 'absent.rule' });
  });

  it('refuses a malformed id or ref before any SQL', async () => {
    const db = recording(ctx.db);
    await expectErrorType(RuleRepository.findById(db, 0), ValidationError);
    await expectErrorType(RuleRepository.getById(db, 2.5), ValidationError);
    await expectErrorType(RuleRepository.findByRef(db, 'nodot'), ValidationError);
    await expectErrorType(RuleRepository.getByRef(db, 'Bad.Ref'), ValidationError);
    expect(db.statements).toHaveLength(0);
  });
});

describe('RuleRepository.listEnabledForTrigger', () => {
  it('returns the enabled rules listening to the trigger, in id order', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const other = await new TriggerFixture().forPack(pack).create(ctx.db);
    const a = await new RuleFixture().forPack(pack).forTrigger(trigger).forAction(action).create(ctx.db);
    await new RuleFixture().forPack(pack).forTrigger(trigger).forAction(action).disabled().create(ctx.db);
    await new RuleFixture().forPack(pack).forTrigger(other).forAction(action).create(ctx.db);
    const b = await new RuleFixture().forPack(pack).forTrigger(trigger).forAction(action).create(ctx.db);

    const rules = await RuleRepository.listEnabledForTrigger(ctx.db, trigger.ref);
    expect(rules.map((r) => r.id)).toEqual([a.id, b.id]);
    expect(await RuleRepository.listEnabledForTrigger(ctx.db, 'quiet.trigger')).toEqual([]);
  });

  it('returns only rules of the active version of their pack, following activation', async () => {
    const ref = uniqueName('versioned');
    const trigger = await new TriggerFixture().create(ctx.db);
    const rules = [];
    for (const [version, isActive] of [['1.0.0', true], ['2.0.0', false]] as const) {
      const pack = await new PackFixture(ref).withVersion(version).with({ isActive }).create(ctx.db);
      const action = await new ActionFixture('run').forPack(pack).create(ctx.db);
      rules.push(await new RuleFixture('on_push').forPack(pack).forTrigger(trigger).forAction(action).create(ctx.db));
    }
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, trigger.ref)).map((r) => r.id)).toEqual([rules[0]!.id]);
    expect((await RuleRepository.getByRef(ctx.db, `${ref}.on_push`)).id).toBe(rules[0]!.id);
    await PackRepository.activateVersion(ctx.db, ref, '2.0.0');
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, trigger.ref)).map((r) => r.id)).toEqual([rules[1]!.id]);
    expect((await RuleRepository.getByRef(ctx.db, `${ref}.on_push`)).id).toBe(rules[1]!.id);
  });

  it('is served by a partial index of enabled rules led by the trigger ref', async () => {
    const { triggerRef } = await seedRules(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => RuleRepository.listEnabledForTrigger(db, triggerRef));
    // Either serves it: (trigger_ref) WHERE enabled, or the timers' (trigger_ref, md5(trigger_params)) WHERE enabled.
    expect(plan.indexes.filter((name) => ENABLED_TRIGGER_INDEXES.includes(name))).not.toEqual([]);
    expect(plan.indexes).not.toContain('rules_trigger_ref_disabled_idx');
    // The rules are found by index; the active-version check may hash the few active packs instead of probing each.
    expect(plan.seqScans).not.toContain('rules');
  });

  it('refuses a malformed trigger ref before any SQL', async () => {
    const db = recording(ctx.db);
    const error = await expectErrorType(RuleRepository.listEnabledForTrigger(db, 'no dots here'), ValidationError);
    expect(error.field).toBe('triggerRef');
    expect(db.statements).toHaveLength(0);
  });
});

describe('RuleRepository.list', () => {
  it('filters by pack, trigger, action and enabled flag', async () => {
    const { pack, trigger, action } = await parents(ctx.db);
    const other = await parents(ctx.db);
    const r1 = await new RuleFixture('r1').forPack(pack).forTrigger(trigger).forAction(action).create(ctx.db);
    const r2 = await new RuleFixture('r2').forPack(pack).forTrigger(trigger).forAction(other.action).disabled().create(ctx.db);
    const r3 = await new RuleFixture('r3').forPack(other.pack).forTrigger(other.trigger).forAction(action).create(ctx.db);
    const ids = async (filter: Parameters<typeof RuleRepository.list>[1]) => (await RuleRepository.list(ctx.db, filter)).items.map((r) => r.id);

    expect(await ids({ packId: pack.id })).toEqual([r1.id, r2.id]);
    expect(await ids({ packRef: other.pack.ref })).toEqual([r3.id]);
    expect(await ids({ triggerRef: trigger.ref })).toEqual([r1.id, r2.id]);
    expect(await ids({ triggerId: other.trigger.id })).toEqual([r3.id]);
    expect(await ids({ actionRef: action.ref })).toEqual(r1.ref < r3.ref ? [r1.id, r3.id] : [r3.id, r1.id]);
    expect(await ids({ actionId: other.action.id })).toEqual([r2.id]);
    expect(await ids({ packId: pack.id, enabled: false })).toEqual([r2.id]);
    expect(await ids({ triggerRef: trigger.ref, enabled: true })).toEqual([r1.id]);
  });

  it('serves the trigger ref filter from the two partial indexes, whatever the enabled flag', async () => {
    const seeded = await seedRules(ctx.db);
    const either = await indexesUsed(ctx.db, (db) => RuleRepository.list(db, { triggerRef: seeded.triggerRef }));
    expect(either.indexes).toContain('rules_trigger_ref_disabled_idx');
    expect(either.indexes.filter((name) => ENABLED_TRIGGER_INDEXES.includes(name))).not.toEqual([]);
    expect(either.seqScans).toEqual([]);
    const disabled = await indexesUsed(ctx.db, (db) => RuleRepository.list(db, { triggerRef: seeded.triggerRef, enabled: false }));
    expect(disabled.indexes).toContain('rules_trigger_ref_disabled_idx');
    expect(disabled.seqScans).toEqual([]);
    const byAction = await indexesUsed(ctx.db, (db) => RuleRepository.list(db, { actionRef: seeded.actionRef }));
    expect(byAction.indexes).toContain('rules_action_ref_idx');
    expect(byAction.seqScans).toEqual([]);
    const byPack = await indexesUsed(ctx.db, (db) => RuleRepository.list(db, { packRef: seeded.packRef }));
    expect(byPack.indexes).toContain('rules_pack_id_name_key');
    expect(byPack.seqScans).toEqual([]);
  });

  it('packRef covers every installed version of the pack', async () => {
    const v1 = await new PackFixture('multi').withVersion('1.0.0').inactive().create(ctx.db);
    const v2 = await new PackFixture('multi').withVersion('2.0.0').create(ctx.db);
    const old = await new RuleFixture('old').forPack(v1).create(ctx.db);
    const current = await new RuleFixture('current').forPack(v2).create(ctx.db);
    const page = await RuleRepository.list(ctx.db, { packRef: 'multi' });
    expect(page.items.map((r) => r.id).sort()).toEqual([old.id, current.id].sort());
  });

  it('paginates in ref order and reports the total', async () => {
    const pack = await new PackFixture().create(ctx.db);
    for (const name of ['c', 'a', 'e', 'b', 'd']) await new RuleFixture(name).forPack(pack).create(ctx.db);
    const first = await RuleRepository.list(ctx.db, { packId: pack.id, limit: 2 });
    expect(first).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(first.items.map((r) => r.name)).toEqual(['a', 'b']);
    const last = await RuleRepository.list(ctx.db, { packId: pack.id, limit: 2, offset: 4 });
    expect(last.items.map((r) => r.name)).toEqual(['e']);
  });

  it('refuses malformed filters before any SQL', async () => {
    const db = recording(ctx.db);
    await expectErrorType(RuleRepository.list(db, { triggerRef: 'bad' }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { actionRef: 'Bad.ref' }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { packRef: 'a.b' }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { packId: 0 }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { actionId: -4 }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { enabled: 'yes' as never }), ValidationError);
    await expectErrorType(RuleRepository.list(db, { limit: 0 }), ValidationError);
    expect(db.statements).toHaveLength(0);
  });
});

describe('RuleRepository.update', () => {
  it('touches only the fields given, clears with null and moves updated_at', async () => {
    const rule = await new RuleFixture().withCriteria({ a: 1 }).withActionParams({ p: 'x' }).create(ctx.db);
    const updated = await RuleRepository.update(ctx.db, rule.id, { criteria: { b: 2 }, label: null });
    expect(updated).toMatchObject({ criteria: { b: 2 }, label: null, actionParams: { p: 'x' }, description: rule.description, enabled: true });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(rule.updatedAt.getTime());
    expect(updated.createdAt).toEqual(rule.createdAt);
    expect(await RuleRepository.update(ctx.db, rule.id, {})).toEqual(updated);
  });

  it('re-points the trigger and the action by ref, resolving ids in one round trip', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    const { trigger, action } = await parents(ctx.db);
    const db = recording(ctx.db);
    const updated = await RuleRepository.update(db, rule.id, { triggerRef: trigger.ref, actionRef: action.ref, description: 'moved' });
    expect(db.statements).toHaveLength(1);
    expect(updated).toMatchObject({
      triggerId: trigger.id,
      triggerRef: trigger.ref,
      actionId: action.id,
      actionRef: action.ref,
      description: 'moved',
      ref: rule.ref,
      packId: rule.packId,
    });
  });

  it('re-points by id, filling in the ref', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    const { trigger, action } = await parents(ctx.db);
    expect(await RuleRepository.update(ctx.db, rule.id, { triggerId: trigger.id })).toMatchObject({ triggerId: trigger.id, triggerRef: trigger.ref, actionId: rule.actionId });
    expect(await RuleRepository.update(ctx.db, rule.id, { actionId: action.id })).toMatchObject({ actionId: action.id, actionRef: action.ref, triggerId: trigger.id });
  });

  it('refuses to re-point at a missing trigger or action, naming it, and leaves the rule alone', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    const trigger = await expectErrorType(RuleRepository.update(ctx.db, rule.id, { triggerRef: 'gone.trigger', label: 'x' }), InvalidReferenceError);
    expect(trigger).toMatchObject({ entity: 'rule', field: 'triggerRef', value: 'gone.trigger' });
    const action = await expectErrorType(RuleRepository.update(ctx.db, rule.id, { actionId: 999_999_999 }), InvalidReferenceError);
    expect(action).toMatchObject({ field: 'actionId', value: 999_999_999 });
    const both = await expectErrorType(RuleRepository.update(ctx.db, rule.id, { triggerRef: rule.triggerRef, actionRef: 'gone.action' }), InvalidReferenceError);
    expect(both.field).toBe('actionRef');
    expect(await RuleRepository.getById(ctx.db, rule.id)).toEqual(rule);
  });

  it('refuses to change the ref, pack or name', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    for (const patch of [{ ref: 'x.y' }, { packRef: 'other' }, { packId: 1 }, { name: 'renamed' }]) {
      const error = await expectErrorType(RuleRepository.update(ctx.db, rule.id, patch as never), ValidationError);
      expect(error.field).toBe(Object.keys(patch)[0]);
    }
    await expectErrorType(RuleRepository.update(ctx.db, rule.id, { triggerRef: 'a.b', triggerId: 1 }), ValidationError);
    await expectErrorType(RuleRepository.update(ctx.db, rule.id, { criteria: null } as never), ValidationError);
  });

  it('a missing id is NotFoundError, with or without re-pointing', async () => {
    const { trigger } = await parents(ctx.db);
    await expectErrorType(RuleRepository.update(ctx.db, 999_999_999, { label: 'x' }), NotFoundError);
    const error = await expectErrorType(RuleRepository.update(ctx.db, 999_999_999, { triggerRef: trigger.ref }), NotFoundError);
    expect(error).toMatchObject({ entity: 'rule', field: 'id', value: 999_999_999 });
    await expectErrorType(RuleRepository.update(ctx.db, 999_999_999, { triggerRef: 'gone.trigger' }), NotFoundError);
  });

  it('enable and disable flip the flag and the engine query follows', async () => {
    const rule = await new RuleFixture().disabled().create(ctx.db);
    expect(await RuleRepository.listEnabledForTrigger(ctx.db, rule.triggerRef)).toEqual([]);
    expect((await RuleRepository.enable(ctx.db, rule.id)).enabled).toBe(true);
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, rule.triggerRef)).map((r) => r.id)).toEqual([rule.id]);
    expect((await RuleRepository.disable(ctx.db, rule.id)).enabled).toBe(false);
    expect(await RuleRepository.listEnabledForTrigger(ctx.db, rule.triggerRef)).toEqual([]);
    await expectErrorType(RuleRepository.enable(ctx.db, 999_999_999), NotFoundError);
  });
});

describe('rule deletion and the rows it points at', () => {
  it('delete returns whether a row went', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    expect(await RuleRepository.delete(ctx.db, rule.id)).toBe(true);
    expect(await RuleRepository.delete(ctx.db, rule.id)).toBe(false);
    expect(await RuleRepository.findById(ctx.db, rule.id)).toBeNull();
  });

  it('keeps the trigger and action refs with null ids after they are deleted', async () => {
    const rule = await new RuleFixture().create(ctx.db);
    expect(await TriggerRepository.delete(ctx.db, rule.triggerId!)).toBe(true);
    expect(await ActionRepository.delete(ctx.db, rule.actionId!)).toBe(true);
    const kept = await RuleRepository.getById(ctx.db, rule.id);
    expect(kept).toMatchObject({ triggerId: null, triggerRef: rule.triggerRef, actionId: null, actionRef: rule.actionRef });
    // The engine still finds it by ref, so a re-created trigger picks it up.
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, rule.triggerRef)).map((r) => r.id)).toEqual([rule.id]);
    expect((await RuleRepository.list(ctx.db, { actionRef: rule.actionRef })).total).toBe(1);
  });

  it('goes with its pack (cascade)', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const rule = await new RuleFixture().forPack(pack).create(ctx.db);
    await PackRepository.delete(ctx.db, pack.id);
    expect(await RuleRepository.findById(ctx.db, rule.id)).toBeNull();
  });
});

describe('rules table constraints', () => {
  /** Runs raw SQL in a savepoint and maps the failure as a repository would. */
  const raw = (sql: string, values: unknown[]) =>
    withTransaction(ctx.db, async (tx) => {
      try {
        return await tx.query(sql, values);
      } catch (error) {
        throw mapPgError(error, 'rule');
      }
    });

  it('CHECKs the ref, its parts and the JSON shapes, and the pack foreign key, even around the repository', async () => {
    const { pack } = await parents(ctx.db);
    const insert = `INSERT INTO rules (pack_id, pack_ref, name, ref, trigger_ref, action_ref, criteria) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
    const ok = [pack.id, pack.ref, 'n', `${pack.ref}.n`, 'p.t', 'p.a', '{}'];
    const withValue = (index: number, value: unknown) => ok.map((v, i) => (i === index ? value : v));

    const parts = await expectErrorType(raw(insert, withValue(3, `${pack.ref}.other`)), ValidationError);
    expect(parts.field).toBe('ref_parts');
    const triggerRef = await expectErrorType(raw(insert, withValue(4, 'Bad Ref')), ValidationError);
    expect(triggerRef.field).toBe('trigger_ref');
    const criteria = await expectErrorType(raw(insert, withValue(6, '[]')), ValidationError);
    expect(criteria.field).toBe('criteria');
    const fk = await expectErrorType(raw(insert, withValue(0, 999_999_999)), InvalidReferenceError);
    expect(fk.field).toBe('pack_id');
    expect((await raw(insert, ok)).rowCount).toBe(1);
  });
});
