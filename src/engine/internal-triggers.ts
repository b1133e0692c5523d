/**
 * The events Attune fires about its own work, so that rules can react:
 * an execution finished (`core.execution_finished`, and StackStorm's
 * `core.st2.generic.actiontrigger` with its payload shape), an inquiry was
 * created (`core.inquiry_created`, StackStorm's `core.st2.generic.inquiry`),
 * responded or timed out. Each is fired through `fireEvents` on the executor
 * it is given, so the caller puts it in the transaction of the state change
 * and no event is lost or fired for a change that rolled back. A trigger
 * that does not exist (the core pack is not registered) or is disabled is
 * skipped, never an error.
 */
import type { Executor } from '../db/pool.js';
import { mapErrors } from '../db/pg-errors.js';
import type { FinishEventTriggers } from '../repositories/execution-finish-events.js';
import type { Execution } from '../repositories/executions.js';
import type { Inquiry } from '../repositories/inquiries.js';
import type { JsonObject } from '../repositories/packs.js';
import { fireEvents, type EventToFire } from './fire-event.js';
import { maskSecretParams } from './request-execution.js';

export const INTERNAL_TRIGGERS = {
  executionFinished: 'core.execution_finished',
  actionTrigger: 'core.st2.generic.actiontrigger',
  inquiryCreated: 'core.inquiry_created',
  st2Inquiry: 'core.st2.generic.inquiry',
  inquiryResponded: 'core.inquiry_responded',
  inquiryTimedOut: 'core.inquiry_timed_out',
} as const;

const FINAL = new Set(['succeeded', 'failed', 'timeout', 'canceled', 'abandoned']);

/** The refs among `refs` that name an enabled trigger (active pack version, or built-in). */
async function firableTriggers(db: Executor, refs: string[]): Promise<Set<string>> {
  const result = await mapErrors('trigger', () =>
    db.query<{ ref: string }>(
      `SELECT DISTINCT c.ref FROM triggers c
        WHERE c.ref = ANY($1::text[]) AND c.enabled
          AND (c.pack_id IS NULL OR c.pack_id = (SELECT p.id FROM packs p WHERE p.ref = split_part(c.ref, '.', 1) AND p.is_active))`,
      [refs],
    ),
  );
  return new Set(result.rows.map((row) => row.ref));
}

/** The finish triggers: an execution's finish fires these. */
export const FINISH_TRIGGERS: readonly string[] = [INTERNAL_TRIGGERS.executionFinished, INTERNAL_TRIGGERS.actionTrigger];

/**
 * The finish triggers that can fire (enabled, of the active core pack), by
 * id, read once and kept until `invalidate`: a worker that follows
 * `attune_rules_changed` (NOTIFYed by every change of triggers and packs)
 * invalidates it there, and so writes each completion batch with its finish
 * events in one statement (`finishMany` with `events`), without a
 * transaction or a trigger lookup.
 */
export class FinishTriggerCache {
  #firable: Promise<FinishEventTriggers> | null = null;

