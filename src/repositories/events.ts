import { AttuneError, InvalidReferenceError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Rules } from './support/validate.js';
import { activeByRef } from './support/active-version.js';

/** One firing of a trigger. Append-only: events are never updated. */
export interface Event {
  id: number;
  /** Null when no trigger row had the ref, or once the trigger is deleted; `triggerRef` is kept. */
  triggerId: number | null;
  triggerRef: string;
  payload: JsonObject;
  /** The parameters the trigger fired with (a webhook's `{url}`, a timer rule's schedule); {} when none. */
  triggerParams: JsonObject;
  /** The sensor or webhook that fired it. */
  source: string | null;
  traceId: string | null;
  createdAt: Date;
}

/**
 * A new event. Give the trigger as `triggerRef` (stored even when no trigger
 * has that ref: recorded history keeps the ref with a null id) or
 * `triggerId` (must exist).
 */
export interface CreateEventInput {
  triggerRef?: string;
  triggerId?: number;
  /** Default {}. */
  payload?: JsonObject;
  /** Default {}. */
  triggerParams?: JsonObject;
  source?: string | null;
  traceId?: string | null;
  /** Default now(); set it when importing recorded events. */
  createdAt?: Date;
}

export interface EventFilter extends Pagination {
  triggerRef?: string;
  triggerId?: number;
  source?: string;
  traceId?: string;
  /** created_at ≥ since. */
  since?: Date;
  /** created_at < until. */
  until?: Date;
}

/** The most events one `createMany` call takes. */
export const MAX_EVENT_BATCH = 10_000;

const ENTITY = 'event';

const table = new Table<Event>({
  table: 'events',
  entity: ENTITY,
  columns: {
    id: 'id',
    triggerId: 'trigger_id',
    triggerRef: 'trigger_ref',
    payload: { column: 'payload', kind: 'json' },
    triggerParams: { column: 'trigger_params', kind: 'json' },
    source: 'source',
    traceId: 'trace_id',
    createdAt: 'created_at',
  },
});

const fieldRules: Rules = {
  triggerRef: { check: is.componentRef },
  triggerId: { check: is.id },
  payload: { check: is.object },
  triggerParams: { check: is.object },
  source: { check: is.string({ min: 1, max: 255 }), nullable: true },
  traceId: { check: is.string({ min: 1, max: 255 }), nullable: true },
  createdAt: { check: is.timestamp },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  triggerRef: { check: is.componentRef },
  triggerId: { check: is.id },
  source: { check: is.string({ max: 255 }) },
  traceId: { check: is.string({ max: 255 }) },
  since: { check: is.timestamp },
  until: { check: is.timestamp },
};

function validateEvent(input: CreateEventInput): void {
  validateInput(ENTITY, input, fieldRules, 'create');
  if (input.triggerRef !== undefined && input.triggerId !== undefined) {
    throw new ValidationError(`${ENTITY}: give triggerRef or triggerId, not both`, { entity: ENTITY, field: 'triggerId' });
  }
  if (input.triggerRef === undefined && input.triggerId === undefined) {
    throw new ValidationError(`${ENTITY}.triggerRef (or triggerId) is required`, { entity: ENTITY, field: 'triggerRef' });
  }
}

/**
 * Inserts `inputs` in one statement and returns the rows in input order.
 * Ids are drawn from the identity sequence up front, so each returned row is
 * matched to its input by id rather than by trusting RETURNING's order.
 */
async function insertEvents(db: Executor, inputs: CreateEventInput[]): Promise<Event[]> {
  const refs: (string | null)[] = [];
  const triggerIds: (number | null)[] = [];
  const payloads: string[] = [];
  const triggerParams: string[] = [];
  const sources: (string | null)[] = [];
  const traceIds: (string | null)[] = [];
  const createdAts: (Date | null)[] = [];
  for (const input of inputs) {
    refs.push(input.triggerRef ?? null);
    triggerIds.push(input.triggerId ?? null);
    payloads.push(JSON.stringify(input.payload ?? {}));
    triggerParams.push(JSON.stringify(input.triggerParams ?? {}));
    sources.push(input.source ?? null);
    traceIds.push(input.traceId ?? null);
    createdAts.push(input.createdAt ?? null);
  }
  const result = await table.query(
    db,
    `WITH input AS MATERIALIZED (
            SELECT nextval('events_id_seq'::regclass) AS id, i.*
              FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[])
                   WITH ORDINALITY AS i(trigger_ref, trigger_id, payload, source, trace_id, created_at, trigger_params, ord)),
          resolved AS MATERIALIZED (
            SELECT i.id, i.ord, coalesce(by_id.id, by_ref.id) AS trigger_id, coalesce(by_id.ref, i.trigger_ref) AS trigger_ref,
                   i.payload, i.trigger_params, i.source, i.trace_id, coalesce(i.created_at, now()) AS created_at,
                   (i.trigger_id IS NOT NULL AND by_id.id IS NULL) AS missing, i.trigger_id AS given_trigger_id
              FROM input i
              LEFT JOIN triggers by_id ON by_id.id = i.trigger_id
              LEFT JOIN LATERAL (${activeByRef('triggers', 'i.trigger_ref')}) by_ref ON i.trigger_id IS NULL),
          ins AS (
            INSERT INTO events (id, trigger_id, trigger_ref, payload, trigger_params, source, trace_id, created_at) OVERRIDING SYSTEM VALUE
            SELECT id, trigger_id, trigger_ref, payload, trigger_params, source, trace_id, created_at FROM resolved
             WHERE NOT EXISTS (SELECT 1 FROM resolved WHERE missing)
            RETURNING ${table.columns})
     SELECT ins.*, r.ord, r.missing, r.given_trigger_id FROM resolved r LEFT JOIN ins ON ins.id = r.id ORDER BY r.ord`,
    [refs, triggerIds, payloads, sources, traceIds, createdAts, triggerParams],
  );
  const missing = result.rows.find((row) => row.missing);
  if (missing) {
    const at = inputs.length > 1 ? `events[${Number(missing.ord) - 1}]: ` : '';
    throw new InvalidReferenceError(`${at}${ENTITY}.triggerId ${missing.given_trigger_id} does not name an existing trigger`, {
      entity: ENTITY,
      field: 'triggerId',
      value: missing.given_trigger_id,
    });
  }
  return result.rows.map(table.fromRow);
}

