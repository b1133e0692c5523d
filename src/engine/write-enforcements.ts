/**
 * The rules role's write: every enforcement of a batch of events, and the
 * `requested` execution of each one that is to run, in one statement. The
 * enforcement copies the event's payload and trigger ref and the rule's
 * criteria in the database; the execution copies the action's ref, runner
 * type and timeout. A rule that already has an enforcement for the event
 * (a batch redone after a crash) gets neither a second enforcement nor a
 * second execution: ON CONFLICT on the unique (rule, event) index.
 */
import { mapErrors } from '../db/pg-errors.js';
import type { Executor } from '../db/pool.js';
import { MAX_ENFORCEMENT_ERROR_LENGTH, type EnforcementStatus } from '../repositories/enforcements.js';
import type { JsonObject } from '../repositories/packs.js';

/** One enforcement to write, with the execution it requests when `execution` is set. */
export interface EnforcementRecord {
  ruleId: number;
  ruleRef: string;
  eventId: number;
  status: Extract<EnforcementStatus, 'processed' | 'failed' | 'disabled'>;
  /** The parameters as shown (secrets masked). */
  resolvedParams: JsonObject;
  error: string | null;
  execution?: {
    actionId: number;
    /** As stored: secrets encrypted. The same object as `resolvedParams` when there are no secrets. */
    params: JsonObject;
    traceId: string | null;
  };
}

/** What one write did. */
export interface WriteReport {
  /** Enforcements inserted (a redone rule and event inserts none). */
  enforcements: number;
  executions: number;
}

/** Writes `records` in one statement; see the module comment. */
export async function writeEnforcements(db: Executor, records: readonly EnforcementRecord[]): Promise<WriteReport> {
  if (records.length === 0) return { enforcements: 0, executions: 0 };
  const columns = {
    ruleIds: [] as number[],
    ruleRefs: [] as string[],
    eventIds: [] as number[],
    statuses: [] as string[],
    resolved: [] as string[],
    errors: [] as (string | null)[],
    actionIds: [] as (number | null)[],
    params: [] as (string | null)[],
    traceIds: [] as (string | null)[],
  };
  for (const record of records) {
    columns.ruleIds.push(record.ruleId);
    columns.ruleRefs.push(record.ruleRef);
    columns.eventIds.push(record.eventId);
    columns.statuses.push(record.status);
    columns.resolved.push(JSON.stringify(record.resolvedParams));
    columns.errors.push(record.error === null ? null : record.error.slice(0, MAX_ENFORCEMENT_ERROR_LENGTH));
    columns.actionIds.push(record.execution?.actionId ?? null);
    // Sent once when they are the same object (no secrets): the execution takes the resolved parameters.
    columns.params.push(record.execution && record.execution.params !== record.resolvedParams ? JSON.stringify(record.execution.params) : null);
    columns.traceIds.push(record.execution?.traceId ?? null);
  }
  const result = await mapErrors('enforcement', () =>
    db.query<{ enforcements: number; executions: number }>({
      // Prepared once per connection and reused by every batch: for a batch of a hundred rows,
      // parsing and planning this statement anew was about a tenth of its time.
      name: 'attune_write_enforcements',
      text: `WITH input AS MATERIALIZED (
              SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::bigint[], $8::jsonb[], $9::text[])
                     AS i(rule_id, rule_ref, event_id, status, resolved_params, error, action_id, params, trace_id)),
            enforced AS (
              INSERT INTO enforcements (rule_id, rule_ref, event_id, trigger_ref, status, payload, criteria, resolved_params, error)
              SELECT i.rule_id, i.rule_ref, i.event_id, e.trigger_ref, i.status, e.payload, r.criteria, i.resolved_params, i.error
                FROM input i JOIN events e ON e.id = i.event_id JOIN rules r ON r.id = i.rule_id
              ON CONFLICT (rule_id, event_id) WHERE rule_id IS NOT NULL AND event_id IS NOT NULL DO NOTHING
              RETURNING id, rule_id, event_id),
            requested AS (
              INSERT INTO executions (action_id, action_ref, runner_type, params, enforcement_id, timeout_seconds, trace_id)
              SELECT a.id, a.ref, a.runner_type, coalesce(i.params, i.resolved_params), en.id, a.timeout_seconds, i.trace_id
                FROM enforced en
                JOIN input i ON i.rule_id = en.rule_id AND i.event_id = en.event_id
                JOIN actions a ON a.id = i.action_id
              RETURNING id)
       SELECT (SELECT count(*) FROM enforced)::bigint AS enforcements, (SELECT count(*) FROM requested)::bigint AS executions`,
      values: [
        columns.ruleIds,
        columns.ruleRefs,
        columns.eventIds,
        columns.statuses,
        columns.resolved,
        columns.errors,
        columns.actionIds,
        columns.params,
        columns.traceIds,
      ],
    }),
  );
  const row = result.rows[0]!;
  return { enforcements: row.enforcements, executions: row.executions };
}
