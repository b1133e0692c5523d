import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { mapPgError } from '../../src/db/pg-errors.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, IllegalStateChangeError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import {
  ENFORCEMENT_STATUSES,
  ENFORCEMENT_TRANSITIONS,
  EnforcementRepository,
  canChangeEnforcementStatus,
  type CreateEnforcementInput,
  type EnforcementFilter,
  type EnforcementStatus,
} from '../../src/repositories/enforcements.js';
import { EventRepository } from '../../src/repositories/events.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { createTestPool } from '../../src/testing/database.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { EnforcementFixture } from '../../src/testing/fixtures/enforcements.js';
import { EventFixture } from '../../src/testing/fixtures/events.js';
import { RuleFixture } from '../../src/testing/fixtures/rules.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed, recording } from '../support/sql.js';

const ctx = useTransactionPerTest();

/** Values of the seeded volume the plan tests filter on, each matching a handful of enforcements. */
interface SeededEnforcements {
  ruleId: number;
  ruleRef: string;
  eventId: number;
  /** Ten minutes before now: about ten enforcements are newer. */
  recent: Date;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 100 packs with three rules each, 1,000 events and 3,000
 * enforcements, one a minute over the last two days. Each rule has ten
 * enforcements and each event three. About ten are still created; the rest
 * are processed, failed or disabled, interleaved as in a live table rather
 * than in runs (runs would make the (status, created_at) index, which
 * PostgreSQL 18 can skip-scan, look as good as created_at's for `since`).
 */
async function seedEnforcements(db: Executor): Promise<SeededEnforcements> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH p AS (
       INSERT INTO packs (ref, version, name)
       SELECT $1 || '_' || g, '1.0.0', 'Seeded pack' FROM generate_series(1, 100) AS g
       RETURNING id, ref
     ),
     r AS (
       INSERT INTO rules (pack_id, pack_ref, name, ref, trigger_ref, action_ref)
       SELECT p.id, p.ref, 'r' || i, p.ref || '.r' || i, p.ref || '.fired', p.ref || '.run' FROM p CROSS JOIN generate_series(1, 3) AS i
       RETURNING id, ref, trigger_ref
     ),
     e AS (
       INSERT INTO events (trigger_ref, created_at)
       SELECT $1 || '_' || g % 100 || '.fired', now() - make_interval(mins => g) FROM generate_series(1, 1000) AS g
       RETURNING id
     ),
     rn AS (SELECT r.*, row_number() OVER (ORDER BY id) - 1 AS k FROM r),
     en AS (SELECT e.id, row_number() OVER (ORDER BY id) - 1 AS k FROM e)
     INSERT INTO enforcements (rule_id, rule_ref, event_id, trigger_ref, status, created_at)
     SELECT rn.id, rn.ref, en.id, rn.trigger_ref,
            CASE WHEN g % 300 = 7 THEN 'created' ELSE (ARRAY['processed', 'processed', 'failed', 'disabled'])[1 + g % 4] END,
            now() - make_interval(mins => g)
       FROM generate_series(0, 2999) AS g
       JOIN rn ON rn.k = g % 300
       JOIN en ON en.k = g % 1000`,
    [prefix],
  );
  await analyze(db, 'packs', 'rules', 'events', 'enforcements');
  const { rows } = await db.query<{ rule_id: number; rule_ref: string; event_id: number; recent: Date }>(
    `SELECT rule_id, rule_ref, event_id, now() - interval '10 minutes' AS recent FROM enforcements WHERE rule_ref = $1 ORDER BY id LIMIT 1`,
    [`${prefix}_7.r2`],
  );
  const { rule_id, rule_ref, event_id, recent } = rows[0]!;
  return { ruleId: rule_id, ruleRef: rule_ref, eventId: event_id, recent };
}

/** A rule and an event of its trigger. */
async function match(db: Executor, criteria: Record<string, unknown> = { 'trigger.n': { type: 'gt', pattern: 1 } }) {
  const rule = await new RuleFixture().withCriteria(criteria).create(db);
  const event = await new EventFixture().forTrigger(rule.triggerRef).withPayload({ n: 2, who: 'ci' }).create(db);
  return { rule, event };
}

describe('ENFORCEMENT_STATUSES', () => {
  it('equals the list in the enforcements_status_check constraint, in order', async () => {
    expect(await checkValues(ctx.db, 'enforcements_status_check')).toEqual([...ENFORCEMENT_STATUSES]);
  });

  it('the transition table only names known statuses, and only created moves', () => {
    expect(Object.keys(ENFORCEMENT_TRANSITIONS).sort()).toEqual([...ENFORCEMENT_STATUSES].sort());
    for (const targets of Object.values(ENFORCEMENT_TRANSITIONS)) for (const to of targets) expect(ENFORCEMENT_STATUSES).toContain(to);
    expect(canChangeEnforcementStatus('created', 'processed')).toBe(true);
    expect(canChangeEnforcementStatus('processed', 'created')).toBe(false);
  });
});

describe('EnforcementRepository.create', () => {
  it('copies rule ref, trigger ref and criteria from the rule and payload from the event, in one round trip', async () => {
    const { rule, event } = await match(ctx.db);
    const db = recording(ctx.db);
    const enforcement = await EnforcementRepository.create(db, { ruleId: rule.id, eventId: event.id });
    expect(db.statements).toHaveLength(1);
    expect(enforcement).toMatchObject({
      ruleId: rule.id,
      ruleRef: rule.ref,
      eventId: event.id,
      triggerRef: rule.triggerRef,
      status: 'created',
      payload: { n: 2, who: 'ci' },
      criteria: { 'trigger.n': { type: 'gt', pattern: 1 } },
      resolvedParams: {},
    });
    expect(typeof enforcement.id).toBe('number');
    expect(enforcement.createdAt).toBeInstanceOf(Date);
    expect(await EnforcementRepository.getById(ctx.db, enforcement.id)).toEqual(enforcement);
  });

  it('takes a rule ref and resolves its id', async () => {
    const { rule, event } = await match(ctx.db);
    const enforcement = await EnforcementRepository.create(ctx.db, { ruleRef: rule.ref, eventId: event.id });
    expect(enforcement).toMatchObject({ ruleId: rule.id, ruleRef: rule.ref, criteria: rule.criteria });
  });

  it('keeps a rule ref that names no rule, with a null rule id (recorded history)', async () => {
    const event = await new EventFixture().create(ctx.db);
    const enforcement = await EnforcementRepository.create(ctx.db, { ruleRef: 'deleted.rule', eventId: event.id });
    expect(enforcement).toMatchObject({ ruleId: null, ruleRef: 'deleted.rule', triggerRef: event.triggerRef, criteria: {}, payload: event.payload });
  });

  it('uses payload, criteria, resolved params and status when given', async () => {
    const { rule, event } = await match(ctx.db);
    const enforcement = await EnforcementRepository.create(ctx.db, {
      ruleId: rule.id,
      eventId: event.id,
      payload: { overridden: true },
      criteria: {},
      resolvedParams: { message: 'hello ci' },
      status: 'disabled',
    });
    expect(enforcement).toMatchObject({ payload: { overridden: true }, criteria: {}, resolvedParams: { message: 'hello ci' }, status: 'disabled' });
  });

  it('refuses a rule id or event id that names nothing, and inserts nothing', async () => {
    const { rule, event } = await match(ctx.db);
    const noRule = await expectErrorType(EnforcementRepository.create(ctx.db, { ruleId: 999_999_999, eventId: event.id }), InvalidReferenceError);
    expect(noRule).toMatchObject({ entity: 'enforcement', field: 'ruleId', value: 999_999_999 });
    const noEvent = await expectErrorType(EnforcementRepository.create(ctx.db, { ruleId: rule.id, eventId: 999_999_999 }), InvalidReferenceError);
    expect(noEvent).toMatchObject({ entity: 'enforcement', field: 'eventId', value: 999_999_999 });
    await expectErrorType(EnforcementRepository.create(ctx.db, { ruleRef: rule.ref, eventId: 999_999_999 }), InvalidReferenceError);
    expect((await EnforcementRepository.list(ctx.db, { ruleId: rule.id })).total).toBe(0);
  });

  it('refuses an event of another trigger than the rule listens to', async () => {
    const { rule } = await match(ctx.db);
    const stranger = await new EventFixture().create(ctx.db);
    const error = await expectErrorType(EnforcementRepository.create(ctx.db, { ruleId: rule.id, eventId: stranger.id }), ValidationError);
    expect(error).toMatchObject({ field: 'eventId' });
    expect(error.message).toContain(rule.triggerRef);
    expect(error.message).toContain(stranger.triggerRef);
  });

  it('allows one enforcement per rule and event: a second create is AlreadyExistsError', async () => {
    const { rule, event } = await match(ctx.db);
    const first = await EnforcementRepository.create(ctx.db, { ruleId: rule.id, eventId: event.id });
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => EnforcementRepository.create(tx, { ruleRef: rule.ref, eventId: event.id })),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ code: 'ATTUNE_ALREADY_EXISTS', entity: 'enforcement', field: 'rule_id, event_id', value: `${rule.id}, ${event.id}` });
    const page = await EnforcementRepository.list(ctx.db, { eventId: event.id });
    expect(page.items.map((e) => e.id)).toEqual([first.id]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['neither rule id nor ref', { eventId: 1 }, 'ruleId'],
    ['both rule id and ref', { ruleId: 1, ruleRef: 'a.b', eventId: 1 }, 'ruleRef'],
    ['no event id', { ruleId: 1 }, 'eventId'],
    ['a malformed rule ref', { ruleRef: 'A.B', eventId: 1 }, 'ruleRef'],
    ['a fractional event id', { ruleId: 1, eventId: 1.5 }, 'eventId'],
    ['an unknown status', { ruleId: 1, eventId: 1, status: 'done' }, 'status'],
    ['a payload that is an array', { ruleId: 1, eventId: 1, payload: [] }, 'payload'],
    ['criteria that are null', { ruleId: 1, eventId: 1, criteria: null }, 'criteria'],
    ['resolved params that are a string', { ruleId: 1, eventId: 1, resolvedParams: 'x' }, 'resolvedParams'],
    ['an unknown field', { ruleId: 1, eventId: 1, triggerRef: 'a.b' }, 'triggerRef'],
  ])('refuses %s before any SQL runs', async (_label, input, field) => {
    const db = recording(ctx.db);
    const error = await expectErrorType(EnforcementRepository.create(db, input as unknown as CreateEnforcementInput), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'enforcement', field });
    expect(db.statements).toHaveLength(0);
    await expectErrorType(EnforcementRepository.createIfAbsent(db, input as unknown as CreateEnforcementInput), ValidationError);
    expect(db.statements).toHaveLength(0);
  });
});

describe('EnforcementRepository.createIfAbsent', () => {
  it('creates once; a second call inserts nothing and returns the existing row, each in one round trip', async () => {
    const { rule, event } = await match(ctx.db);
    const db = recording(ctx.db);
    const first = await EnforcementRepository.createIfAbsent(db, { ruleId: rule.id, eventId: event.id, resolvedParams: { a: 1 } });
    expect(first.created).toBe(true);
    expect(first.enforcement).toMatchObject({ ruleId: rule.id, eventId: event.id, resolvedParams: { a: 1 } });
    const processed = await EnforcementRepository.setStatus(ctx.db, first.enforcement.id, 'processed');

    const second = await EnforcementRepository.createIfAbsent(db, { ruleRef: rule.ref, eventId: event.id, resolvedParams: { a: 2 } });
    expect(db.statements).toHaveLength(2);
    expect(second.created).toBe(false);
    expect(second.enforcement).toEqual(processed);
    expect((await EnforcementRepository.list(ctx.db, { eventId: event.id })).total).toBe(1);
  });

  it('returns the row an earlier create made', async () => {
    const { rule, event } = await match(ctx.db);
    const made = await EnforcementRepository.create(ctx.db, { ruleId: rule.id, eventId: event.id });
    const again = await EnforcementRepository.createIfAbsent(ctx.db, { ruleId: rule.id, eventId: event.id });
    expect(again).toEqual({ enforcement: made, created: false });
  });

  it('still refuses missing references and a trigger mismatch', async () => {
    const { rule, event } = await match(ctx.db);
    await expectErrorType(EnforcementRepository.createIfAbsent(ctx.db, { ruleId: 999_999_999, eventId: event.id }), InvalidReferenceError);
    await expectErrorType(EnforcementRepository.createIfAbsent(ctx.db, { ruleId: rule.id, eventId: 999_999_999 }), InvalidReferenceError);
    const stranger = await new EventFixture().create(ctx.db);
    await expectErrorType(EnforcementRepository.createIfAbsent(ctx.db, { ruleId: rule.id, eventId: stranger.id }), ValidationError);
  });

  it('different rules for one event each get their own enforcement', async () => {
    const { rule, event } = await match(ctx.db);
    const sibling = await new RuleFixture().forTrigger({ id: rule.triggerId!, ref: rule.triggerRef }).create(ctx.db);
    const a = await EnforcementRepository.createIfAbsent(ctx.db, { ruleId: rule.id, eventId: event.id });
    const b = await EnforcementRepository.createIfAbsent(ctx.db, { ruleId: sibling.id, eventId: event.id });
    expect([a.created, b.created]).toEqual([true, true]);
    expect(a.enforcement.id).not.toBe(b.enforcement.id);
  });
});

describe('EnforcementRepository.setStatus', () => {
  const pairs = ENFORCEMENT_STATUSES.flatMap((from) => ENFORCEMENT_STATUSES.map((to) => [from, to] as [EnforcementStatus, EnforcementStatus]));
  const allowed = pairs.filter(([from, to]) => canChangeEnforcementStatus(from, to));
  const refused = pairs.filter(([from, to]) => !canChangeEnforcementStatus(from, to));

  it('allows exactly created → processed, failed or disabled', () => {
    expect(allowed).toEqual([
      ['created', 'processed'],
      ['created', 'disabled'],
      ['created', 'failed'],
    ]);
  });

  it.each(allowed)('moves %s → %s and moves updated_at', async (from, to) => {
    const enforcement = await new EnforcementFixture().withStatus(from).create(ctx.db);
    const moved = await EnforcementRepository.setStatus(ctx.db, enforcement.id, to);
    expect(moved).toMatchObject({ id: enforcement.id, status: to, resolvedParams: enforcement.resolvedParams });
    expect(moved.updatedAt.getTime()).toBeGreaterThan(enforcement.updatedAt.getTime());
    expect((await EnforcementRepository.getById(ctx.db, enforcement.id)).status).toBe(to);
  });

  it.each(refused)('refuses %s → %s with IllegalStateChangeError and leaves the row alone', async (from, to) => {
    const enforcement = await new EnforcementFixture().withStatus(from).create(ctx.db);
    const error = await expectErrorType(EnforcementRepository.setStatus(ctx.db, enforcement.id, to), IllegalStateChangeError);
    expect(error).toMatchObject({ code: 'ATTUNE_ILLEGAL_STATE_CHANGE', entity: 'enforcement', field: 'status', from, to });
    expect(await EnforcementRepository.getById(ctx.db, enforcement.id)).toEqual(enforcement);
  });

  it('a missing id is NotFoundError; an unknown status or bad id is refused before SQL', async () => {
    const error = await expectErrorType(EnforcementRepository.setStatus(ctx.db, 999_999_999, 'processed'), NotFoundError);
    expect(error).toMatchObject({ entity: 'enforcement', field: 'id', value: 999_999_999 });
    const db = recording(ctx.db);
    const status = await expectErrorType(EnforcementRepository.setStatus(db, 1, 'done' as never), ValidationError);
    expect(status.field).toBe('status');
    await expectErrorType(EnforcementRepository.setStatus(db, 0, 'processed'), ValidationError);
    expect(db.statements).toHaveLength(0);
  });

  it('is one round trip when the move is legal', async () => {
    const enforcement = await new EnforcementFixture().create(ctx.db);
    const db = recording(ctx.db);
    await EnforcementRepository.setStatus(db, enforcement.id, 'failed');
    expect(db.statements).toHaveLength(1);
  });
});

describe('EnforcementRepository.list', () => {
  it('filters by rule id, rule ref, event id, status and since, newest first', async () => {
    const { rule, event } = await match(ctx.db);
    const other = await match(ctx.db);
    const second = await new EventFixture().forTrigger(rule.triggerRef).create(ctx.db);
    const e1 = await new EnforcementFixture().forRule(rule).forEvent(event).create(ctx.db);
    const e2 = await new EnforcementFixture().forRule(rule).forEvent(second).withStatus('processed').create(ctx.db);
    const e3 = await new EnforcementFixture().forRule(other.rule).forEvent(other.event).withStatus('processed').create(ctx.db);
    const ids = async (filter: Parameters<typeof EnforcementRepository.list>[1]) => (await EnforcementRepository.list(ctx.db, filter)).items.map((e) => e.id);

    expect(await ids({ ruleId: rule.id })).toEqual([e2.id, e1.id]);
    expect(await ids({ ruleRef: other.rule.ref })).toEqual([e3.id]);
    expect(await ids({ eventId: event.id })).toEqual([e1.id]);
    expect(await ids({ ruleId: rule.id, status: 'processed' })).toEqual([e2.id]);
    expect(await ids({ ruleId: rule.id, since: new Date(Date.now() + 3_600_000) })).toEqual([]);
    expect(await ids({ ruleId: rule.id, since: new Date(Date.now() - 3_600_000) })).toEqual([e2.id, e1.id]);
    const page = await EnforcementRepository.list(ctx.db, { ruleId: rule.id, limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.items.map((e) => e.id)).toEqual([e1.id]);
  });

  it.each([
    ['ruleId', /^enforcements_rule_(id_idx|event_key)$/, (seeded: SeededEnforcements) => ({ ruleId: seeded.ruleId })],
    ['ruleRef', /^enforcements_rule_ref_created_at_idx$/, (seeded: SeededEnforcements) => ({ ruleRef: seeded.ruleRef })],
    ['eventId', /^enforcements_event_id_idx$/, (seeded: SeededEnforcements) => ({ eventId: seeded.eventId })],
    ['status', /^enforcements_status_created_at_idx$/, () => ({ status: 'created' })],
    ['since', /^enforcements_created_at_idx$/, (seeded: SeededEnforcements) => ({ since: seeded.recent })],
  ] as const)('serves the %s filter with an index at volume (%s)', async (_label, index, filterOf) => {
    const seeded = await seedEnforcements(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => EnforcementRepository.list(db, filterOf(seeded) as EnforcementFilter));
    expect(plan.indexes).toEqual(expect.arrayContaining([expect.stringMatching(index)]));
    expect(plan.seqScans).toEqual([]);
  });

  it('refuses malformed filters before any SQL', async () => {
    const db = recording(ctx.db);
    await expectErrorType(EnforcementRepository.list(db, { status: 'done' as never }), ValidationError);
    await expectErrorType(EnforcementRepository.list(db, { ruleRef: 'x' }), ValidationError);
    await expectErrorType(EnforcementRepository.list(db, { ruleId: -1 }), ValidationError);
    await expectErrorType(EnforcementRepository.list(db, { eventId: 0 }), ValidationError);
    await expectErrorType(EnforcementRepository.list(db, { since: Date.now() as never }), ValidationError);
    expect(db.statements).toHaveLength(0);
  });

  it('findByRuleAndEvent finds the one enforcement of a pair, or null', async () => {
    const enforcement = await new EnforcementFixture().create(ctx.db);
    expect(await EnforcementRepository.findByRuleAndEvent(ctx.db, enforcement.ruleId!, enforcement.eventId!)).toEqual(enforcement);
    expect(await EnforcementRepository.findByRuleAndEvent(ctx.db, enforcement.ruleId!, 999_999_999)).toBeNull();
    await expectErrorType(EnforcementRepository.findByRuleAndEvent(ctx.db, 0, 1), ValidationError);
  });
});

describe('EnforcementRepository.update, delete and lookups', () => {
  it('updates the resolved params only, and moves updated_at', async () => {
    const enforcement = await new EnforcementFixture().withResolvedParams({ a: 1 }).create(ctx.db);
    const updated = await EnforcementRepository.update(ctx.db, enforcement.id, { resolvedParams: { a: 2, b: [1] } });
    expect(updated).toMatchObject({ resolvedParams: { a: 2, b: [1] }, status: 'created', payload: enforcement.payload });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(enforcement.updatedAt.getTime());
    expect(await EnforcementRepository.update(ctx.db, enforcement.id, {})).toEqual(updated);
  });

  it('refuses status (setStatus checks moves), recorded fields and a missing id', async () => {
    const enforcement = await new EnforcementFixture().create(ctx.db);
    const status = await expectErrorType(EnforcementRepository.update(ctx.db, enforcement.id, { status: 'processed' } as never), ValidationError);
    expect(status.message).toContain('setStatus');
    for (const patch of [{ ruleId: 1 }, { ruleRef: 'a.b' }, { eventId: 1 }, { payload: {} }, { criteria: {} }, { triggerRef: 'a.b' }]) {
      await expectErrorType(EnforcementRepository.update(ctx.db, enforcement.id, patch as never), ValidationError);
    }
    await expectErrorType(EnforcementRepository.update(ctx.db, enforcement.id, { resolvedParams: null } as never), ValidationError);
    await expectErrorType(EnforcementRepository.update(ctx.db, 999_999_999, { resolvedParams: {} }), NotFoundError);
    expect(await EnforcementRepository.getById(ctx.db, enforcement.id)).toEqual(enforcement);
  });

  it('findById returns null when absent; getById throws NotFoundError', async () => {
    expect(await EnforcementRepository.findById(ctx.db, 999_999_999)).toBeNull();
    await expectErrorType(EnforcementRepository.getById(ctx.db, 999_999_999), NotFoundError);
    await expectErrorType(EnforcementRepository.findById(ctx.db, 1.25), ValidationError);
  });

  it('delete returns whether a row went', async () => {
    const enforcement = await new EnforcementFixture().create(ctx.db);
    expect(await EnforcementRepository.delete(ctx.db, enforcement.id)).toBe(true);
    expect(await EnforcementRepository.delete(ctx.db, enforcement.id)).toBe(false);
  });

  it('keeps its refs and copies when the rule, the event and the pack go', async () => {
    const enforcement = await new EnforcementFixture().create(ctx.db);
    const rule = await RuleRepository.getById(ctx.db, enforcement.ruleId!);
    await EventRepository.delete(ctx.db, enforcement.eventId!);
    expect(await EnforcementRepository.getById(ctx.db, enforcement.id)).toMatchObject({ eventId: null, ruleId: rule.id });
    await PackRepository.delete(ctx.db, rule.packId);
    const kept = await EnforcementRepository.getById(ctx.db, enforcement.id);
    expect(kept).toMatchObject({ ruleId: null, ruleRef: rule.ref, eventId: null, triggerRef: enforcement.triggerRef, payload: enforcement.payload });
    // With the ids gone the pair is no longer unique-checked, and the row is still listed by ref.
    expect((await EnforcementRepository.list(ctx.db, { ruleRef: rule.ref })).items.map((e) => e.id)).toEqual([enforcement.id]);
  });
});

describe('EnforcementFixture', () => {
  it('makes a matching rule and event when given neither, one or the other', async () => {
    const plain = await new EnforcementFixture().create(ctx.db);
    expect(plain).toMatchObject({ status: 'created' });
    expect(plain.ruleId).not.toBeNull();
    expect(plain.eventId).not.toBeNull();

    const { rule, event } = await match(ctx.db);
    const forRule = await new EnforcementFixture().forRule(rule).create(ctx.db);
    expect(forRule).toMatchObject({ ruleId: rule.id, triggerRef: rule.triggerRef });
    expect(forRule.eventId).not.toBe(event.id);
    const forEvent = await new EnforcementFixture().forEvent(event).create(ctx.db);
    expect(forEvent).toMatchObject({ eventId: event.id, triggerRef: event.triggerRef });
    expect(forEvent.ruleId).not.toBe(rule.id);

    expect(() => new EnforcementFixture().forRule(rule).build()).toThrow(/forEvent/);
    expect(new EnforcementFixture().forRule(rule).forEvent(event).withStatus('failed').build()).toEqual({ ruleId: rule.id, eventId: event.id, status: 'failed' });
  });
});

describe('enforcements table constraints', () => {
  const raw = (sql: string, values: unknown[]) =>
    withTransaction(ctx.db, async (tx) => {
      try {
        return await tx.query(sql, values);
      } catch (error) {
        throw mapPgError(error, 'enforcement');
      }
    });

  it('CHECKs status, refs and JSON shapes, and the foreign keys, even around the repository', async () => {
    const insert = 'INSERT INTO enforcements (rule_ref, trigger_ref, status, payload, event_id) VALUES ($1, $2, $3, $4, $5)';
    const ok = ['a.rule', 'a.trigger', 'created', '{}', null];
    const withValue = (index: number, value: unknown) => ok.map((v, i) => (i === index ? value : v));
    expect((await expectErrorType(raw(insert, withValue(2, 'done')), ValidationError)).field).toBe('status');
    expect((await expectErrorType(raw(insert, withValue(0, 'norule')), ValidationError)).field).toBe('rule_ref');
    expect((await expectErrorType(raw(insert, withValue(1, 'A.B')), ValidationError)).field).toBe('trigger_ref');
    expect((await expectErrorType(raw(insert, withValue(3, '[]')), ValidationError)).field).toBe('payload');
    expect((await expectErrorType(raw(insert, withValue(4, 999_999_999)), InvalidReferenceError)).field).toBe('event_id');
    expect((await raw(insert, ok)).rowCount).toBe(1);
  });
});

describe('enforcements under concurrency (real commits)', () => {
  /** Commits a rule and an event, runs `body`, then removes every row it made. */
  async function committed(body: (pool: ReturnType<typeof createTestPool>, ids: { ruleId: number; eventId: number }) => Promise<void>): Promise<void> {
    const pool = createTestPool({ maxConnections: 4 });
    const { rule, event } = await withTransaction(pool, (tx) => match(tx));
    try {
      await body(pool, { ruleId: rule.id, eventId: event.id });
    } finally {
      await pool.query('DELETE FROM enforcements WHERE event_id = $1 OR rule_ref = $2', [event.id, rule.ref]);
      await pool.query('DELETE FROM events WHERE id = $1', [event.id]);
      await pool.query('DELETE FROM triggers WHERE ref = $1', [rule.triggerRef]);
      await pool.query('DELETE FROM packs WHERE id = $1', [rule.packId]);
      await pool.end();
    }
  }

  it('two racing setStatus calls: exactly one wins, the other sees the real current status', async () => {
    await committed(async (pool, ids) => {
      const enforcement = await EnforcementRepository.create(pool, ids);
      const results = await Promise.allSettled([
        EnforcementRepository.setStatus(pool, enforcement.id, 'processed'),
        EnforcementRepository.setStatus(pool, enforcement.id, 'failed'),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const final = (await EnforcementRepository.getById(pool, enforcement.id)).status;
      expect(lost[0]!.reason).toBeInstanceOf(IllegalStateChangeError);
      expect(lost[0]!.reason).toMatchObject({ from: final });
    });
  });

  it('createIfAbsent racing an uncommitted insert of the same pair waits, then returns the committed row', async () => {
    await committed(async (pool, ids) => {
      const holder = await pool.connect();
      try {
        await holder.query('BEGIN');
        const first = await EnforcementRepository.createIfAbsent(holder, ids);
        expect(first.created).toBe(true);
        const racer = recording(pool);
        const racing = EnforcementRepository.createIfAbsent(racer, ids);
        // Wait until the racing insert is blocked on the holder's uncommitted row.
        let blocked = false;
        for (let i = 0; i < 500 && !blocked; i++) {
          const waiting = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          blocked = waiting.rows[0]!.n > 0;
          if (!blocked) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(blocked).toBe(true);
        await holder.query('COMMIT');
        const second = await racing;
        expect(second.created).toBe(false);
        expect(second.enforcement.id).toBe(first.enforcement.id);
        // The racing statement's snapshot predates the commit, so the row was read by a second statement.
        expect(racer.statements).toHaveLength(2);
      } finally {
        holder.release();
      }
    });
  });
});
