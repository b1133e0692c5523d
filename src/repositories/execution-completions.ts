/**
 * Completions: the statement that finishes a batch of runs, each fenced by
 * its own (worker, attempt) and live lease, with retries and back-off, the
 * attempt history and (optionally) the finish events; alone (`finishMany`)
 * or with the claim of the next runs in the same statement
 * (`finishAndClaim`), so a busy worker sends one statement per batch rather
 * than a completion and a claim side by side. An attempt that a retry
 * replaces is copied to execution_attempts in the same statement that
 * requeues the execution. Part of ExecutionRepository.
 */
import { ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { is, validateInput, type Rules } from './support/validate.js';
import type { ExecutionStatus } from './execution-states.js';
import { BACKOFF, DEFAULT_RETRY_BACKOFF, backoffRules, type RetryBackoff } from './execution-backoff.js';
import { finishEventsCte, type FinishEventTriggers } from './execution-finish-events.js';
import { claimAndStartRules, startPicked, type ClaimAndStartOptions } from './execution-claim.js';
import {
  DEFAULT_LEASE_SECONDS,
  ENTITY,
  byQueueOrder,
  capped,
  checkFence,
  pickRunnable,
  table,
  truncateError,
  type Execution,
  type ExecutionFence,
} from './execution-model.js';

/** How a run ended, as a worker reports it. */
export type RunOutcomeStatus = 'succeeded' | 'failed' | 'timeout' | 'canceled';
export const RUN_OUTCOME_STATUSES: readonly RunOutcomeStatus[] = ['succeeded', 'failed', 'timeout', 'canceled'];

/** One finished run, as `finishMany` takes it. */
export interface RunCompletion {
  id: number;
  fence: ExecutionFence;
  status: RunOutcomeStatus;
  result?: unknown;
  error?: string | null;
  /** A short summary of the result kept in the attempt history (exit code and the like). */
  summary?: Record<string, unknown> | null;
}

/** What became of one completion. */
export interface CompletionApplied {
  id: number;
  /** The execution's status now: the outcome, or `requested` for a retry. */
  status: ExecutionStatus;
  /** The attempt that finished. */
  attempt: number;
  /** True when the run will be tried again (status requested, attempt + 1). */
  retried: boolean;
  /** The execution as the statement left it. */
  execution: Execution;
}

/** What `finishAndClaim` did: the completions applied, and the executions it claimed. */
export interface FinishAndClaimResult {
  finished: CompletionApplied[];
  /** Now running on the claiming worker, in queue order. */
  claimed: Execution[];
}

const eventTriggerRules: Rules = {
  executionFinished: { check: is.id },
  actionTrigger: { check: is.id },
};

/** The checks of one RunCompletion (endPaused reuses those of result and error). */
export const completionRules: Rules = {
  id: { check: is.id, required: true },
  fence: { check: checkFence, required: true },
  status: { check: is.oneOf(RUN_OUTCOME_STATUSES), required: true },
  result: { check: capped(is.json), nullable: true },
  error: { check: is.anyString, nullable: true },
  summary: { check: is.object, nullable: true },
};

/**
 * The CTEs that finish `completions` (`moved` returns the updated rows with
 * `finished_attempt` and `retried`), with their parameters: $1 to $4, and
 * $5, $6 when they fire events (`fire`; the text differs, and so must the
 * name it is prepared under). Checks everything first. With `skipLocked`, a
 * row another transaction has locked is left alone rather than waited for.
 */
function completionCtes(
  completions: readonly RunCompletion[],
  backoff: RetryBackoff,
  events: FinishEventTriggers | undefined,
  skipLocked: boolean,
): { sql: string; params: unknown[]; fire: boolean } {
  if (!Array.isArray(completions)) throw new ValidationError(`${ENTITY} completions must be an array`, { entity: ENTITY, field: 'completions' });
  for (const completion of completions) validateInput(ENTITY, completion, completionRules, 'create');
  validateInput(ENTITY, backoff, backoffRules, 'create');
  if (events !== undefined) validateInput(ENTITY, events, eventTriggerRules, 'create');
  const fire = events !== undefined && (events.executionFinished !== undefined || events.actionTrigger !== undefined);
  const rows = completions.map((completion) => ({
    id: completion.id,
    worker_id: completion.fence.workerId,
    attempt: completion.fence.attempt,
    status: completion.status,
    result: completion.result === undefined ? null : completion.result,
    error: completion.error === undefined || completion.error === null ? null : truncateError(completion.error),
    summary: completion.summary ?? null,
  }));
  const sql = `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS x(id bigint, worker_id bigint, attempt integer, status text, result jsonb, error text, summary jsonb)
       ), locked AS MATERIALIZED (
         -- The rows by primary key, alone: with the fence's conditions in the same scan the planner
         -- walked every running execution through executions_deadline_idx instead.
         SELECT id, attempt, max_attempts, status, worker_id, started_at, pgid, retry_on_timeout, lease_expires_at
           FROM executions WHERE id = ANY($4::bigint[])
          FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}
       ), target AS (
         SELECT e.id, e.attempt, e.max_attempts, e.status AS held, i.result, i.summary,
                e.worker_id, e.started_at, e.pgid, (SELECT w.host FROM workers w WHERE w.id = e.worker_id) AS host,
                -- canceled only stands for a run the cancel stopped; otherwise the worker gave up on it: failed.
                CASE WHEN i.status = 'canceled' AND e.status <> 'canceling' THEN 'failed' ELSE i.status END AS outcome,
                CASE WHEN i.status = 'canceled' AND e.status <> 'canceling' THEN COALESCE(i.error, 'the run was stopped') ELSE i.error END AS error,
                e.status = 'running' AND e.attempt < e.max_attempts
                  AND (i.status = 'failed' OR (i.status = 'timeout' AND e.retry_on_timeout)) AS retry
           FROM input i JOIN locked e ON e.id = i.id
          WHERE e.worker_id = i.worker_id AND e.attempt = i.attempt AND e.status IN ('running', 'canceling')
            AND e.lease_expires_at > clock_timestamp()
       ), moved AS (
         UPDATE executions e SET
           status = CASE WHEN t.retry THEN 'requested' ELSE t.outcome END,
           result = CASE WHEN t.retry THEN NULL ELSE t.result END,
           error = CASE WHEN t.retry
                     THEN 'attempt ' || t.attempt || ' of ' || t.max_attempts || ' ' || t.outcome || COALESCE(': ' || t.error, '') || '; retrying'
                     ELSE t.error END,
           attempt = CASE WHEN t.retry THEN e.attempt + 1 ELSE e.attempt END,
           worker_id = CASE WHEN t.retry THEN NULL ELSE e.worker_id END,
           started_at = CASE WHEN t.retry THEN NULL ELSE e.started_at END,
           finished_at = CASE WHEN t.retry THEN NULL ELSE clock_timestamp() END,
           deadline_at = NULL,
           pgid = CASE WHEN t.retry THEN NULL ELSE e.pgid END,
           lease_expires_at = NULL,
           run_after = CASE WHEN t.retry
                         THEN clock_timestamp() + make_interval(secs => ${BACKOFF('t.attempt', '$2', '$3')})
                         ELSE e.run_after END
          FROM target t WHERE e.id = t.id
         RETURNING e.*, t.attempt AS finished_attempt, t.retry AS retried
       ), history AS (
         INSERT INTO execution_attempts (execution_id, attempt, worker_id, host, pgid, status, started_at, error, result_summary)
         SELECT t.id, t.attempt, t.worker_id, t.host, t.pgid, t.outcome, t.started_at, t.error, t.summary FROM target t WHERE t.retry
         ON CONFLICT (execution_id, attempt) DO NOTHING
       )${fire ? finishEventsCte('$5', '$6') : ''}`;
  const params: unknown[] = [JSON.stringify(rows), backoff.baseSeconds, backoff.capSeconds, rows.map((row) => row.id)];
  if (fire) params.push(events!.executionFinished ?? null, events!.actionTrigger ?? null);
  return { sql, params, fire };
}

const applied = (row: Record<string, unknown>): CompletionApplied => {
  const execution = table.fromRow(row);
  return { id: execution.id, status: execution.status, attempt: row.finished_attempt as number, retried: row.retried as boolean, execution };
};

export const ExecutionCompletions = {
  /**
   * Finishes many runs in one statement, each fenced by its own (worker,
   * attempt) and live lease; a completion whose fence no longer holds its
   * row changes nothing and is left out of the answer. A failed run (or a
   * timed-out one with retry_on_timeout) with attempts left goes back to
   * requested with attempt + 1 and run_after pushed by the back-off; any
   * other outcome is final. A canceling execution ends canceled unless it
   * finished first. A retried attempt is copied to the attempt history.
   * With `events`, the same statement fires the finish events of the runs
   * that reached a final status (execution-finish-events.ts).
   */
  async finishMany(
    db: Executor,
    completions: readonly RunCompletion[],
    backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
    events?: FinishEventTriggers,
  ): Promise<CompletionApplied[]> {
    const { sql, params, fire } = completionCtes(completions, backoff, events, false);
    if (completions.length === 0) return [];
    const result = await table.queryPrepared(
      db,
      `attune_finish_many${fire ? '_events' : ''}`,
      `${sql}\n       SELECT ${table.columns}, finished_attempt, retried FROM moved`,
      params,
    );
    return result.rows.map(applied);
  },

  /**
   * `finishMany` and `claimAndStart` in one statement: the completions
   * written as finishMany writes them (fenced, retries, history, events),
   * and up to `claim.limit` runnable executions claimed straight into
   * running as claimAndStart claims them. It never waits: a completion whose
   * row another transaction holds locked is skipped, like one whose fence
   * no longer holds (left out of `finished`; the caller writes it again with
   * finishMany, which waits and tells the two apart), so the claim is never
   * held up by a busy row. A run requeued by a completion is not claimed by
   * the same statement (its snapshot still sees it running), so its back-off
   * holds. With no completions it is a claim.
   */
  async finishAndClaim(
    db: Executor,
    completions: readonly RunCompletion[],
    claim: ClaimAndStartOptions,
    backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
    events?: FinishEventTriggers,
  ): Promise<FinishAndClaimResult> {
    const { sql, params, fire } = completionCtes(completions, backoff, events, true);
    validateInput(ENTITY, claim, claimAndStartRules, 'create');
    const at = (offset: number): string => `$${params.length + offset}`;
    const result = await table.queryPrepared(
      db,
      `attune_finish_and_claim${fire ? '_events' : ''}`,
      `${sql}, ${pickRunnable(at(2), at(4))}, started AS (
         ${startPicked(at(1), at(3), at(5))}
         RETURNING ${table.columns}
       )
       SELECT true AS was_finished, ${table.columns}, finished_attempt, retried FROM moved
       UNION ALL
       SELECT false, ${table.columns}, NULL::integer, NULL::boolean FROM started`,
      [...params, claim.workerId, claim.limit ?? 1, claim.leaseSeconds ?? DEFAULT_LEASE_SECONDS, claim.runnerTypes ?? null, claim.defaultTimeoutSeconds],
    );
    const finished: CompletionApplied[] = [];
    const claimed: Execution[] = [];
    for (const row of result.rows) {
      if (row.was_finished) finished.push(applied(row));
      else claimed.push(table.fromRow(row));
    }
    return { finished, claimed: claimed.sort(byQueueOrder) };
  },
};
