import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import {
  NOTIFICATION_ACTIVITIES,
  NOTIFICATION_ENTITY_TYPES,
  NOTIFICATION_STATES,
  NotificationRepository,
  isNotificationChannel,
} from '../../src/repositories/notifications.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { loadTestConfig } from '../../src/testing/env.js';
import { NotificationFixture } from '../../src/testing/fixtures/notifications.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

/** An executor that fails the test if any SQL reaches it. */
const noSql: Executor = {
  query: (() => {
    throw new Error('SQL ran, but validation should have refused the input first');
  }) as never,
};

/** Moves a row's created_at back, so `since` and pruning have something to tell apart. */
async function age(id: number, interval: string): Promise<void> {
  await ctx.db.query(`UPDATE notifications SET created_at = now() - $2::interval WHERE id = $1`, [id, interval]);
}

/** Values of the seeded volume the plan tests filter on, each matching about ten notifications. */
interface SeededNotifications {
  channel: string;
  entityType: 'execution';
  entityId: number;
  /** A hundred minutes before now: ten notifications are that new. */
  recent: Date;
  /** Thirty notifications are older, three of them delivered. */
  old: Date;
}

/**
 * Seeds the volume the plan tests need inside the test's transaction, then
 * ANALYZEs: 3,000 notifications on 300 channels, one every ten minutes over
 * the last three weeks, written in no particular order (as a table that has
 * been pruned and refilled holds them). Each channel, and each (entity
 * type, id), has about ten; about ten are still created. The last week is
 * mostly delivered; older rows are mostly errors, which pruning leaves, with
 * one in ten delivered.
 */
async function seedNotifications(db: Executor): Promise<SeededNotifications> {
  const prefix = uniqueName('plan');
  await db.query(
    `INSERT INTO notifications (channel, entity_type, entity_id, activity, state, created_at)
     SELECT $1 || '_ch' || g % 300, 'execution', 1 + g % 300, 'status_changed',
            CASE WHEN g % 300 = 7 THEN 'created'
                 WHEN g <= 1000 THEN (ARRAY['delivered', 'delivered', 'delivered', 'error'])[1 + g % 4]
                 WHEN g % 10 = 3 THEN 'delivered'
                 ELSE 'error' END,
            now() - make_interval(mins => 10 * g)
       FROM generate_series(1, 3000) AS g
      ORDER BY (g * 7919) % 3001`,
    [prefix],
  );
  await analyze(db, 'notifications');
  const { rows } = await db.query<{ recent: Date; old: Date }>(
    `SELECT now() - interval '100 minutes' AS recent, now() - interval '29705 minutes' AS old`,
  );
  return { channel: `${prefix}_ch7`, entityType: 'execution', entityId: 8, recent: rows[0]!.recent, old: rows[0]!.old };
}