  /** The ids of the finish triggers that can fire now; none when the core pack is not registered. */
  get(db: Executor): Promise<FinishEventTriggers> {
    if (this.#firable === null) {
      const read = readFinishTriggers(db);
      read.catch(() => {
        if (this.#firable === read) this.#firable = null;
      });
      this.#firable = read;
    }
    return this.#firable;
  }

  /** Forgets what it read: the next `get` reads again. */
  invalidate(): void {
    this.#firable = null;
  }
}

async function readFinishTriggers(db: Executor): Promise<FinishEventTriggers> {
  const result = await mapErrors('trigger', () =>
    db.query<{ ref: string; id: string }>(
      `SELECT c.ref, c.id FROM triggers c
        WHERE c.ref = ANY($1::text[]) AND c.enabled
          AND (c.pack_id IS NULL OR c.pack_id = (SELECT p.id FROM packs p WHERE p.ref = split_part(c.ref, '.', 1) AND p.is_active))
        ORDER BY c.pack_id NULLS LAST`,
      [[...FINISH_TRIGGERS]],
    ),
  );
  const ids = new Map<string, number>();
  for (const row of result.rows) if (!ids.has(row.ref)) ids.set(row.ref, Number(row.id));
  const triggers: FinishEventTriggers = {};
  const finished = ids.get(INTERNAL_TRIGGERS.executionFinished);
  const action = ids.get(INTERNAL_TRIGGERS.actionTrigger);
  if (finished !== undefined) triggers.executionFinished = finished;
  if (action !== undefined) triggers.actionTrigger = action;
  return triggers;
}

async function fireWhereDefined(db: Executor, events: EventToFire[]): Promise<number> {
  if (events.length === 0) return 0;
  const firable = await firableTriggers(db, [...new Set(events.map((event) => event.triggerRef))]);
  const kept = events.filter((event) => firable.has(event.triggerRef));
  for (let start = 0; start < kept.length; start += 1000) await fireEvents(db, kept.slice(start, start + 1000));
  return kept.length;
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

/**
 * Fires the finish events of every execution in `executions` that is in a
 * final status (others are ignored). Parameters are masked. Returns how many
 * events were fired. (A worker with a FinishTriggerCache writes the same
 * events in its completion statement instead: execution-finish-events.ts.)
 */
export async function fireExecutionsFinished(db: Executor, executions: readonly Execution[]): Promise<number> {
  const finished = executions.filter((execution) => FINAL.has(execution.status));
  if (finished.length === 0) return 0;
  const enforcementIds = [...new Set(finished.map((execution) => execution.enforcementId).filter((id): id is number => id !== null))];
  const ruleRefs = new Map<number, string | null>();
  if (enforcementIds.length > 0) {
    const result = await mapErrors('enforcement', () =>
      db.query<{ id: string; rule_ref: string | null }>('SELECT id, rule_ref FROM enforcements WHERE id = ANY($1::bigint[])', [enforcementIds]),
    );
    for (const row of result.rows) ruleRefs.set(Number(row.id), row.rule_ref);
  }
  const events: EventToFire[] = [];
  for (const execution of finished) {
    const parameters = maskSecretParams(execution.params, {});
    const result = (execution.result ?? null) as JsonObject[string];
    const traceId = execution.traceId;
    events.push({
      triggerRef: INTERNAL_TRIGGERS.executionFinished,
      source: 'attune:worker',
      traceId,
      payload: {
        execution_id: execution.id,
        action_ref: execution.actionRef,
        runner_type: execution.runnerType ?? '',
        status: execution.status,
        parameters,
        result,
        error: execution.error,
        attempt: execution.attempt,
        started_at: iso(execution.startedAt),
        finished_at: iso(execution.finishedAt ?? new Date()),
        rule_ref: execution.enforcementId === null ? null : ruleRefs.get(execution.enforcementId) ?? null,
        enforcement_id: execution.enforcementId,
      },
    });
    events.push({
      triggerRef: INTERNAL_TRIGGERS.actionTrigger,
      source: 'attune:worker',
      traceId,
      payload: {
        execution_id: execution.id,
        status: execution.status,
        start_timestamp: iso(execution.startedAt),
        action_name: execution.actionRef.slice(execution.actionRef.indexOf('.') + 1),
        action_ref: execution.actionRef,
        runner_ref: execution.runnerType ?? '',
        parameters,
        result,
      },
    });
  }
  return fireWhereDefined(db, events);
}

/** Fires `core.inquiry_created` and `core.st2.generic.inquiry` for a new inquiry. */
export async function fireInquiryCreated(db: Executor, inquiry: Inquiry, traceId: string | null): Promise<number> {
  return fireWhereDefined(db, [
    {
      triggerRef: INTERNAL_TRIGGERS.inquiryCreated,
      source: 'attune:inquiry',
      traceId,
      payload: {
        inquiry_id: inquiry.id,
        execution_id: inquiry.executionId,
        route: inquiry.route,
        schema: inquiry.responseSchema,
        users: inquiry.users,
        roles: inquiry.roles,
        timeout_at: iso(inquiry.timeoutAt),
      },
    },
    { triggerRef: INTERNAL_TRIGGERS.st2Inquiry, source: 'attune:inquiry', traceId, payload: { id: inquiry.id, route: inquiry.route } },
  ]);
}

/** Fires `core.inquiry_responded` for an answered inquiry; `respondedBy` is the responder's login, when known. */
export async function fireInquiryResponded(db: Executor, inquiry: Inquiry, respondedBy: string | null, traceId: string | null): Promise<number> {
  return fireWhereDefined(db, [
    {
      triggerRef: INTERNAL_TRIGGERS.inquiryResponded,
      source: 'attune:inquiry',
      traceId,
      payload: {
        inquiry_id: inquiry.id,
        execution_id: inquiry.executionId,
        route: inquiry.route,
        response: inquiry.response ?? {},
        responded_by: respondedBy,
        responded_at: iso(inquiry.respondedAt) ?? new Date().toISOString(),
      },
    },
  ]);
}

/** Fires `core.inquiry_timed_out` for each inquiry. */
export async function fireInquiriesTimedOut(db: Executor, inquiries: readonly Inquiry[]): Promise<number> {
  return fireWhereDefined(
    db,
    inquiries.map((inquiry) => ({
      triggerRef: INTERNAL_TRIGGERS.inquiryTimedOut,
      source: 'attune:maintenance',
      payload: { inquiry_id: inquiry.id, execution_id: inquiry.executionId, route: inquiry.route, ...(inquiry.timeoutAt ? { timeout_at: inquiry.timeoutAt.toISOString() } : {}) },
    })),
  );
}