/**
 * One event in one plain statement: the hot path of sensors and webhooks,
 * so it avoids the batch statement's CTEs. By id, the trigger must exist;
 * by ref, trigger_id is the id of the trigger with that ref in the active
 * version of its pack (else a built-in's), or null when there is none.
 */
async function insertEvent(db: Executor, input: CreateEventInput): Promise<Event> {
  const rest = [JSON.stringify(input.payload ?? {}), input.source ?? null, input.traceId ?? null, input.createdAt ?? null, JSON.stringify(input.triggerParams ?? {})];
  const values = `$2::jsonb, $3::text, $4::text, coalesce($5::timestamptz, now()), $6::jsonb`;
  if (input.triggerId !== undefined) {
    const result = await table.query(
      db,
      `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id, created_at, trigger_params)
       SELECT t.id, t.ref, ${values} FROM triggers t WHERE t.id = $1 RETURNING ${table.columns}`,
      [input.triggerId, ...rest],
    );
    if (result.rows.length === 0) {
      throw new InvalidReferenceError(`${ENTITY}.triggerId ${input.triggerId} does not name an existing trigger`, {
        entity: ENTITY,
        field: 'triggerId',
        value: input.triggerId,
      });
    }
    return table.fromRow(result.rows[0]!);
  }
  const result = await table.query(
    db,
    `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id, created_at, trigger_params)
     VALUES ((SELECT id FROM (${activeByRef('triggers', '$1')}) t), $1, ${values}) RETURNING ${table.columns}`,
    [input.triggerRef, ...rest],
  );
  return table.fromRow(result.rows[0]!);
}

function assertDate(value: unknown, field: string): void {
  is.timestamp(value, field, ENTITY);
}

