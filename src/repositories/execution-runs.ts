/**
 * The worker's side of an execution's run: claiming straight into running
 * (with a deadline), the process groups, handing unstarted runs back,
 * pausing for an inquiry; with the completions (execution-completions.ts:
 * finishing many runs in one statement, with retries and back-off) and the
 * sweeps that stand in for a worker that died (execution-sweeps.ts). Every
 * worker write is fenced by (worker, attempt): a worker whose lease passed
 * to another changes nothing. Part of ExecutionRepository.
 */
import { NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertId } from './support/table.js';
import { is, validateInput } from './support/validate.js';
import type { ExecutionStatus } from './execution-states.js';
import { ExecutionSweeps } from './execution-sweeps.js';
import { claimAndStartRules, startPicked, type ClaimAndStartOptions } from './execution-claim.js';
import { ExecutionCompletions, completionRules } from './execution-completions.js';
import {
  DEFAULT_LEASE_SECONDS,
  ENTITY,
  PICK_RUNNABLE,
  byQueueOrder,
  checkFence,
  currentState,
  leaseLost,
  refused,
  table,
  truncateError,
  type Execution,
  type ExecutionFence,
} from './execution-model.js';

export { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from './execution-backoff.js';
export type { DeadlineSweepOptions, SweepOptions, SweptAttempt } from './execution-sweeps.js';
export type { FinishEventTriggers } from './execution-finish-events.js';
export type { ClaimAndStartOptions } from './execution-claim.js';
export {
  RUN_OUTCOME_STATUSES,
  type CompletionApplied,
  type FinishAndClaimResult,
  type RunCompletion,
  type RunOutcomeStatus,
} from './execution-completions.js';

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
    const result = await table.queryPrepared(
      db,
      'attune_claim_and_start',
      `${PICK_RUNNABLE}
       ${startPicked('$1', '$3', '$5')}
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

  ...ExecutionCompletions,
  ...ExecutionSweeps,
};
