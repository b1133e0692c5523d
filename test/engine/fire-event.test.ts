import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { NotificationListener } from '../../src/db/listener.js';
import { InvalidReferenceError, ValidationError } from '../../src/errors.js';
import { fireEvent, fireEvents } from '../../src/engine/fire-event.js';
import { EventRepository } from '../../src/repositories/events.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { inputLimits } from '../../src/limits.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

const PAYLOAD_SCHEMA = {
  type: 'object',
  properties: { body: { type: 'object', properties: { count: { type: 'integer' } }, required: ['count'] } },
  required: ['body'],
};

async function countRows(table: 'events' | 'event_queue'): Promise<number> {
  const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

describe('fireEvent', () => {
  it('records the event with its trigger, payload, trigger parameters, source and trace id, and queues it', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const event = await fireEvent(ctx.db, trigger.ref, { n: 1 }, { source: 'webhook:deploy', traceId: 'trace-1', triggerParams: { url: 'deploy' } });
    expect(event).toMatchObject({ triggerId: trigger.id, triggerRef: trigger.ref, payload: { n: 1 }, triggerParams: { url: 'deploy' }, source: 'webhook:deploy', traceId: 'trace-1' });
    expect(await EventRepository.getById(ctx.db, event.id)).toEqual(event);
    expect(await EventRepository.isUnprocessed(ctx.db, event.id)).toBe(true);
  });

  it('gives every event a trace id when none is given, and {} trigger parameters', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const [a, b] = [await fireEvent(ctx.db, trigger.ref), await fireEvent(ctx.db, trigger.ref)];
    expect(a!.traceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b!.traceId).not.toBe(a!.traceId);
    expect(a!.triggerParams).toEqual({});
  });

  it('resolves the trigger through the active version of its pack', async () => {
    const packRef = (await new PackFixture().withVersion('1.0.0').create(ctx.db)).ref;
    const old = await PackRepository.getByRef(ctx.db, packRef);
    const oldTrigger = await new TriggerFixture('fired').forPack(old).create(ctx.db);
    const next = await new PackFixture(packRef).withVersion('2.0.0').inactive().create(ctx.db);
    const newTrigger = await new TriggerFixture('fired').forPack(next).create(ctx.db);
    expect((await fireEvent(ctx.db, `${packRef}.fired`)).triggerId).toBe(oldTrigger.id);
    await PackRepository.activateVersion(ctx.db, packRef, '2.0.0');
    expect((await fireEvent(ctx.db, `${packRef}.fired`)).triggerId).toBe(newTrigger.id);
  });

  it('refuses a ref that names no trigger, and a disabled trigger, storing nothing', async () => {
    const error = await expectErrorType(fireEvent(ctx.db, 'nosuch.trigger', {}), InvalidReferenceError);
    expect(error.message).toContain("trigger 'nosuch.trigger' names no trigger");
    const disabled = await new TriggerFixture().disabled().create(ctx.db);
    expect((await expectErrorType(fireEvent(ctx.db, disabled.ref, {}), ValidationError)).message).toContain('is disabled');
    await expectErrorType(fireEvent(ctx.db, 'not a ref', {}), ValidationError);
    expect(await countRows('events')).toBe(0);
  });

  it('validates the payload against the trigger payload schema, naming the path, and stores nothing on a mismatch', async () => {
    const trigger = await new TriggerFixture().withPayloadSchema(PAYLOAD_SCHEMA).create(ctx.db);
    const wrongType = await expectErrorType(fireEvent(ctx.db, trigger.ref, { body: { count: 'three' } }), ValidationError);
    expect(wrongType.message).toContain('payload.body.count must be integer');
    expect(wrongType.field).toBe('payload.body.count');
    const missing = await expectErrorType(fireEvent(ctx.db, trigger.ref, { body: {} }), ValidationError);
    expect(missing.message).toContain("payload.body is missing required property 'count'");
    expect(await countRows('events')).toBe(0);
    expect(await countRows('event_queue')).toBe(0);
    const ok = await fireEvent(ctx.db, trigger.ref, { body: { count: 3 } });
    expect(ok.payload).toEqual({ body: { count: 3 } });
  });

  it('revalidates with the new schema after the trigger changes', async () => {
    const trigger = await new TriggerFixture().withPayloadSchema(PAYLOAD_SCHEMA).create(ctx.db);
    await expectErrorType(fireEvent(ctx.db, trigger.ref, { other: 1 }), ValidationError);
    await ctx.db.query(`UPDATE triggers SET payload_schema = '{}' WHERE id = $1`, [trigger.id]);
    expect((await fireEvent(ctx.db, trigger.ref, { other: 1 })).payload).toEqual({ other: 1 });
  });

  it('refuses a payload over the size limit, naming the field', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const big = { text: 'x'.repeat(inputLimits().jsonMaxBytes + 1) };
    const error = await expectErrorType(fireEvent(ctx.db, trigger.ref, big), ValidationError);
    expect(error.field).toBe('payload');
    expect(await countRows('events')).toBe(0);
  });
});

