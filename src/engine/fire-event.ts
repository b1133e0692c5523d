/**
 * Event intake: `fireEvent` and `fireEvents` record trigger firings for the
 * rules role. The trigger is resolved through the active version of its pack,
 * the payload is checked against the trigger's payload schema and the input
 * limits before anything is written, and the event is committed (with its
 * queue row and one NOTIFY on `attune_events` per statement, both done by the
 * events table's trigger) before the call returns.
 */
import { randomUUID } from 'node:crypto';
import type { Executor } from '../db/pool.js';
import { mapErrors } from '../db/pg-errors.js';
import { InvalidReferenceError, ValidationError } from '../errors.js';
import { isComponentRef } from '../refs.js';
import { EventRepository, MAX_EVENT_BATCH, type Event } from '../repositories/events.js';
import type { JsonObject } from '../repositories/packs.js';
import { compiledSchema, describeSchemaErrors, firstErrorField } from './json-schema-validator.js';

/** How an event was fired. */
export interface FireEventOptions {
  /** The sensor, webhook or timer that fired it (`sensor:github.watcher`, `webhook:deploy`). */
  source?: string | null;
  /** Ties the event to what it causes; a new UUID when not given. */
  traceId?: string | null;
  /**
   * The parameters the trigger fired with: a webhook's `{url}`, a timer
   * rule's schedule. A rule matches only when its own trigger parameters
   * agree with these.
   */
  triggerParams?: JsonObject;
}

/** One event for `fireEvents`. */
export interface EventToFire extends FireEventOptions {
  triggerRef: string;
  payload?: JsonObject;
}

/** The trigger as intake needs it. */
interface ResolvedTrigger {
  id: number;
  ref: string;
  enabled: boolean;
  payloadSchema: Record<string, unknown>;
  updatedAt: Date;
}

const ENTITY = 'event';

/**
 * Records one event of `triggerRef` and returns it once it is durable.
 * InvalidReferenceError when no trigger has the ref (in the active version of
 * its pack, or as a built-in); ValidationError when the trigger is disabled,
 * or the payload breaks the trigger's payload schema (the message names the
 * path) or the input limits. Nothing is stored then.
 */
export async function fireEvent(db: Executor, triggerRef: string, payload: JsonObject = {}, options: FireEventOptions = {}): Promise<Event> {
  const [event] = await fireEvents(db, [{ ...options, triggerRef, payload }]);
  return event!;
}

/**
 * Records many events (of any triggers) in one INSERT and returns them in
 * input order, all durable. Every event is checked first; one that fails
 * stores nothing and the error names it (`events[3]: …`). At most
 * MAX_EVENT_BATCH per call.
 */
export async function fireEvents(db: Executor, events: readonly EventToFire[]): Promise<Event[]> {
  if (!Array.isArray(events)) throw new ValidationError('fireEvents takes an array of events', { entity: ENTITY });
  if (events.length > MAX_EVENT_BATCH) {
    throw new ValidationError(`fireEvents takes at most ${MAX_EVENT_BATCH} events per call, got ${events.length}; split the batch`, { entity: ENTITY, value: events.length });
  }
  if (events.length === 0) return [];
  const single = events.length === 1;
  events.forEach((event, index) => checkShape(event, single ? '' : `events[${index}]: `));
  const triggers = await resolveTriggers(db, [...new Set(events.map((event) => event.triggerRef))]);
  const inputs = events.map((event, index) => {
    const at = single ? '' : `events[${index}]: `;
    const trigger = triggers.get(event.triggerRef);
    if (trigger === undefined) {
      throw new InvalidReferenceError(`${at}trigger '${event.triggerRef}' names no trigger in the active version of its pack`, {
        entity: ENTITY,
        field: 'triggerRef',
        value: event.triggerRef,
      });
    }
    if (!trigger.enabled) {
      throw new ValidationError(`${at}trigger '${trigger.ref}' is disabled: enable it to accept its events`, { entity: ENTITY, field: 'triggerRef', value: trigger.ref });
    }
    const payload = event.payload ?? {};
    checkPayload(trigger, payload, at);
    return {
      triggerId: trigger.id,
      triggerRef: trigger.ref,
      payload,
      triggerParams: event.triggerParams ?? {},
      source: event.source ?? null,
      traceId: event.traceId ?? randomUUID(),
    };
  });
  return EventRepository.createResolved(db, inputs);
}

function checkShape(event: EventToFire, at: string): void {
  if (event === null || typeof event !== 'object') throw new ValidationError(`${at}an event must be an object with a triggerRef`, { entity: ENTITY });
  if (!isComponentRef(event.triggerRef)) {
    throw new ValidationError(`${at}${ENTITY}.triggerRef must be a trigger ref '<pack>.<name>', got ${JSON.stringify(event.triggerRef)}`, {
      entity: ENTITY,
      field: 'triggerRef',
      value: typeof event.triggerRef === 'string' ? event.triggerRef : undefined,
    });
  }
  for (const field of ['payload', 'triggerParams'] as const) {
    const value = event[field];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new ValidationError(`${at}${ENTITY}.${field} must be an object`, { entity: ENTITY, field });
    }
  }
}

/** The payload against the trigger's payload schema (none, or `{}`, accepts any object). */
function checkPayload(trigger: ResolvedTrigger, payload: JsonObject, at: string): void {
  if (Object.keys(trigger.payloadSchema).length === 0) return;
  let validate;
  try {
    validate = compiledSchema(`trigger:${trigger.id}:${trigger.updatedAt.getTime()}`, { ...trigger.payloadSchema, type: 'object' });
  } catch (error) {
    throw new ValidationError(`${at}trigger '${trigger.ref}' has a payload schema that does not compile: ${(error as Error).message}`, {
      entity: 'trigger',
      field: 'payloadSchema',
    });
  }
  // Validated on a copy: defaults the schema declares are not written into the stored payload.
  if (!validate(structuredClone(payload))) {
    throw new ValidationError(`${at}payload does not match the payload schema of trigger '${trigger.ref}': ${describeSchemaErrors(validate.errors, 'payload')}`, {
      entity: ENTITY,
      field: firstErrorField(validate.errors, 'payload'),
    });
  }
}

/** The triggers with these refs, each through the active version of its pack (else a built-in), in one query. */
async function resolveTriggers(db: Executor, refs: string[]): Promise<Map<string, ResolvedTrigger>> {
  const result = await mapErrors('trigger', () =>
    db.query<{ id: number; ref: string; enabled: boolean; payload_schema: Record<string, unknown>; updated_at: Date }>(
      `SELECT DISTINCT ON (c.ref) c.id, c.ref, c.enabled, c.payload_schema, c.updated_at
         FROM triggers c
        WHERE c.ref = ANY($1::text[])
          AND (c.pack_id IS NULL OR c.pack_id = (SELECT p.id FROM packs p WHERE p.ref = split_part(c.ref, '.', 1) AND p.is_active))
        ORDER BY c.ref, c.pack_id IS NULL`,
      [refs],
    ),
  );
  const triggers = new Map<string, ResolvedTrigger>();
  for (const row of result.rows) {
    triggers.set(row.ref, { id: row.id, ref: row.ref, enabled: row.enabled, payloadSchema: row.payload_schema ?? {}, updatedAt: row.updated_at });
  }
  return triggers;
}

