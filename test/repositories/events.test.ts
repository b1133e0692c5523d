import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { mapPgError } from '../../src/db/pg-errors.js';
import { withTransaction } from '../../src/db/transaction.js';
import { InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { EventRepository, MAX_EVENT_BATCH, type CreateEventInput } from '../../src/repositories/events.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { EventFixture } from '../../src/testing/fixtures/events.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, indexesUsed, recording } from '../support/sql.js';

const ctx = useTransactionPerTest();

/** Values of the seeded volume the plan tests filter on, each matching about ten events. */
interface SeededEvents {
  triggerRef: string;
  triggerId: number;
  source: string;
  traceId: string;
  /** Ten minutes before now: about ten events are newer. */
  recent: Date;
  /** About ten events are older. */
  old: Date;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 300 built-in triggers and 3,000 events, one a minute over the
 * last two days. Each trigger, each of 300 sources and each of 150 trace ids
 * (carried by half the events) has about ten events.
 */
async function seedEvents(db: Executor): Promise<SeededEvents> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH t AS (
       INSERT INTO triggers (pack_ref, name, ref)
       SELECT $1 || '_' || g, 'fired', $1 || '_' || g || '.fired' FROM generate_series(0, 299) AS g
       RETURNING id, ref
     ),
     numbered AS (SELECT id, ref, row_number() OVER (ORDER BY id) - 1 AS k FROM t)
     INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id, created_at)
     SELECT numbered.id, numbered.ref, jsonb_build_object('n', g), $1 || '_sensor_' || (g * 7) % 300,
            CASE WHEN g % 2 = 0 THEN $1 || '_trace_' || g % 150 END,
            now() - make_interval(mins => g)
       FROM generate_series(1, 3000) AS g JOIN numbered ON numbered.k = g % 300`,
    [prefix],
  );
  await analyze(db, 'triggers', 'events');
  const { rows } = await db.query<{ id: number; ref: string; recent: Date; old: Date }>(
    `SELECT id, ref, now() - interval '10 minutes' AS recent, now() - interval '2990 minutes' AS old FROM triggers WHERE ref = $1`,
    [`${prefix}_7.fired`],
  );
  const { id, ref, recent, old } = rows[0]!;
  return { triggerRef: ref, triggerId: id, source: `${prefix}_sensor_7`, traceId: `${prefix}_trace_8`, recent, old };
}

async function countEvents(): Promise<number> {
  const result = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
  return result.rows[0]!.n;
}

/** A trigger ref no trigger row has. */
const unknownRef = () => `${uniqueName('gone')}.fired`;

describe('EventRepository.create', () => {
  it('stores the event and resolves the trigger id from the ref in one round trip', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const db = recording(ctx.db);
    const event = await EventRepository.create(db, {
      triggerRef: trigger.ref,
      payload: { commit: 'abc123', files: ['a.ts', 'b.ts'], nested: { ok: true, n: null } },
      source: 'github.webhook',
      traceId: 'trace-1',
    });
    expect(db.statements).toHaveLength(1);
    expect(event).toMatchObject({
      triggerId: trigger.id,
      triggerRef: trigger.ref,
      payload: { commit: 'abc123', files: ['a.ts', 'b.ts'], nested: { ok: true, n: null } },
      source: 'github.webhook',
      traceId: 'trace-1',
    });
    expect(typeof event.id).toBe('number');
    expect(event.createdAt).toBeInstanceOf(Date);
    expect(await EventRepository.getById(ctx.db, event.id)).toEqual(event);
  });

  it('takes a trigger id and fills in the ref, with defaults for the rest', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const event = await EventRepository.create(ctx.db, { triggerId: trigger.id });
    expect(event).toMatchObject({ triggerId: trigger.id, triggerRef: trigger.ref, payload: {}, source: null, traceId: null });
  });

  it('keeps an event for a trigger ref with no trigger row, with a null trigger id', async () => {
    const ref = unknownRef();
    const event = await EventRepository.create(ctx.db, { triggerRef: ref, payload: { x: 1 } });
    expect(event).toMatchObject({ triggerId: null, triggerRef: ref, payload: { x: 1 } });
  });

  it('records the given createdAt', async () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    const event = await new EventFixture(unknownRef()).at(at).create(ctx.db);
    expect(event.createdAt.toISOString()).toBe(at.toISOString());
  });

  it('refuses a trigger id that names no trigger, and inserts nothing', async () => {
    const before = await countEvents();
    const error = await expectErrorType(EventRepository.create(ctx.db, { triggerId: 999_999_999 }), InvalidReferenceError);
    expect(error).toMatchObject({ code: 'ATTUNE_INVALID_REFERENCE', entity: 'event', field: 'triggerId', value: 999_999_999 });
    expect(error.message).toContain('999999999');
    expect(await countEvents()).toBe(before);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a malformed trigger ref', { triggerRef: 'Not.A Ref' }, 'triggerRef'],
    ['a trigger ref without a dot', { triggerRef: 'nodot' }, 'triggerRef'],
    ['a payload that is an array', { triggerRef: 'a.b', payload: [1] }, 'payload'],
    ['a payload that is null', { triggerRef: 'a.b', payload: null }, 'payload'],
    ['a payload with a NUL character', { triggerRef: 'a.b', payload: { s: 'a\u0000b' } }, 'payload'],
    ['an empty source', { triggerRef: 'a.b', source: '' }, 'source'],
    ['a trace id that is a number', { triggerRef: 'a.b', traceId: 7 }, 'traceId'],
    ['an invalid createdAt', { triggerRef: 'a.b', createdAt: new Date('nope') }, 'createdAt'],
    ['a zero trigger id', { triggerId: 0 }, 'triggerId'],
    ['an unknown field', { triggerRef: 'a.b', updatedAt: new Date() }, 'updatedAt'],
    ['both a trigger ref and id', { triggerRef: 'a.b', triggerId: 1 }, 'triggerId'],
    ['neither a trigger ref nor id', { payload: {} }, 'triggerRef'],
  ])('refuses %s before any SQL runs', async (_label, input, field) => {
    const db = recording(ctx.db);
    const error = await expectErrorType(EventRepository.create(db, input as CreateEventInput), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'event', field });
    expect(db.statements).toHaveLength(0);
  });
});

describe('EventRepository.createMany', () => {
  it('inserts 1,000 events in one round trip and returns them in input order with the right trigger ids', async () => {
    const triggers = [await new TriggerFixture().create(ctx.db), await new TriggerFixture().create(ctx.db), await new TriggerFixture().create(ctx.db)];
    const orphan = unknownRef();
    const inputs: CreateEventInput[] = Array.from({ length: 1000 }, (_, i) => {
      if (i % 7 === 0) return { triggerRef: orphan, payload: { i } };
      if (i % 11 === 0) return { triggerId: triggers[1]!.id, payload: { i }, traceId: `t${i}` };
      return { triggerRef: triggers[i % 3]!.ref, payload: { i }, source: `sensor_${i % 2}` };
    });
    const db = recording(ctx.db);
    const events = await EventRepository.createMany(db, inputs);
    expect(db.statements).toHaveLength(1);
    expect(events).toHaveLength(1000);
    events.forEach((event, i) => {
      expect(event.payload).toEqual({ i });
      if (i % 7 === 0) expect(event).toMatchObject({ triggerId: null, triggerRef: orphan });
      else if (i % 11 === 0) expect(event).toMatchObject({ triggerId: triggers[1]!.id, triggerRef: triggers[1]!.ref, traceId: `t${i}` });
      else expect(event).toMatchObject({ triggerId: triggers[i % 3]!.id, triggerRef: triggers[i % 3]!.ref, source: `sensor_${i % 2}` });
    });
    const ids = events.map((event) => event.id);
    expect(new Set(ids).size).toBe(1000);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(await EventRepository.getById(ctx.db, events[999]!.id)).toEqual(events[999]);
    expect((await EventRepository.list(ctx.db, { triggerRef: orphan, limit: 1000 })).total).toBe(143);
  });

  it('returns [] for an empty batch without touching the database', async () => {
    const db = recording(ctx.db);
    expect(await EventRepository.createMany(db, [])).toEqual([]);
    expect(db.statements).toHaveLength(0);
  });

  it('inserts nothing when one input is invalid, naming its index, before any SQL', async () => {
    const ref = unknownRef();
    const inputs: CreateEventInput[] = Array.from({ length: 1000 }, (_, i) => ({ triggerRef: ref, payload: { i } }));
    inputs[500] = { triggerRef: ref, payload: 'not an object' as never };
    const db = recording(ctx.db);
    const error = await expectErrorType(EventRepository.createMany(db, inputs), ValidationError);
    expect(error.message).toContain('events[500]');
    expect(error).toMatchObject({ entity: 'event', field: 'payload' });
    expect(db.statements).toHaveLength(0);
    expect((await EventRepository.list(ctx.db, { triggerRef: ref })).total).toBe(0);
  });

  it('inserts nothing when one trigger id names no trigger, naming its index', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const inputs: CreateEventInput[] = [{ triggerRef: trigger.ref }, { triggerId: trigger.id }, { triggerId: 999_999_999 }, { triggerRef: trigger.ref }];
    const before = await countEvents();
    const error = await expectErrorType(EventRepository.createMany(ctx.db, inputs), InvalidReferenceError);
    expect(error).toMatchObject({ field: 'triggerId', value: 999_999_999 });
    expect(error.message).toContain('events[2]');
    expect(await countEvents()).toBe(before);
  });

  it(`refuses more than ${MAX_EVENT_BATCH} events, or a non-array, with a clear ValidationError`, async () => {
    const db = recording(ctx.db);
    const tooMany = Array.from({ length: MAX_EVENT_BATCH + 1 }, () => ({ triggerRef: 'a.b' }));
    const error = await expectErrorType(EventRepository.createMany(db, tooMany), ValidationError);
    expect(error.message).toContain(`at most ${MAX_EVENT_BATCH}`);
    expect(error.value).toBe(MAX_EVENT_BATCH + 1);
    await expectErrorType(EventRepository.createMany(db, { triggerRef: 'a.b' } as never), ValidationError);
    expect(db.statements).toHaveLength(0);
  });

  it('stores awkward JSON and text faithfully through the arrays', async () => {
    const ref = unknownRef();
    const payloads = [{ quote: '"', backslash: '\\', brace: '{}', comma: 'a,b', unicode: 'héllo ✓ 😀' }, { nullish: null, empty: '' }, { nested: [[{}], []] }];
    const events = await EventRepository.createMany(
      ctx.db,
      payloads.map((payload, i) => ({ triggerRef: ref, payload, source: i === 0 ? 'NULL' : '{"x"}', traceId: i === 1 ? null : 'a"b' })),
    );
    expect(events.map((e) => e.payload)).toEqual(payloads);
    expect(events.map((e) => e.source)).toEqual(['NULL', '{"x"}', '{"x"}']);
    expect(events.map((e) => e.traceId)).toEqual(['a"b', null, 'a"b']);
  });
});

describe('event lookups', () => {
  it('findById returns null when absent; getById throws NotFoundError; bad ids are refused', async () => {
    expect(await EventRepository.findById(ctx.db, 999_999_999)).toBeNull();
    const error = await expectErrorType(EventRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(error).toMatchObject({ entity: 'event', field: 'id', value: 999_999_999 });
    await expectErrorType(EventRepository.findById(ctx.db, -3), ValidationError);
  });

  it('events are append-only: the repository has no update', () => {
    expect('update' in EventRepository).toBe(false);
  });
});

describe('EventRepository.list', () => {
  it('filters by trigger ref, trigger id, source and trace id, newest first', async () => {
    const t1 = await new TriggerFixture().create(ctx.db);
    const t2 = await new TriggerFixture().create(ctx.db);
    const base = new Date('2030-01-01T00:00:00Z').getTime();
    const at = (minutes: number) => new Date(base + minutes * 60_000);
    const e1 = await new EventFixture().forTrigger(t1).withSource('s1').withTraceId('trace-a').at(at(1)).create(ctx.db);
    const e2 = await new EventFixture().forTrigger(t1).withSource('s2').at(at(3)).create(ctx.db);
    const e3 = await new EventFixture().forTrigger(t2).withSource('s1').withTraceId('trace-a').at(at(2)).create(ctx.db);
    // Same created_at as e2: id breaks the tie, newest first.
    const e4 = await new EventFixture().forTrigger(t1).withSource('s1').at(at(3)).create(ctx.db);
    const ids = async (filter: Parameters<typeof EventRepository.list>[1]) => (await EventRepository.list(ctx.db, filter)).items.map((e) => e.id);

    expect(await ids({ triggerRef: t1.ref })).toEqual([e4.id, e2.id, e1.id]);
    expect(await ids({ triggerId: t2.id })).toEqual([e3.id]);
    expect(await ids({ source: 's1', since: at(0) })).toEqual([e4.id, e3.id, e1.id]);
    expect(await ids({ traceId: 'trace-a' })).toEqual([e3.id, e1.id]);
    expect(await ids({ triggerRef: t1.ref, source: 's1' })).toEqual([e4.id, e1.id]);
  });

  it('filters by a created_at range: since inclusive, until exclusive', async () => {
    const ref = unknownRef();
    const base = new Date('2031-06-01T00:00:00Z').getTime();
    const at = (hours: number) => new Date(base + hours * 3_600_000);
    const events = await EventRepository.createMany(
      ctx.db,
      [0, 1, 2, 3, 4].map((hours) => ({ triggerRef: ref, createdAt: at(hours), payload: { hours } })),
    );
    const hours = async (filter: Parameters<typeof EventRepository.list>[1]) =>
      (await EventRepository.list(ctx.db, { triggerRef: ref, ...filter })).items.map((e) => e.payload.hours);

    expect(await hours({ since: at(1), until: at(3) })).toEqual([2, 1]);
    expect(await hours({ since: at(3) })).toEqual([4, 3]);
    expect(await hours({ until: at(1) })).toEqual([0]);
    expect(await hours({ since: at(5) })).toEqual([]);
    expect(await hours({})).toEqual([4, 3, 2, 1, 0]);
    expect(events).toHaveLength(5);
  });

  it('paginates with a total', async () => {
    const ref = unknownRef();
    await EventRepository.createMany(ctx.db, Array.from({ length: 5 }, (_, i) => ({ triggerRef: ref, payload: { i } })));
    const page = await EventRepository.list(ctx.db, { triggerRef: ref, limit: 2, offset: 2 });
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 2 });
    expect(page.items.map((e) => e.payload.i)).toEqual([2, 1]);
  });

  it.each([
    ['triggerRef', 'events_trigger_ref_created_at_idx', (seeded: SeededEvents) => ({ triggerRef: seeded.triggerRef })],
    ['triggerId', 'events_trigger_id_idx', (seeded: SeededEvents) => ({ triggerId: seeded.triggerId })],
    ['source', 'events_source_created_at_idx', (seeded: SeededEvents) => ({ source: seeded.source })],
    ['traceId', 'events_trace_id_idx', (seeded: SeededEvents) => ({ traceId: seeded.traceId })],
    ['since', 'events_created_at_idx', (seeded: SeededEvents) => ({ since: seeded.recent })],
  ] as const)('serves the %s filter with %s at volume', async (_label, index, filterOf) => {
    const seeded = await seedEvents(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => EventRepository.list(db, filterOf(seeded)));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });

  it('serves deleteOlderThan with events_created_at_idx at volume', async () => {
    const { old } = await seedEvents(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => EventRepository.deleteOlderThan(db, old));
    expect(plan.indexes).toContain('events_created_at_idx');
    expect(plan.seqScans).toEqual([]);
  });

  it('refuses malformed filters before any SQL', async () => {
    const db = recording(ctx.db);
    await expectErrorType(EventRepository.list(db, { triggerRef: 'bad' }), ValidationError);
    await expectErrorType(EventRepository.list(db, { triggerId: 0 }), ValidationError);
    await expectErrorType(EventRepository.list(db, { since: '2024-01-01' as never }), ValidationError);
    await expectErrorType(EventRepository.list(db, { until: new Date('x') }), ValidationError);
    await expectErrorType(EventRepository.list(db, { source: 5 as never }), ValidationError);
    await expectErrorType(EventRepository.list(db, { limit: 1001 }), ValidationError);
    expect(db.statements).toHaveLength(0);
  });
});

describe('event deletion and retention', () => {
  it('delete returns whether a row went', async () => {
    const event = await new EventFixture().create(ctx.db);
    expect(await EventRepository.delete(ctx.db, event.id)).toBe(true);
    expect(await EventRepository.delete(ctx.db, event.id)).toBe(false);
    expect(await EventRepository.findById(ctx.db, event.id)).toBeNull();
  });

  it('deleteOlderThan removes events created before the date and returns the count', async () => {
    const ref = unknownRef();
    // Far in the past, so no other row in the database is older.
    const old = new Date('1990-01-01T00:00:00Z');
    const cutoff = new Date('1990-01-02T00:00:00Z');
    await EventRepository.createMany(ctx.db, [
      { triggerRef: ref, createdAt: old },
      { triggerRef: ref, createdAt: new Date(old.getTime() + 1000) },
      { triggerRef: ref, createdAt: cutoff },
      { triggerRef: ref },
    ]);
    expect(await EventRepository.deleteOlderThan(ctx.db, cutoff)).toBe(2);
    const left = await EventRepository.list(ctx.db, { triggerRef: ref });
    expect(left.items.map((e) => e.createdAt.getTime() >= cutoff.getTime())).toEqual([true, true]);
    expect(await EventRepository.deleteOlderThan(ctx.db, cutoff)).toBe(0);
    await expectErrorType(EventRepository.deleteOlderThan(ctx.db, 'yesterday' as never), ValidationError);
  });

  it('keeps the trigger ref with a null id after the trigger is deleted', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const event = await new EventFixture().forTrigger(trigger).create(ctx.db);
    expect(event.triggerId).toBe(trigger.id);
    await TriggerRepository.delete(ctx.db, trigger.id);
    expect(await EventRepository.getById(ctx.db, event.id)).toMatchObject({ triggerId: null, triggerRef: trigger.ref });
  });
});

describe('EventFixture', () => {
  it('creates a trigger when none is given, and build needs one', async () => {
    const event = await new EventFixture().withPayload({ a: 1 }).create(ctx.db);
    expect(event.triggerId).not.toBeNull();
    expect((await TriggerRepository.getById(ctx.db, event.triggerId!)).ref).toBe(event.triggerRef);
    expect(event.payload).toEqual({ a: 1 });
    expect(() => new EventFixture().build()).toThrow(/forTrigger/);
    expect(new EventFixture('x.y').withSource('s').build()).toMatchObject({ triggerRef: 'x.y', source: 's' });
  });
});

describe('events table constraints', () => {
  const raw = (sql: string, values: unknown[]) =>
    withTransaction(ctx.db, async (tx) => {
      try {
        return await tx.query(sql, values);
      } catch (error) {
        throw mapPgError(error, 'event');
      }
    });

  it('CHECKs the trigger ref and the payload shape, and the trigger foreign key, even around the repository', async () => {
    const insert = 'INSERT INTO events (trigger_id, trigger_ref, payload) VALUES ($1, $2, $3)';
    const ref = await expectErrorType(raw(insert, [null, 'Bad Ref', '{}']), ValidationError);
    expect(ref.field).toBe('trigger_ref');
    const payload = await expectErrorType(raw(insert, [null, 'a.b', '"text"']), ValidationError);
    expect(payload.field).toBe('payload');
    const fk = await expectErrorType(raw(insert, [999_999_999, 'a.b', '{}']), InvalidReferenceError);
    expect(fk.field).toBe('trigger_id');
    expect((await raw(insert, [null, 'a.b', '{}'])).rowCount).toBe(1);
  });
});
