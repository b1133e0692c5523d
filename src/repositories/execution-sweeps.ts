/**
 * The sweeps that stand in for a worker that died or hangs: expired leases
 * (retry or abandon) and runs past their deadline (timeout, or retry with
 * back-off). Each takes its rows with FOR UPDATE SKIP LOCKED, so several
 * maintenance processes handle each row once, copies a retried attempt to
 * the attempt history in the same statement, and reports where each
 * attempt's process ran (for recovery on the same host). Part of
 * ExecutionRepository, through ExecutionRuns.
 */
import type { Executor } from '../db/pool.js';
import { BACKOFF, DEFAULT_RETRY_BACKOFF, backoffRules, type RetryBackoff } from './execution-backoff.js';
import { ENTITY, table, type Execution } from './execution-model.js';
import { is, validateInput, type Rules } from './support/validate.js';

/** An attempt the sweeps ended, with where its process ran (for recovery on the same host). */
export interface SweptAttempt {
  execution: Execution;
  /** The attempt that was running. */
  attempt: number;
  workerId: number | null;
  host: string | null;
  pgid: number | null;
}

export interface SweepOptions {
  /** Rows handled in one call at most. Default 1000. */
  limit?: number;
  /** Leases / deadlines that ended before this instant. Default: the database clock. */
  asOf?: Date;
}

export interface DeadlineSweepOptions extends SweepOptions {
  /** Seconds past the deadline before the sweep steps in (the worker enforces the deadline itself first). Default 30. */
  graceSeconds?: number;
  backoff?: RetryBackoff;
}

const sweepRules: Rules = {
  limit: { check: is.integer(1, 100_000) },
  asOf: { check: is.timestamp },
  graceSeconds: { check: is.integer(0, 86_400) },
  backoff: { check: (value, _field, entity) => validateInput(entity, value as object, backoffRules, 'create') },
};

