import { LeaseLostError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertId } from './support/table.js';
import { ExecutionRuns } from './execution-runs.js';
import { is, validateInput } from './support/validate.js';
import { LEASED_EXECUTION_STATUSES, isFinalStatus, isLeasedStatus, statusesLeadingTo, type ExecutionStatus } from './execution-states.js';
import {
  DEFAULT_LEASE_SECONDS,
  ENTITY,
  MAX_LEASE_SECONDS,
  PICK_RUNNABLE,
  checkFence,
  assertStatus,
  byQueueOrder,
  claimRules,
  currentState,
  leaseLost,
  refused,
  table,
  transitionRules,
  truncateError,
  type ClaimOptions,
  type Execution,
  type ExecutionFence,
  type ExpireLeasesOptions,
  type TransitionOptions,
} from './execution-model.js';

/**
 * The work queue and the state machine of executions: transitions fenced by
 * (worker, attempt), claims, leases and their sweep, and cancel. Part of
 * ExecutionRepository; kept apart so each module has one job.
 */
export const ExecutionQueue = {
  /**
   * Moves an execution to `to` in one statement that only matches a row in a
   * status allowed to reach `to` (or in `expectedFrom`) and, for a worker's
   * write, held by its fence: the same attempt and, in a leased status, the
   * same worker with a lease that has not expired. Sets started_at on the
   * first move to running, finished_at and no lease on a final status;
   * moving into scheduled, running or canceling records the fence's worker
   * and a lease; going back to requested clears worker, lease, start and
   * result (and from running uses up an attempt).
   *
   * NotFoundError for a missing id; ValidationError (field `fence`) for a
   * worker's move without one; LeaseLostError when the fence no longer
   * holds the row; IllegalStateChangeError (with `from` and `to`) when the
   * move itself is refused. Operators cancel with `cancel`; dead workers'
   * rows are taken back by `expireLeases`.
   */
  async transition(db: Executor, id: number, to: ExecutionStatus, options: TransitionOptions = {}): Promise<Execution> {
    assertId(id, ENTITY);
    assertStatus(to);
    validateInput(ENTITY, options, transitionRules, 'create');
    const { fence } = options;
    let allowedFrom = statusesLeadingTo(to);
    if (options.expectedFrom !== undefined) {
      if (!allowedFrom.includes(options.expectedFrom)) throw refused(id, options.expectedFrom, to);
      allowedFrom = [options.expectedFrom];
    }
    const leasedTo = isLeasedStatus(to);
    if (fence === undefined && (leasedTo || (allowedFrom.length > 0 && allowedFrom.every(isLeasedStatus)))) {
      throw new ValidationError(
        `${ENTITY} ${id} moving to ${to} is a worker's write: give fence { workerId, attempt } (an operator stops an execution with cancel)`,
        { entity: ENTITY, field: 'fence', value: id },
      );
    }
    if (options.leaseSeconds !== undefined && !leasedTo) {
      throw new ValidationError(`${ENTITY} in ${to} holds no lease; leaseSeconds applies to scheduled, running and canceling`, {
        entity: ENTITY,
        field: 'leaseSeconds',
      });
    }
    const values: unknown[] = [id, to, allowedFrom];
    const param = (value: unknown): string => {
      values.push(value);
      return `$${values.length}`;
    };
    const leased = `(${LEASED_EXECUTION_STATUSES.map((status) => `'${status}'`).join(', ')})`;
    // Which rows the write may touch: a worker's only while its fence holds them, anyone's only while no worker does.
    const holder = fence
      ? ` AND attempt = ${param(fence.attempt)}::integer AND (status NOT IN ${leased} OR (worker_id = ${param(fence.workerId)}::bigint AND lease_expires_at > clock_timestamp()))`
      : ` AND status NOT IN ${leased}`;
    // Column → SQL expression; later entries replace earlier ones, so each column is assigned once.
    // Expressions read the row as it was before the UPDATE.
    const sets = new Map<string, string>([['status', '$2']]);
    let guard = '';
    if (to === 'requested') {
      sets.set('attempt', "CASE WHEN status = 'running' THEN attempt + 1 ELSE attempt END");
      for (const column of ['worker_id', 'lease_expires_at', 'started_at', 'result']) sets.set(column, 'NULL');
      guard = " AND (status <> 'running' OR attempt < max_attempts)";
    } else if (leasedTo) {
      sets.set('worker_id', `${param(fence!.workerId)}::bigint`);
      // A holder keeps its lease unless it asks for a new length; taking the row always grants one.
      const grant = `clock_timestamp() + make_interval(secs => ${param(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS)}::integer)`;
      sets.set('lease_expires_at', options.leaseSeconds !== undefined ? grant : `CASE WHEN status IN ${leased} THEN lease_expires_at ELSE ${grant} END`);
      if (to === 'running') sets.set('started_at', 'COALESCE(started_at, clock_timestamp())');
    } else {
      sets.set('lease_expires_at', 'NULL');
      if (isFinalStatus(to)) sets.set('finished_at', 'clock_timestamp()');
    }
    if (options.result !== undefined) sets.set('result', `${param(options.result === null ? null : JSON.stringify(options.result))}::jsonb`);
    if (options.error !== undefined) sets.set('error', `${param(options.error === null ? null : truncateError(options.error))}::text`);
    const assignments = [...sets].map(([column, expression]) => `${column} = ${expression}`).join(', ');

    const result = await table.query(
      db,
      `UPDATE executions SET ${assignments} WHERE id = $1 AND status = ANY($3::text[])${holder}${guard} RETURNING ${table.columns}`,
      values,
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);

    const current = await currentState(db, id);
    if (!current) throw new NotFoundError(ENTITY, 'id', id);
    const lost = fence && leaseLost(id, fence, current);
    if (lost) throw lost;
    if (!fence && isLeasedStatus(current.status)) {
      throw refused(id, current.status, to, `worker ${current.worker_id} holds it under a lease; only that worker moves it, with its fence (an operator uses cancel)`);
    }
    if (to === 'requested' && current.status === 'running' && allowedFrom.includes('running') && current.attempt >= current.max_attempts) {
      throw refused(id, current.status, to, `no attempts remain (attempt ${current.attempt} of ${current.max_attempts})`);
    }
    if (options.expectedFrom !== undefined && current.status !== options.expectedFrom) {
      throw refused(id, current.status, to, `expected it to be ${options.expectedFrom}`);
    }
    throw refused(id, current.status, to);
  },

  /**
   * Claims up to `limit` of the oldest runnable executions (requested, with
   * run_after passed; of `runnerTypes` when given) for a worker in one
   * statement: FOR UPDATE SKIP LOCKED, so concurrent claimers never get the
   * same row and never wait on each other. The rows become scheduled with
   * the worker and a lease; returned in queue order (run_after, id).
   */
  async claim(db: Executor, options: ClaimOptions): Promise<Execution[]> {
    validateInput(ENTITY, options, claimRules, 'create');
    // A join on the picked ids, not `id IN (SELECT …)`: no semi-join aggregate
    // to plan on the queue's hottest statement. picked_id keeps RETURNING's
    // unqualified columns unambiguous.
    const result = await table.query(
      db,
      `${PICK_RUNNABLE}
       UPDATE executions
          SET status = 'scheduled', worker_id = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $3::integer)
         FROM picked
        WHERE id = picked_id AND status = 'requested'
       RETURNING ${table.columns}`,
      [options.workerId, options.limit ?? 1, options.leaseSeconds ?? DEFAULT_LEASE_SECONDS, options.runnerTypes ?? null],
    );
    return result.rows.map(table.fromRow).sort(byQueueOrder);
  },

  /**
   * Extends the lease of an execution the fence holds (scheduled, running or
   * canceling, same worker and attempt) while that lease still runs: an
   * expired lease is lost, since the sweep may already have given the
   * execution to another attempt. NotFoundError for a missing id;
   * LeaseLostError, changing nothing, when the fence no longer holds it
   * (finished, canceled, requeued, taken over or expired): the worker should stop.
   */
  async renewLease(db: Executor, id: number, fence: ExecutionFence, leaseSeconds: number = DEFAULT_LEASE_SECONDS): Promise<Execution> {
    assertId(id, ENTITY);
    checkFence(fence, 'fence', ENTITY);
    is.integer(1, MAX_LEASE_SECONDS)(leaseSeconds, 'leaseSeconds', ENTITY);
    const result = await table.query(
      db,
      `UPDATE executions SET lease_expires_at = clock_timestamp() + make_interval(secs => $4::integer)
        WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status IN ('scheduled', 'running', 'canceling')
          AND lease_expires_at > clock_timestamp()
       RETURNING ${table.columns}`,
      [id, fence.workerId, fence.attempt, leaseSeconds],
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    const current = await currentState(db, id);
    if (!current) throw new NotFoundError(ENTITY, 'id', id);
    throw (
      leaseLost(id, fence, current) ??
      new LeaseLostError(
        `${ENTITY} ${id} is no longer held by worker ${fence.workerId} in attempt ${fence.attempt}: it is ${current.status}; its lease cannot be renewed`,
        { entity: ENTITY, value: id },
      )
    );
  },

  /**
   * The sweep for dead workers: every scheduled or running execution whose
   * lease ended goes back to requested with attempt + 1 when attempts
   * remain, else becomes abandoned; a canceling one becomes canceled. The
   * error text says what happened. Rows locked by a live transaction are
   * skipped (the next sweep sees them). Returns the changed executions.
   */
  async expireLeases(db: Executor, options: ExpireLeasesOptions = {}): Promise<Execution[]> {
    return (await ExecutionRuns.sweepExpiredLeases(db, options)).map((swept) => swept.execution);
  },

  /**
   * Cancels in one statement: requested, scheduled and paused executions
   * become canceled at once (a worker that claimed a scheduled one finds it
   * canceled when it tries to start); a running one becomes canceling for
   * its worker to finish; a canceling one stays so. IllegalStateChangeError
   * for a finished execution, NotFoundError for a missing id.
   */
  async cancel(db: Executor, id: number): Promise<Execution> {
    assertId(id, ENTITY);
    const result = await table.query(
      db,
      `UPDATE executions SET
         status = CASE WHEN status IN ('running', 'canceling') THEN 'canceling' ELSE 'canceled' END,
         finished_at = CASE WHEN status IN ('running', 'canceling') THEN finished_at ELSE clock_timestamp() END,
         lease_expires_at = CASE WHEN status IN ('running', 'canceling') THEN lease_expires_at ELSE NULL END
       WHERE id = $1 AND status IN ('requested', 'scheduled', 'paused', 'running', 'canceling')
       RETURNING ${table.columns}`,
      [id],
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    const current = await currentState(db, id);
    if (!current) throw new NotFoundError(ENTITY, 'id', id);
    throw refused(id, current.status, 'canceled');
  },
};