describe('fireEvents', () => {
  it('records a batch in input order, each queued', async () => {
    const a = await new TriggerFixture().create(ctx.db);
    const b = await new TriggerFixture().create(ctx.db);
    const events = await fireEvents(ctx.db, [
      { triggerRef: a.ref, payload: { i: 0 } },
      { triggerRef: b.ref, payload: { i: 1 }, triggerParams: { url: 'x' } },
      { triggerRef: a.ref, payload: { i: 2 }, source: 's' },
    ]);
    expect(events.map((event) => [event.triggerId, event.payload.i])).toEqual([[a.id, 0], [b.id, 1], [a.id, 2]]);
    expect(events[1]!.triggerParams).toEqual({ url: 'x' });
    expect(await countRows('event_queue')).toBe(3);
  });

  it('returns a large batch in input order, with ids ascending in that order', async () => {
    const trigger = await new TriggerFixture().create(ctx.db);
    const events = await fireEvents(ctx.db, Array.from({ length: 2000 }, (_, i) => ({ triggerRef: trigger.ref, payload: { i } })));
    expect(events.map((event) => event.payload.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(events.every((event, i) => i === 0 || event.id > events[i - 1]!.id)).toBe(true);
  });

  it('stores nothing when one event of the batch is refused, and names it', async () => {
    const trigger = await new TriggerFixture().withPayloadSchema(PAYLOAD_SCHEMA).create(ctx.db);
    const error = await expectErrorType(
      fireEvents(ctx.db, [
        { triggerRef: trigger.ref, payload: { body: { count: 1 } } },
        { triggerRef: trigger.ref, payload: { body: { count: 'x' } } },
      ]),
      ValidationError,
    );
    expect(error.message).toMatch(/^events\[1\]: payload does not match/);
    expect(await countRows('events')).toBe(0);
  });

  it('takes an empty batch', async () => {
    expect(await fireEvents(ctx.db, [])).toEqual([]);
  });
});

describe('NOTIFY attune_events (committed)', () => {
  const pool = createTestPool();
  let listener: NotificationListener | undefined;
  beforeEach(async () => {
    await cleanDatabase(pool);
  });
  afterAll(async () => {
    await listener?.close();
    await pool.end();
  });

  it('is sent once per statement, not once per event', async () => {
    const url = process.env.ATTUNE__DATABASE__URL!;
    const received: unknown[] = [];
    listener = new NotificationListener({ url });
    await listener.listen('attune_events', (payload) => {
      received.push(payload);
    });
    await listener.start();
    const trigger = await new TriggerFixture().create(pool);
    await fireEvents(pool, Array.from({ length: 50 }, (_, i) => ({ triggerRef: trigger.ref, payload: { i } })));
    await fireEvent(pool, trigger.ref, { single: true });
    // A marker sent after the events commit arrives after their notifications (delivered in commit order).
    await new Promise<void>((resolve) => {
      void listener!.listen('attune_test_done', () => resolve()).then(() => pool.query(`SELECT pg_notify('attune_test_done', '')`));
    });
    expect(received).toHaveLength(2);
  });
});
