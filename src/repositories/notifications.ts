import { ValidationError } from '../errors.js';
import { CHANNEL_MAX_BYTES } from '../db/listener.js';
import type { Executor } from '../db/pool.js';
import { MAX_PAGE_SIZE, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** What happened to the entity; mirrors notifications_activity_check. */
export const NOTIFICATION_ACTIVITIES = ['created', 'updated', 'deleted', 'status_changed', 'responded', 'expired'] as const;
export type NotificationActivity = (typeof NOTIFICATION_ACTIVITIES)[number];

/** Delivery state of the outbox row; mirrors notifications_state_check. */
export const NOTIFICATION_STATES = ['created', 'delivered', 'error'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

/** What a notification is about; mirrors notifications_entity_type_check. */
export const NOTIFICATION_ENTITY_TYPES = [
  'pack',
  'runtime',
  'worker',
  'trigger',
  'action',
  'rule',
  'event',
  'enforcement',
  'execution',
  'inquiry',
  'identity',
  'key',
  'notification',
] as const;
export type NotificationEntityType = (typeof NOTIFICATION_ENTITY_TYPES)[number];

/**
 * The channel of the log (migration 0028): rows the database writes for every
 * change the live stream shows, read by id. NOTIFYed once per transaction.
 */
export const NOTIFICATION_LOG_CHANNEL = 'attune_stream';

/** What `readLog` reads: the log after a reader's own position. */
export interface ReadLogOptions {
  /** The last id the reader saw (0 for the start). */
  after: number;
  /** 1–10,000, default 500. */
  limit?: number;
  entityType?: NotificationEntityType;
  /** Only these entities (needs entityType). */
  entityIds?: number[];
}

/** How much of the log is kept (the maintenance role's retention). */
export interface LogRetention {
  /** Rows created before this go. */
  olderThan: Date;
  /** At most this many of the newest rows stay. */
  keep: number;
  /** Rows deleted per statement. Default 10,000. */
  limit?: number;
}

/** A notification channel, as CHECKed by notifications_channel_check (and at most 63 bytes). */
export const NOTIFICATION_CHANNEL_PATTERN = /^[a-z_][a-z0-9_.:-]*$/;

/** One change in the outbox. Inserting it NOTIFYs its channel when the transaction commits. */
export interface Notification {
  id: number;
  channel: string;
  entityType: NotificationEntityType;
  entityId: number;
  activity: NotificationActivity;
  state: NotificationState;
  content: Record<string, unknown>;
  /** Why the last delivery failed; null unless state is error. */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The NOTIFY payload the AFTER INSERT trigger sends: small on purpose (NOTIFY
 * payloads are capped at 8000 bytes); read the row for the content.
 */
export interface NotificationPayload {
  id: number;
  entity_type: NotificationEntityType;
  entity_id: number;
  activity: NotificationActivity;
}

export interface CreateNotificationInput {
  channel: string;
  entityType: NotificationEntityType;
  entityId: number;
  activity: NotificationActivity;
  /** Default {}. */
  content?: Record<string, unknown>;
}

/**
 * The delivery bookkeeping only: channel, entity and activity were already
 * sent with the NOTIFY and cannot change. An update never notifies again.
 */
export interface UpdateNotificationInput {
  state?: NotificationState;
  content?: Record<string, unknown>;
  error?: string | null;
}

export interface NotificationFilter extends Pagination {
  /** Served by (channel, created_at). */
  channel?: string;
  /** Served by (entity_type, entity_id). */
  entityType?: NotificationEntityType;
  /** Needs entityType. */
  entityId?: number;
  /** Served by (state, created_at). */
  state?: NotificationState;
  /** Created at or after this instant; served by created_at (alone or after channel / state). */
  since?: Date;
}

const ENTITY = 'notification';

const table = new Table<Notification>({
  table: 'notifications',
  entity: ENTITY,
  columns: {
    id: 'id',
    channel: 'channel',
    entityType: 'entity_type',
    entityId: { column: 'entity_id', kind: 'bigint' },
    activity: 'activity',
    state: 'state',
    content: { column: 'content', kind: 'json' },
    error: 'error',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

/** True for a valid notification channel. */
export function isNotificationChannel(value: unknown): value is string {
  return typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= CHANNEL_MAX_BYTES && NOTIFICATION_CHANNEL_PATTERN.test(value);
}

const channel: Check = (value, field, entity) => {
  if (!isNotificationChannel(value)) {
    throw new ValidationError(
      `${entity}.${field} must be a channel matching ${NOTIFICATION_CHANNEL_PATTERN.source} of at most ${CHANNEL_MAX_BYTES} bytes, got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
};

/** Why a delivery failed: at most 10,000 characters. */
const errorCheck = is.string({ max: 10_000 });

const createRules: Rules = {
  channel: { check: channel, required: true },
  entityType: { check: is.oneOf(NOTIFICATION_ENTITY_TYPES), required: true },
  entityId: { check: is.id, required: true },
  activity: { check: is.oneOf(NOTIFICATION_ACTIVITIES), required: true },
  content: { check: is.object },
};

const updateRules: Rules = {
  channel: { check: channel, immutable: true },
  entityType: { check: is.oneOf(NOTIFICATION_ENTITY_TYPES), immutable: true },
  entityId: { check: is.id, immutable: true },
  activity: { check: is.oneOf(NOTIFICATION_ACTIVITIES), immutable: true },
  state: { check: is.oneOf(NOTIFICATION_STATES) },
  content: { check: is.object },
  error: { check: errorCheck, nullable: true },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  channel: { check: channel },
  entityType: { check: is.oneOf(NOTIFICATION_ENTITY_TYPES) },
  entityId: { check: is.id },
  state: { check: is.oneOf(NOTIFICATION_STATES) },
  since: { check: is.timestamp },
};

const pendingRules: Rules = {
  channel: { check: channel },
  limit: { check: is.integer(1, MAX_PAGE_SIZE) },
};

const ORDER = 'created_at, id';

function assertIds(ids: unknown): asserts ids is number[] {
  if (!Array.isArray(ids)) throw new ValidationError(`${ENTITY} ids must be an array of ids`, { entity: ENTITY, field: 'ids' });
  ids.forEach((id) => assertId(id, ENTITY));
}

function assertDate(value: unknown, field: string): asserts value is Date {
  is.timestamp(value, field, ENTITY);
}

/**
 * The notifications outbox. `create` inside a transaction makes the change
 * and its notification commit together; the trigger's NOTIFY is delivered at
 * commit (and never for a rollback). Listeners read pending rows after a
 * reconnect with `listPending`, and mark them delivered.
 */
export const NotificationRepository = {
  /** Inserts a notification in state created; its channel is NOTIFYed at commit. */
  async create(db: Executor, input: CreateNotificationInput): Promise<Notification> {
    validateInput(ENTITY, input, createRules, 'create');
    return table.insert(db, input);
  },

  findById: (db: Executor, id: number): Promise<Notification | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Notification> => table.getById(db, id),

  /** Filters and pagination, oldest first. */
  async list(db: Executor, input?: NotificationFilter): Promise<Page<Notification>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    if (filter.entityId !== undefined && filter.entityType === undefined) {
      throw new ValidationError(`${ENTITY} filter entityId needs entityType`, { entity: ENTITY, field: 'entityId' });
    }
    const where = new Where()
      .eq('channel', filter.channel)
      .eq('entity_type', filter.entityType)
      .eq('entity_id', filter.entityId)
      .eq('state', filter.state);
    if (filter.since !== undefined) where.add((p) => `created_at >= ${p(filter.since)}`);
    return table.list(db, where, filter, ORDER);
  },

  /**
   * The oldest notifications not yet delivered (state created), optionally on
   * one channel: what a listener re-reads after (re)connecting. Served by the
   * (state, created_at) index. `limit` 1–1000, default 100.
   */
  async listPending(db: Executor, input?: { channel?: string; limit?: number }): Promise<Notification[]> {
    const options = validateFilter(ENTITY, input, pendingRules, 'options');
    const limit = options.limit ?? 100;
    const where = new Where().eq('state', 'created').eq('channel', options.channel);
    const result = await table.query(
      db,
      `SELECT ${table.columns} FROM notifications${where.toSql()} ORDER BY ${ORDER} LIMIT ${where.param(limit)}`,
      where.values,
    );
    return result.rows.map(table.fromRow);
  },

  /** Marks notifications delivered (clearing any error); returns how many changed. Already delivered ones are left alone. */
  async markDelivered(db: Executor, ids: number[]): Promise<number> {
    assertIds(ids);
    if (ids.length === 0) return 0;
    const result = await table.query(
      db,
      `UPDATE notifications SET state = 'delivered', error = NULL WHERE id = ANY($1::bigint[]) AND state <> 'delivered'`,
      [ids],
    );
    return result.rowCount ?? 0;
  },

  /**
   * Records a failed delivery: state error with the reason. Delivered
   * notifications stay delivered. Returns how many changed.
   */
  async markError(db: Executor, ids: number[], error: string): Promise<number> {
    assertIds(ids);
    errorCheck(error, 'error', ENTITY);
    if (ids.length === 0) return 0;
    const result = await table.query(
      db,
      `UPDATE notifications SET state = 'error', error = $2 WHERE id = ANY($1::bigint[]) AND state <> 'delivered'`,
      [ids, error],
    );
    return result.rowCount ?? 0;
  },

  /**
   * Partial update of state, content and error (setting state back to
   * created queues a retry; it does not NOTIFY again). NotFoundError for a
   * missing id; channel, entity and activity are immutable.
   */
  async update(db: Executor, id: number, input: UpdateNotificationInput): Promise<Notification> {
    validateInput(ENTITY, input, updateRules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes one notification; true when a row went. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),

  /**
   * The log after `after`, oldest first (served by the primary key): each
   * reader keeps its own position, so no reader hides a row from another.
   * Rows of a transaction that commits after a later id was read are found by
   * `readLogIds` (the stream hub re-reads such gaps for a while).
   */
  async readLog(db: Executor, options: ReadLogOptions): Promise<Notification[]> {
    const { after, limit = 500, entityType, entityIds } = options;
    if (!Number.isSafeInteger(after) || after < 0) throw new ValidationError(`${ENTITY} log position must be an id or 0, got ${after}`, { entity: ENTITY, field: 'after' });
    is.integer(1, 10_000)(limit, 'limit', ENTITY);
    if (entityType !== undefined) is.oneOf(NOTIFICATION_ENTITY_TYPES)(entityType, 'entityType', ENTITY);
    if (entityIds !== undefined) {
      assertIds(entityIds);
      if (entityType === undefined) throw new ValidationError(`${ENTITY} log filter entityIds needs entityType`, { entity: ENTITY, field: 'entityIds' });
    }
    const where = new Where().eq('channel', NOTIFICATION_LOG_CHANNEL).eq('entity_type', entityType);
    where.add((p) => `id > ${p(after)}`);
    if (entityIds !== undefined) where.add((p) => `entity_id = ANY(${p(entityIds)}::bigint[])`);
    const result = await table.query(db, `SELECT ${table.columns} FROM notifications${where.toSql()} ORDER BY id LIMIT ${where.param(limit)}`, where.values);
    return result.rows.map(table.fromRow);
  },

  /** The log rows among `ids` (gaps a reader skipped that have committed since), oldest first. */
  async readLogIds(db: Executor, ids: number[]): Promise<Notification[]> {
    assertIds(ids);
    if (ids.length === 0) return [];
    const result = await table.query(
      db,
      `SELECT ${table.columns} FROM notifications WHERE id = ANY($1::bigint[]) AND channel = $2 ORDER BY id`,
      [ids, NOTIFICATION_LOG_CHANNEL],
    );
    return result.rows.map(table.fromRow);
  },

  /** The oldest and newest ids kept (null when empty): a reader behind `first` has lost rows to the retention. */
  async logBounds(db: Executor): Promise<{ first: number | null; last: number | null }> {
    const result = await table.query<{ first: number | null; last: number | null }>(db, `SELECT min(id) AS first, max(id) AS last FROM notifications`, []);
    return result.rows[0] ?? { first: null, last: null };
  },

  /**
   * The retention: deletes rows created before `olderThan` (served by
   * created_at) and all but the newest `keep` (served by the primary key), at
   * most `limit` of each per call; returns how many went.
   */
  async prune(db: Executor, retention: LogRetention): Promise<number> {
    assertDate(retention.olderThan, 'olderThan');
    is.integer(0, Number.MAX_SAFE_INTEGER)(retention.keep, 'keep', ENTITY);
    const limit = retention.limit ?? 10_000;
    is.integer(1, 1_000_000)(limit, 'limit', ENTITY);
    const byAge = await table.query(
      db,
      `DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < $1 ORDER BY created_at LIMIT $2)`,
      [retention.olderThan, limit],
    );
    const byCount = await table.query(
      db,
      `DELETE FROM notifications WHERE id IN (
         SELECT id FROM notifications WHERE id <= (SELECT max(id) FROM notifications) - $1 ORDER BY id LIMIT $2)`,
      [retention.keep, limit],
    );
    return (byAge.rowCount ?? 0) + (byCount.rowCount ?? 0);
  },

  /** Prunes delivered notifications created before `date` (served by (state, created_at)); returns how many went. */
  async deleteDeliveredBefore(db: Executor, date: Date): Promise<number> {
    assertDate(date, 'date');
    const result = await table.query(db, `DELETE FROM notifications WHERE state = 'delivered' AND created_at < $1`, [date]);
    return result.rowCount ?? 0;
  },
};