describe('NotificationRepository.create', () => {
  it('stores the row in state created with defaults filled in', async () => {
    const created = await NotificationRepository.create(ctx.db, {
      channel: 'executions',
      entityType: 'execution',
      entityId: 42,
      activity: 'status_changed',
      content: { from: 'running', to: 'succeeded', nested: [1, null] },
    });
    expect(created).toMatchObject({
      channel: 'executions',
      entityType: 'execution',
      entityId: 42,
      activity: 'status_changed',
      state: 'created',
      content: { from: 'running', to: 'succeeded', nested: [1, null] },
      error: null,
    });
    expect(typeof created.id).toBe('number');
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await NotificationRepository.getById(ctx.db, created.id)).toEqual(created);
    const minimal = await NotificationRepository.create(ctx.db, { channel: 'c', entityType: 'pack', entityId: 1, activity: 'deleted' });
    expect(minimal.content).toEqual({});
  });

  it.each([
    [{ channel: 'Upper', entityType: 'pack', entityId: 1, activity: 'created' }, 'channel'],
    [{ channel: 'has space', entityType: 'pack', entityId: 1, activity: 'created' }, 'channel'],
    [{ channel: 'a'.repeat(64), entityType: 'pack', entityId: 1, activity: 'created' }, 'channel'],
    [{ channel: '', entityType: 'pack', entityId: 1, activity: 'created' }, 'channel'],
    [{ channel: 'c', entityType: 'widget', entityId: 1, activity: 'created' }, 'entityType'],
    [{ channel: 'c', entityType: 'pack', entityId: 0, activity: 'created' }, 'entityId'],
    [{ channel: 'c', entityType: 'pack', entityId: 1.5, activity: 'created' }, 'entityId'],
    [{ channel: 'c', entityType: 'pack', entityId: 1, activity: 'exploded' }, 'activity'],
    [{ channel: 'c', entityType: 'pack', entityId: 1, activity: 'created', content: [1] }, 'content'],
    [{ channel: 'c', entityType: 'pack', entityId: 1, activity: 'created', state: 'delivered' }, 'state'],
    [{ channel: 'c', entityType: 'pack', entityId: 1 }, 'activity'],
  ])('refuses %j before any SQL, naming %s', async (input, field) => {
    const error = await expectErrorType(NotificationRepository.create(noSql, input as never), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'notification', field });
  });

  it('accepts every channel the CHECK accepts, up to 63 bytes', async () => {
    for (const channel of ['a'.repeat(63), '_x', 'exec.status:changed-1']) {
      expect(isNotificationChannel(channel)).toBe(true);
      expect((await new NotificationFixture(channel).create(ctx.db)).channel).toBe(channel);
    }
    expect(isNotificationChannel('é')).toBe(false);
  });

  it('the exported constants mirror the migration CHECKs exactly', async () => {
    expect(await checkValues(ctx.db, 'notifications_activity_check')).toEqual([...NOTIFICATION_ACTIVITIES]);
    expect(await checkValues(ctx.db, 'notifications_state_check')).toEqual([...NOTIFICATION_STATES]);
    expect(await checkValues(ctx.db, 'notifications_entity_type_check')).toEqual([...NOTIFICATION_ENTITY_TYPES]);
  });
});