export const ExecutionSweeps = {
  /**
   * The sweep for dead workers: every scheduled, running or canceling
   * execution whose lease ended goes back to requested with attempt + 1
   * when attempts remain, else becomes abandoned; a canceling one
   * becomes canceled. A retried attempt is copied to the attempt history.
   * Rows locked by a live transaction are skipped. Returns each execution
   * with where its attempt's process ran.
   */
  async sweepExpiredLeases(db: Executor, options: SweepOptions = {}): Promise<SweptAttempt[]> {
    validateInput(ENTITY, options, sweepRules, 'create');
    const retry = "e.status <> 'canceling' AND e.attempt < e.max_attempts";
    const result = await table.query(
      db,
      `WITH expired AS MATERIALIZED (
         SELECT id, status AS held, attempt AS held_attempt, worker_id AS held_worker, pgid AS held_pgid, started_at AS held_started,
                attempt < max_attempts AND status <> 'canceling' AS retry,
                (SELECT w.host FROM workers w WHERE w.id = executions.worker_id) AS held_host
           FROM executions
          WHERE status IN ('scheduled', 'running', 'canceling')
            AND lease_expires_at < COALESCE($1::timestamptz, clock_timestamp())
          ORDER BY lease_expires_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE executions e SET
           status = CASE WHEN e.status = 'canceling' THEN 'canceled' WHEN ${retry} THEN 'requested' ELSE 'abandoned' END,
           error = CASE
             WHEN e.status = 'canceling' THEN 'lease of worker ' || COALESCE(e.worker_id::text, '?') || ' expired while canceling'
             WHEN e.attempt < e.max_attempts THEN 'lease of worker ' || COALESCE(e.worker_id::text, '?') || ' expired in attempt ' || e.attempt || ' of ' || e.max_attempts || '; retrying'
             ELSE 'lease of worker ' || COALESCE(e.worker_id::text, '?') || ' expired in the last attempt (' || e.attempt || ' of ' || e.max_attempts || '); abandoned'
           END,
           attempt = CASE WHEN ${retry} THEN e.attempt + 1 ELSE e.attempt END,
           worker_id = CASE WHEN ${retry} THEN NULL ELSE e.worker_id END,
           started_at = CASE WHEN ${retry} THEN NULL ELSE e.started_at END,
           result = CASE WHEN ${retry} THEN NULL ELSE e.result END,
           finished_at = CASE WHEN ${retry} THEN NULL ELSE clock_timestamp() END,
           pgid = NULL, deadline_at = NULL, lease_expires_at = NULL
         FROM expired x WHERE e.id = x.id
         RETURNING e.*, x.held_attempt, x.held_worker, x.held_pgid, x.held_host
       ), history AS (
         INSERT INTO execution_attempts (execution_id, attempt, worker_id, host, pgid, status, started_at, error)
         SELECT x.id, x.held_attempt, x.held_worker, x.held_host, x.held_pgid, 'abandoned', x.held_started,
                'lease of worker ' || COALESCE(x.held_worker::text, '?') || ' expired'
           FROM expired x WHERE x.retry
         ON CONFLICT (execution_id, attempt) DO NOTHING
       )
       SELECT ${table.columns}, held_attempt, held_worker, held_pgid, held_host FROM moved`,
      [options.asOf ?? null, options.limit ?? 1000],
    );
    return result.rows.map(swept).sort((a, b) => a.execution.id - b.execution.id);
  },

  /**
   * The sweep for runs past their deadline whose worker did not end them
   * (it died, or hangs): running executions past deadline_at + grace become
   * timeout (or requested again, with back-off, when retry_on_timeout and
   * attempts remain); canceling ones become canceled. A retried attempt is
   * copied to the attempt history. Returns each with where its process ran.
   */
  async sweepDeadlines(db: Executor, options: DeadlineSweepOptions = {}): Promise<SweptAttempt[]> {
    validateInput(ENTITY, options, sweepRules, 'create');
    const backoff = options.backoff ?? DEFAULT_RETRY_BACKOFF;
    const retry = "e.status = 'running' AND e.retry_on_timeout AND e.attempt < e.max_attempts";
    const result = await table.query(
      db,
      `WITH due AS MATERIALIZED (
         SELECT id, status AS held, attempt AS held_attempt, worker_id AS held_worker, pgid AS held_pgid, started_at AS held_started,
                status = 'running' AND retry_on_timeout AND attempt < max_attempts AS retry,
                (SELECT w.host FROM workers w WHERE w.id = executions.worker_id) AS held_host
           FROM executions
          WHERE status IN ('running', 'canceling')
            AND deadline_at < COALESCE($1::timestamptz, clock_timestamp()) - make_interval(secs => $3::integer)
          ORDER BY deadline_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE executions e SET
           status = CASE WHEN e.status = 'canceling' THEN 'canceled' WHEN ${retry} THEN 'requested' ELSE 'timeout' END,
           error = CASE WHEN e.status = 'canceling' THEN 'canceled; its worker did not report back before the deadline'
                        ELSE 'the run passed its deadline (' || to_char(e.deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ') and its worker did not end it'
                          || CASE WHEN ${retry} THEN '; retrying' ELSE '' END END,
           attempt = CASE WHEN ${retry} THEN e.attempt + 1 ELSE e.attempt END,
           worker_id = CASE WHEN ${retry} THEN NULL ELSE e.worker_id END,
           started_at = CASE WHEN ${retry} THEN NULL ELSE e.started_at END,
           finished_at = CASE WHEN ${retry} THEN NULL ELSE clock_timestamp() END,
           run_after = CASE WHEN ${retry} THEN clock_timestamp() + make_interval(secs => ${BACKOFF('e.attempt', '$4', '$5')}) ELSE e.run_after END,
           pgid = NULL, deadline_at = NULL, lease_expires_at = NULL
         FROM due x WHERE e.id = x.id
         RETURNING e.*, x.held_attempt, x.held_worker, x.held_pgid, x.held_host
       ), history AS (
         INSERT INTO execution_attempts (execution_id, attempt, worker_id, host, pgid, status, started_at, error)
         SELECT x.id, x.held_attempt, x.held_worker, x.held_host, x.held_pgid, 'timeout', x.held_started,
                'past its deadline; ended by the maintenance role'
           FROM due x WHERE x.retry
         ON CONFLICT (execution_id, attempt) DO NOTHING
       )
       SELECT ${table.columns}, held_attempt, held_worker, held_pgid, held_host FROM moved`,
      [options.asOf ?? null, options.limit ?? 1000, options.graceSeconds ?? 30, backoff.baseSeconds, backoff.capSeconds],
    );
    return result.rows.map(swept).sort((a, b) => a.execution.id - b.execution.id);
  },
};

function swept(row: Record<string, unknown>): SweptAttempt {
  return {
    execution: table.fromRow(row),
    attempt: Number(row.held_attempt),
    workerId: row.held_worker === null ? null : Number(row.held_worker),
    host: (row.held_host as string | null) ?? null,
    pgid: row.held_pgid === null ? null : Number(row.held_pgid),
  };
}
