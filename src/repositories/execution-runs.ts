/**
 * The worker's side of an execution's run: claiming straight into running
 * (with a deadline), the process groups, finishing many runs in one
 * statement (with retries and back-off), handing unstarted runs back,
 * pausing for an inquiry; with the sweeps that stand in for a worker that
 * died (execution-sweeps.ts). Every worker write is fenced by (worker,
 * attempt): a worker whose lease passed to another changes nothing. An
 * attempt that a retry replaces is copied to execution_attempts in the same
 * statement that requeues the execution. Part of ExecutionRepository.
 */
import { NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertId } from './support/table.js';
import { is, validateInput, type Rules } from './support/validate.js';
import type { ExecutionStatus } from './execution-states.js';
import { BACKOFF, DEFAULT_RETRY_BACKOFF, backoffRules, type RetryBackoff } from './execution-backoff.js';
import { ExecutionSweeps } from './execution-sweeps.js';
import { finishEventsCte, type FinishEventTriggers } from './execution-finish-events.js';

export { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from './execution-backoff.js';
export type { DeadlineSweepOptions, SweepOptions, SweptAttempt } from './execution-sweeps.js';
export type { FinishEventTriggers } from './execution-finish-events.js';
import {
  DEFAULT_LEASE_SECONDS,
  ENTITY,
  MAX_CLAIM_BATCH,
  MAX_LEASE_SECONDS,
  PICK_RUNNABLE,
  byQueueOrder,
  capped,
  checkFence,
  currentState,
  leaseLost,
  refused,
  table,
  truncateError,
  type Execution,
  type ExecutionFence,
} from './execution-model.js';

/** How a run ended, as a worker reports it. */
export type RunOutcomeStatus = 'succeeded' | 'failed' | 'timeout' | 'canceled';
export const RUN_OUTCOME_STATUSES: readonly RunOutcomeStatus[] = ['succeeded', 'failed', 'timeout', 'canceled'];

export interface ClaimAndStartOptions {
  workerId: number;
  /** Rows to claim at most. Default 1. */
  limit?: number;
  /** Default DEFAULT_LEASE_SECONDS. */
  leaseSeconds?: number;
  /** Claim only executions of these runner types. Default: any. */
  runnerTypes?: string[];
  /** Timeout of a run whose execution sets none; the deadline is its start plus its timeout. */
  defaultTimeoutSeconds: number;
}

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

const claimAndStartRules: Rules = {
  workerId: { check: is.id, required: true },
  limit: { check: is.integer(1, MAX_CLAIM_BATCH) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
  runnerTypes: { check: is.stringArray({ maxItems: 100, maxLength: 64 }) },
  defaultTimeoutSeconds: { check: is.integer(1, 2_147_483), required: true },
};

const eventTriggerRules: Rules = {
  executionFinished: { check: is.id },
  actionTrigger: { check: is.id },
};

const completionRules: Rules = {
  id: { check: is.id, required: true },
  fence: { check: checkFence, required: true },
  status: { check: is.oneOf(RUN_OUTCOME_STATUSES), required: true },
  result: { check: capped(is.json), nullable: true },
  error: { check: is.anyString, nullable: true },
  summary: { check: is.object, nullable: true },
};

async function explainRefusal(db: Executor, id: number, fence: ExecutionFence, to: ExecutionStatus): Promise<Error> {
  const current = await currentState(db, id);
  if (!current) return new NotFoundError(ENTITY, 'id', id);
  return leaseLost(id, fence, current) ?? refused(id, current.status, to);
}

export const ExecutionRuns = {
  /**
   * Claims up to `limit` of the oldest runnable executions (requested,
   * run_after passed, of `runnerTypes` when given) straight into running
   * for a worker with a free slot for each: FOR UPDATE SKIP LOCKED, one
   * statement. Sets the worker, a lease, started_at and the deadline (start
   * plus the execution's timeout, else `defaultTimeoutSeconds`). Returned in
   * queue order. (`claim` takes rows into scheduled instead.)
   */
  async claimAndStart(db: Executor, options: ClaimAndStartOptions): Promise<Execution[]> {
    validateInput(ENTITY, options, claimAndStartRules, 'create');
    const result = await table.query(
      db,
      `${PICK_RUNNABLE}
       UPDATE executions
          SET status = 'running', worker_id = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $3::integer),
              started_at = clock_timestamp(), pgid = NULL,
              deadline_at = clock_timestamp() + make_interval(secs => COALESCE(timeout_seconds, $5::integer))
         FROM picked
        WHERE id = picked_id AND status = 'requested'
       RETURNING ${table.columns}`,
      [options.workerId, options.limit ?? 1, options.leaseSeconds ?? DEFAULT_LEASE_SECONDS, options.runnerTypes ?? null, options.defaultTimeoutSeconds],
    );
    return result.rows.map(table.fromRow).sort(byQueueOrder);
  },

  /**
   * Records the process group of the running attempt, fenced. False
   * (nothing written) when the fence no longer holds the execution.
   */
  async recordProcessGroup(db: Executor, id: number, fence: ExecutionFence, pgid: number): Promise<boolean> {
    assertId(id, ENTITY);
    checkFence(fence, 'fence', ENTITY);
    is.integer(2, 2_147_483_647)(pgid, 'pgid', ENTITY);
    const result = await table.query(
      db,
      `UPDATE executions SET pgid = $4
        WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status IN ('running', 'canceling') AND lease_expires_at > clock_timestamp()
       RETURNING id`,
      [id, fence.workerId, fence.attempt, pgid],
    );
    return result.rows.length > 0;
  },

  /**
   * Records the process groups of many running attempts in one statement,
   * each fenced by its own (worker, attempt) and live lease, as
   * `recordProcessGroup` does for one. Returns the ids written; the others'
   * fences no longer held their rows.
   */
  async recordProcessGroups(db: Executor, groups: ReadonlyArray<{ id: number; fence: ExecutionFence; pgid: number }>): Promise<number[]> {
    if (!Array.isArray(groups)) throw new ValidationError(`${ENTITY} process groups must be an array`, { entity: ENTITY, field: 'groups' });
    if (groups.length === 0) return [];
    for (const group of groups) {
      assertId(group.id, ENTITY);
      checkFence(group.fence, 'fence', ENTITY);
      is.integer(2, 2_147_483_647)(group.pgid, 'pgid', ENTITY);
    }
    const result = await table.query<{ id: string }>(
      db,
      // The rows locked by primary key first, the fence checked on what was locked (see finishMany).
      `WITH locked AS MATERIALIZED (
         SELECT id, worker_id, attempt, status, lease_expires_at FROM executions WHERE id = ANY($2::bigint[]) FOR UPDATE
       )
       UPDATE executions e SET pgid = x.pgid
         FROM locked l JOIN jsonb_to_recordset($1::jsonb) AS x(id bigint, worker_id bigint, attempt integer, pgid integer) ON x.id = l.id
        WHERE e.id = l.id AND l.worker_id = x.worker_id AND l.attempt = x.attempt
          AND l.status IN ('running', 'canceling') AND l.lease_expires_at > clock_timestamp()
       RETURNING e.id`,
      [
        JSON.stringify(groups.map((group) => ({ id: group.id, worker_id: group.fence.workerId, attempt: group.fence.attempt, pgid: group.pgid }))),
        groups.map((group) => group.id),
      ],
    );
    return result.rows.map((row) => Number(row.id));
  },

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
    if (!Array.isArray(completions)) throw new ValidationError(`${ENTITY} completions must be an array`, { entity: ENTITY, field: 'completions' });
    if (completions.length === 0) return [];
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
    const result = await table.query<{ finished_attempt: number; retried: boolean }>(
      db,
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS x(id bigint, worker_id bigint, attempt integer, status text, result jsonb, error text, summary jsonb)
       ), locked AS MATERIALIZED (
         -- The rows by primary key, alone: with the fence's conditions in the same scan the planner
         -- walked every running execution through executions_deadline_idx instead.
         SELECT id, attempt, max_attempts, status, worker_id, started_at, pgid, retry_on_timeout, lease_expires_at
           FROM executions WHERE id = ANY($4::bigint[])
          FOR UPDATE
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
       )${fire ? finishEventsCte('$5', '$6') : ''}
       SELECT ${table.columns}, finished_attempt, retried FROM moved`,
      [
        JSON.stringify(rows),
        backoff.baseSeconds,
        backoff.capSeconds,
        rows.map((row) => row.id),
        ...(fire ? [events!.executionFinished ?? null, events!.actionTrigger ?? null] : []),
      ],
    );
    return result.rows.map((row) => {
      const execution = table.fromRow(row);
      return { id: execution.id, status: execution.status, attempt: row.finished_attempt, retried: row.retried, execution };
    });
  },

  /**
   * Hands claimed executions whose runner never started back to requested,
   * in one statement, without using an attempt: a worker stopping
   * gracefully. Takes scheduled rows, and running rows the worker took with
   * `claimAndStart` but had not started a runner for (the caller knows;
   * pgid must still be unset). Returns the ids handed back; rows the fence
   * no longer holds are skipped.
   */
  async handBack(db: Executor, claims: ReadonlyArray<{ id: number; fence: ExecutionFence }>): Promise<number[]> {
    if (claims.length === 0) return [];
    for (const claim of claims) {
      assertId(claim.id, ENTITY);
      checkFence(claim.fence, 'fence', ENTITY);
    }
    const result = await table.query<{ id: string }>(
      db,
      `WITH locked AS MATERIALIZED (
         SELECT id, worker_id, attempt, status, pgid, lease_expires_at FROM executions WHERE id = ANY($2::bigint[]) FOR UPDATE
       )
       UPDATE executions e SET status = 'requested', worker_id = NULL, lease_expires_at = NULL, started_at = NULL, deadline_at = NULL
         FROM locked l JOIN jsonb_to_recordset($1::jsonb) AS x(id bigint, worker_id bigint, attempt integer) ON x.id = l.id
        WHERE e.id = l.id AND l.worker_id = x.worker_id AND l.attempt = x.attempt
          AND (l.status = 'scheduled' OR (l.status = 'running' AND l.pgid IS NULL)) AND l.lease_expires_at > clock_timestamp()
       RETURNING e.id`,
      [JSON.stringify(claims.map((claim) => ({ id: claim.id, worker_id: claim.fence.workerId, attempt: claim.fence.attempt }))), claims.map((claim) => claim.id)],
    );
    return result.rows.map((row) => Number(row.id));
  },

  /**
   * running → paused for the worker holding it (an inquiry now waits for a
   * person, outside any worker slot and lease). LeaseLostError when the
   * fence no longer holds it.
   */
  async pause(db: Executor, id: number, fence: ExecutionFence): Promise<Execution> {
    assertId(id, ENTITY);
    checkFence(fence, 'fence', ENTITY);
    const result = await table.query(
      db,
      `UPDATE executions SET status = 'paused', lease_expires_at = NULL, deadline_at = NULL, pgid = NULL
        WHERE id = $1 AND status = 'running' AND worker_id = $2 AND attempt = $3 AND lease_expires_at > clock_timestamp()
       RETURNING ${table.columns}`,
      [id, fence.workerId, fence.attempt],
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    throw await explainRefusal(db, id, fence, 'paused');
  },

  /**
   * Ends a paused execution (its inquiry was answered, timed out or
   * canceled): paused → `to`, with the result and error given. Null when
   * it was not paused (someone else ended it first).
   */
  async endPaused(db: Executor, id: number, to: 'succeeded' | 'timeout' | 'canceled' | 'failed', options: { result?: unknown; error?: string | null } = {}): Promise<Execution | null> {
    assertId(id, ENTITY);
    validateInput(ENTITY, options, { result: completionRules.result!, error: completionRules.error! }, 'create');
    const result = await table.query(
      db,
      `UPDATE executions SET status = $2, finished_at = clock_timestamp(),
              result = CASE WHEN $3::boolean THEN $4::jsonb ELSE result END, error = $5::text
        WHERE id = $1 AND status = 'paused'
       RETURNING ${table.columns}`,
      [
        id,
        to,
        options.result !== undefined,
        options.result === undefined ? null : JSON.stringify(options.result),
        options.error === undefined || options.error === null ? null : truncateError(options.error),
      ],
    );
    return result.rows.length > 0 ? table.fromRow(result.rows[0]!) : null;
  },

  ...ExecutionSweeps,
};