describe('NotificationRepository lookups and list', () => {
  it('findById returns null when absent; getById throws NotFoundError; bad ids are refused', async () => {
    expect(await NotificationRepository.findById(ctx.db, 999_999_999)).toBeNull();
    const error = await expectErrorType(NotificationRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(error).toMatchObject({ entity: 'notification', field: 'id', value: 999_999_999 });
    await expectErrorType(NotificationRepository.findById(noSql, -1), ValidationError);
  });

  it('filters by channel, entity, state and since; oldest first; paginates with a total', async () => {
    const fixture = () => new NotificationFixture('listing');
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(await fixture().about('execution', 10 + i).create(ctx.db));
    const other = await new NotificationFixture('elsewhere').about('execution', 10).create(ctx.db);
    await age(rows[0]!.id, '2 hours');
    await age(rows[1]!.id, '1 hour');

    const first = await NotificationRepository.list(ctx.db, { channel: 'listing', limit: 2 });
    expect(first.total).toBe(5);
    expect(first.items.map((n) => n.id)).toEqual([rows[0]!.id, rows[1]!.id]);
    const last = await NotificationRepository.list(ctx.db, { channel: 'listing', limit: 2, offset: 4 });
    expect(last.items.map((n) => n.id)).toEqual([rows[4]!.id]);
    expect(await NotificationRepository.list(ctx.db, { channel: 'listing', offset: 9 })).toMatchObject({ items: [], total: 5 });

    const aboutTen = await NotificationRepository.list(ctx.db, { entityType: 'execution', entityId: 10 });
    expect(aboutTen.items.map((n) => n.id)).toEqual([rows[0]!.id, other.id]);
    expect((await NotificationRepository.list(ctx.db, { entityType: 'pack' })).total).toBe(0);

    const since = await NotificationRepository.list(ctx.db, { channel: 'listing', since: new Date(Date.now() - 90 * 60_000) });
    expect(since.items.map((n) => n.id)).toEqual([rows[1]!.id, rows[2]!.id, rows[3]!.id, rows[4]!.id]);

    await NotificationRepository.markDelivered(ctx.db, [rows[2]!.id]);
    expect((await NotificationRepository.list(ctx.db, { state: 'delivered' })).items.map((n) => n.id)).toEqual([rows[2]!.id]);
    expect((await NotificationRepository.list(ctx.db, { channel: 'listing', state: 'created' })).total).toBe(4);
  });

  it('refuses bad filters before any SQL', async () => {
    await expectErrorType(NotificationRepository.list(noSql, { entityId: 1 }), ValidationError);
    await expectErrorType(NotificationRepository.list(noSql, { channel: 'Bad Channel' }), ValidationError);
    await expectErrorType(NotificationRepository.list(noSql, { state: 'lost' as never }), ValidationError);
    await expectErrorType(NotificationRepository.list(noSql, { entityType: 'widget' as never }), ValidationError);
    await expectErrorType(NotificationRepository.list(noSql, { since: new Date('nope') }), ValidationError);
    await expectErrorType(NotificationRepository.list(noSql, { limit: 1001 }), ValidationError);
  });
});

describe('pending and delivered', () => {
  it('listPending returns undelivered rows oldest first, by channel, up to a limit', async () => {
    const a1 = await new NotificationFixture('pend_a').create(ctx.db);
    const a2 = await new NotificationFixture('pend_a').create(ctx.db);
    const b1 = await new NotificationFixture('pend_b').create(ctx.db);
    const done = await new NotificationFixture('pend_a').create(ctx.db);
    const failed = await new NotificationFixture('pend_a').create(ctx.db);
    await age(a2.id, '1 hour');
    await NotificationRepository.markDelivered(ctx.db, [done.id]);
    await NotificationRepository.markError(ctx.db, [failed.id], 'handler crashed');

    expect((await NotificationRepository.listPending(ctx.db, { channel: 'pend_a' })).map((n) => n.id)).toEqual([a2.id, a1.id]);
    expect((await NotificationRepository.listPending(ctx.db)).map((n) => n.id)).toEqual([a2.id, a1.id, b1.id]);
    expect((await NotificationRepository.listPending(ctx.db, { limit: 1 })).map((n) => n.id)).toEqual([a2.id]);
    await expectErrorType(NotificationRepository.listPending(noSql, { limit: 0 }), ValidationError);
    await expectErrorType(NotificationRepository.listPending(noSql, { channel: 'No' }), ValidationError);
  });

  it('markDelivered changes only undelivered rows and clears the error', async () => {
    const a = await new NotificationFixture().create(ctx.db);
    const b = await new NotificationFixture().create(ctx.db);
    const untouched = await new NotificationFixture().create(ctx.db);
    await NotificationRepository.markError(ctx.db, [b.id], 'timeout');
    expect(await NotificationRepository.markDelivered(ctx.db, [a.id, b.id, 999_999_999])).toBe(2);
    expect(await NotificationRepository.getById(ctx.db, b.id)).toMatchObject({ state: 'delivered', error: null });
    expect(await NotificationRepository.markDelivered(ctx.db, [a.id])).toBe(0);
    expect(await NotificationRepository.markDelivered(ctx.db, [])).toBe(0);
    expect((await NotificationRepository.getById(ctx.db, untouched.id)).state).toBe('created');
    const moved = await NotificationRepository.getById(ctx.db, a.id);
    expect(moved.updatedAt.getTime()).toBeGreaterThan(a.updatedAt.getTime());
    await expectErrorType(NotificationRepository.markDelivered(noSql, [0]), ValidationError);
    await expectErrorType(NotificationRepository.markDelivered(noSql, 5 as never), ValidationError);
  });

  it('markError records the reason and never un-delivers', async () => {
    const a = await new NotificationFixture().create(ctx.db);
    const delivered = await new NotificationFixture().create(ctx.db);
    await NotificationRepository.markDelivered(ctx.db, [delivered.id]);
    expect(await NotificationRepository.markError(ctx.db, [a.id, delivered.id], 'listener gone')).toBe(1);
    expect(await NotificationRepository.getById(ctx.db, a.id)).toMatchObject({ state: 'error', error: 'listener gone' });
    expect(await NotificationRepository.getById(ctx.db, delivered.id)).toMatchObject({ state: 'delivered', error: null });
    expect(await NotificationRepository.markError(ctx.db, [a.id], 'again')).toBe(1);
    expect((await NotificationRepository.getById(ctx.db, a.id)).error).toBe('again');
    expect(await NotificationRepository.markError(ctx.db, [], 'x')).toBe(0);
    await expectErrorType(NotificationRepository.markError(noSql, [a.id], 42 as never), ValidationError);
  });

  it('deleteDeliveredBefore prunes only delivered rows older than the date', async () => {
    const oldDelivered = await new NotificationFixture().create(ctx.db);
    const oldPending = await new NotificationFixture().create(ctx.db);
    const newDelivered = await new NotificationFixture().create(ctx.db);
    await NotificationRepository.markDelivered(ctx.db, [oldDelivered.id, newDelivered.id]);
    await age(oldDelivered.id, '2 days');
    await age(oldPending.id, '2 days');
    expect(await NotificationRepository.deleteDeliveredBefore(ctx.db, new Date(Date.now() - 86_400_000))).toBe(1);
    expect(await NotificationRepository.findById(ctx.db, oldDelivered.id)).toBeNull();
    expect(await NotificationRepository.findById(ctx.db, oldPending.id)).not.toBeNull();
    expect(await NotificationRepository.findById(ctx.db, newDelivered.id)).not.toBeNull();
    await expectErrorType(NotificationRepository.deleteDeliveredBefore(noSql, 'yesterday' as never), ValidationError);
  });

  it.each([
    ['listPending', 'notifications_state_created_at_idx', () => (db: Executor) => NotificationRepository.listPending(db)],
    ['the channel filter', 'notifications_channel_created_at_idx', (seeded: SeededNotifications) => (db: Executor) => NotificationRepository.list(db, { channel: seeded.channel })],
    [
      'the entity filter',
      'notifications_entity_idx',
      (seeded: SeededNotifications) => (db: Executor) => NotificationRepository.list(db, { entityType: seeded.entityType, entityId: seeded.entityId }),
    ],
    ['the since filter', 'notifications_created_at_idx', (seeded: SeededNotifications) => (db: Executor) => NotificationRepository.list(db, { since: seeded.recent })],
    ['deleteDeliveredBefore', 'notifications_state_created_at_idx', (seeded: SeededNotifications) => (db: Executor) => NotificationRepository.deleteDeliveredBefore(db, seeded.old)],
  ] as const)('%s is served by %s at volume', async (_label, index, callOf) => {
    const seeded = await seedNotifications(ctx.db);
    const plan = await indexesUsed(ctx.db, callOf(seeded));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });
});

describe('NotificationRepository.update and delete', () => {
  it('updates state, content and error partially; channel, entity and activity are immutable', async () => {
    const n = await new NotificationFixture().withContent({ a: 1 }).create(ctx.db);
    const updated = await NotificationRepository.update(ctx.db, n.id, { state: 'error', error: 'boom' });
    expect(updated).toMatchObject({ state: 'error', error: 'boom', content: { a: 1 }, channel: n.channel });
    const retried = await NotificationRepository.update(ctx.db, n.id, { state: 'created', error: null, content: { a: 2 } });
    expect(retried).toMatchObject({ state: 'created', error: null, content: { a: 2 } });
    for (const patch of [{ channel: 'other' }, { entityType: 'pack' }, { entityId: 2 }, { activity: 'deleted' }]) {
      await expectErrorType(NotificationRepository.update(noSql, n.id, patch as never), ValidationError);
    }
    await expectErrorType(NotificationRepository.update(noSql, n.id, { state: 'lost' as never }), ValidationError);
    await expectErrorType(NotificationRepository.update(ctx.db, 999_999_999, { state: 'delivered' }), NotFoundError);
  });

  it('delete returns whether a row went', async () => {
    const n = await new NotificationFixture().create(ctx.db);
    expect(await NotificationRepository.delete(ctx.db, n.id)).toBe(true);
    expect(await NotificationRepository.delete(ctx.db, n.id)).toBe(false);
    expect(await NotificationRepository.findById(ctx.db, n.id)).toBeNull();
  });
});

describe('the AFTER INSERT trigger (committed)', () => {
  const pool = createTestPool();
  let listener: pg.Client | undefined;

  beforeEach(async () => {
    await cleanDatabase(pool);
  });
  afterEach(async () => {
    await listener?.end();
    listener = undefined;
    await cleanDatabase(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('NOTIFYs the row channel at commit with a small JSON payload', async () => {
    listener = new pg.Client({ connectionString: loadTestConfig().database.url });
    listener.on('error', () => undefined);
    await listener.connect();
    const fixture = new NotificationFixture().about('inquiry', 7).withActivity('responded').withContent({ big: 'x'.repeat(10_000) });
    await listener.query(`LISTEN "${fixture.channel}"`);
    const received = new Promise<pg.Notification>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no NOTIFY within 5 s')), 5000);
      listener!.on('notification', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    const created = await fixture.create(pool);
    const message = await received;
    expect(message.channel).toBe(fixture.channel);
    expect(JSON.parse(message.payload!)).toEqual({ id: created.id, entity_type: 'inquiry', entity_id: 7, activity: 'responded' });
  });
});
