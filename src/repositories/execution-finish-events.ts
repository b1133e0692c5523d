/**
 * The finish events of a completion batch written by the statement that
 * finishes the runs (`finishMany` with `events`): one INSERT … SELECT from
 * the updated rows adds a `core.execution_finished` and a
 * `core.st2.generic.actiontrigger` event for every run that reached a final
 * status, with the payloads fireExecutionsFinished builds (parameters
 * masked: a stored secret `{"$secret": …}` becomes `********`), so the worker
 * needs neither a transaction nor a trigger lookup per batch. The caller
 * knows the triggers (FinishTriggerCache); the events table's statement
 * trigger queues the new events for the rules role as for any insert.
 */

/** The ids of the finish triggers that can fire; a missing one fires nothing. */
export interface FinishEventTriggers {
  /** core.execution_finished */
  executionFinished?: number;
  /** core.st2.generic.actiontrigger */
  actionTrigger?: number;
}

/** A timestamp as JavaScript's toISOString spells it (UTC, milliseconds). */
const iso = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The execution's parameters with stored secrets masked. */
const MASKED_PARAMS = `(SELECT COALESCE(jsonb_object_agg(p.key,
           CASE WHEN jsonb_typeof(p.value) = 'object' AND p.value ? '$secret' AND (SELECT count(*) FROM jsonb_object_keys(p.value)) = 1
                THEN to_jsonb('********'::text) ELSE p.value END), '{}'::jsonb)
      FROM jsonb_each(m.params) AS p)`;

/**
 * A CTE (`, finish_events AS (INSERT …)`) to append to a statement whose CTE
 * `moved` returns the updated executions (`e.*`) with `retried`; `$finished`
 * and `$action` are the placeholders of the two trigger ids (null: none).
 */
export function finishEventsCte(finished: string, action: string): string {
  const payload = `CASE t.kind
      WHEN 'finished' THEN jsonb_build_object(
        'execution_id', m.id, 'action_ref', m.action_ref, 'runner_type', COALESCE(m.runner_type, ''), 'status', m.status,
        'parameters', ${MASKED_PARAMS}, 'result', COALESCE(m.result, 'null'::jsonb), 'error', m.error, 'attempt', m.attempt,
        'started_at', ${iso('m.started_at')}, 'finished_at', ${iso('COALESCE(m.finished_at, clock_timestamp())')},
        'rule_ref', en.rule_ref, 'enforcement_id', m.enforcement_id)
      ELSE jsonb_build_object(
        'execution_id', m.id, 'status', m.status, 'start_timestamp', ${iso('m.started_at')},
        'action_name', substr(m.action_ref, strpos(m.action_ref, '.') + 1), 'action_ref', m.action_ref,
        'runner_ref', COALESCE(m.runner_type, ''), 'parameters', ${MASKED_PARAMS}, 'result', COALESCE(m.result, 'null'::jsonb))
    END`;
  return `, finish_events AS (
         INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id)
         SELECT t.trigger_id, t.trigger_ref, ${payload}, 'attune:worker', COALESCE(m.trace_id, gen_random_uuid()::text)
           FROM moved m
          CROSS JOIN (VALUES (1, ${finished}::bigint, 'core.execution_finished', 'finished'),
                             (2, ${action}::bigint, 'core.st2.generic.actiontrigger', 'action')) AS t(ord, trigger_id, trigger_ref, kind)
           LEFT JOIN enforcements en ON en.id = m.enforcement_id
          WHERE NOT m.retried AND t.trigger_id IS NOT NULL
          ORDER BY m.id, t.ord
       )`;
}