/** Events: append-only records of trigger firings. Every function takes the executor first. */
export const EventRepository = {
  /** Records one event; the trigger id is resolved from the ref in the same statement (null when no trigger has it). */
  async create(db: Executor, input: CreateEventInput): Promise<Event> {
    validateEvent(input);
    return insertEvent(db, input);
  },

  /**
   * Records many events in one round trip and returns them in input order.
   * Every input is validated first; one invalid input (or a `triggerId` that
   * names no trigger) inserts nothing. At most MAX_EVENT_BATCH per call.
   */
  async createMany(db: Executor, inputs: CreateEventInput[]): Promise<Event[]> {
    if (!Array.isArray(inputs)) throw new ValidationError(`${ENTITY} createMany takes an array of inputs`, { entity: ENTITY });
    if (inputs.length > MAX_EVENT_BATCH) {
      throw new ValidationError(`${ENTITY} createMany takes at most ${MAX_EVENT_BATCH} events per call, got ${inputs.length}; split the batch`, {
        entity: ENTITY,
        value: inputs.length,
      });
    }
    if (inputs.length === 0) return [];
    inputs.forEach((input, index) => {
      try {
        validateEvent(input);
      } catch (error) {
        if (!(error instanceof AttuneError)) throw error;
        throw new ValidationError(`events[${index}]: ${error.message}`, { entity: ENTITY, field: error.field, value: error.value, cause: error });
      }
    });
    return insertEvents(db, inputs);
  },

  /**
   * Intake's insert: events whose trigger the caller has already resolved
   * (`triggerId` and `triggerRef` of one existing trigger each, as
   * `fireEvents` does), validated like `createMany`, written in one plain
   * multi-row INSERT with no trigger lookup, and returned in input order.
   */
  async createResolved(db: Executor, inputs: (CreateEventInput & { triggerId: number; triggerRef: string })[]): Promise<Event[]> {
    if (!Array.isArray(inputs)) throw new ValidationError(`${ENTITY} createResolved takes an array of inputs`, { entity: ENTITY });
    if (inputs.length > MAX_EVENT_BATCH) {
      throw new ValidationError(`${ENTITY} createResolved takes at most ${MAX_EVENT_BATCH} events per call, got ${inputs.length}; split the batch`, {
        entity: ENTITY,
        value: inputs.length,
      });
    }
    if (inputs.length === 0) return [];
    const columns = { ids: [] as number[], refs: [] as string[], payloads: [] as string[], params: [] as string[], sources: [] as (string | null)[], traces: [] as (string | null)[] };
    inputs.forEach((input, index) => {
      const { triggerId, triggerRef, ...rest } = input;
      try {
        validateInput(ENTITY, rest, fieldRules, 'create');
        is.id(triggerId, 'triggerId', ENTITY);
        is.componentRef(triggerRef, 'triggerRef', ENTITY);
      } catch (error) {
        if (!(error instanceof AttuneError) || inputs.length === 1) throw error;
        throw new ValidationError(`events[${index}]: ${error.message}`, { entity: ENTITY, field: error.field, value: error.value, cause: error });
      }
      columns.ids.push(triggerId);
      columns.refs.push(triggerRef);
      columns.payloads.push(JSON.stringify(input.payload ?? {}));
      columns.params.push(JSON.stringify(input.triggerParams ?? {}));
      columns.sources.push(input.source ?? null);
      columns.traces.push(input.traceId ?? null);
    });
    // Identity values are drawn as the ordered SELECT produces its rows, so ids ascend in input order.
    const result = await table.query(
      db,
      `INSERT INTO events (trigger_id, trigger_ref, payload, trigger_params, source, trace_id)
       SELECT u.trigger_id, u.trigger_ref, u.payload, u.trigger_params, u.source, u.trace_id
         FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[])
              WITH ORDINALITY AS u(trigger_id, trigger_ref, payload, trigger_params, source, trace_id, ord)
        ORDER BY u.ord
       RETURNING ${table.columns}`,
      [columns.ids, columns.refs, columns.payloads, columns.params, columns.sources, columns.traces],
    );
    return result.rows.map(table.fromRow).sort((a, b) => a.id - b.id);
  },

  findById: (db: Executor, id: number): Promise<Event | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Event> => table.getById(db, id),

  /** Filters and pagination, newest first (created_at DESC, id DESC). */
  async list(db: Executor, input?: EventFilter): Promise<Page<Event>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('trigger_ref', filter.triggerRef).eq('trigger_id', filter.triggerId).eq('source', filter.source).eq('trace_id', filter.traceId);
    if (filter.since !== undefined) where.add((p) => `created_at >= ${p(filter.since)}`);
    if (filter.until !== undefined) where.add((p) => `created_at < ${p(filter.until)}`);
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /**
   * The rules role's claim: takes up to `limit` of the oldest unprocessed
   * events (rows of event_queue, which every inserted event joins in its own
   * statement) with FOR UPDATE SKIP LOCKED, so concurrent claimers never take
   * the same event, and deletes their queue rows in the same statement. Run
   * it inside the transaction that writes what the events caused: a commit
   * marks them processed, a rollback (or a crash) hands them back.
   */
  async claimUnprocessed(db: Executor, limit: number): Promise<Event[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENT_BATCH) {
      throw new ValidationError(`${ENTITY} claim limit must be a whole number from 1 to ${MAX_EVENT_BATCH}, got ${String(limit)}`, { entity: ENTITY, field: 'limit', value: limit });
    }
    const result = await table.query(
      db,
      `WITH claimed AS (
         DELETE FROM event_queue q
          WHERE q.event_id IN (SELECT event_id FROM event_queue ORDER BY event_id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING q.event_id)
       SELECT ${table.columns} FROM events JOIN claimed c ON c.event_id = events.id ORDER BY events.id`,
      [limit],
    );
    return result.rows.map(table.fromRow);
  },

  /** How many events wait to be processed (the backlog of the rules role). */
  async countUnprocessed(db: Executor): Promise<number> {
    const result = await table.query<{ count: number }>(db, 'SELECT count(*)::bigint AS count FROM event_queue');
    return result.rows[0]!.count;
  },

  /** Whether the event still waits to be processed. */
  async isUnprocessed(db: Executor, id: number): Promise<boolean> {
    assertId(id, ENTITY);
    const result = await table.query(db, 'SELECT 1 FROM event_queue WHERE event_id = $1', [id]);
    return result.rows.length > 0;
  },

  /** Deletes one event; enforcements that point at it keep their copy with a null event id. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),

  /** Retention: deletes events created before `date` and returns how many went. */
  async deleteOlderThan(db: Executor, date: Date): Promise<number> {
    assertDate(date, 'date');
    const result = await table.query(db, 'DELETE FROM events WHERE created_at < $1', [date]);
    return result.rowCount ?? 0;
  },
};
