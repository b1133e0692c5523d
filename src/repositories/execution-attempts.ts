/**
 * The attempt history of executions. execution_attempts keeps the attempts
 * a retry replaced (ExecutionRuns copies each in the statement that requeues
 * the execution); the current or last attempt is the execution row itself.
 * `listForExecution` returns both. Read-only here.
 */
import type { Executor } from '../db/pool.js';
import { assertId, Table } from './support/table.js';

/** Mirrors execution_attempts_status_check. */
export const EXECUTION_ATTEMPT_STATUSES = ['failed', 'timeout', 'abandoned'] as const;
export type ExecutionAttemptStatus = (typeof EXECUTION_ATTEMPT_STATUSES)[number];

/** One attempt as `listForExecution` reports it: a replaced one, or the execution's current one. */
export interface AttemptView {
  attempt: number;
  workerId: number | null;
  host: string | null;
  pgid: number | null;
  /** A replaced attempt's outcome, or the execution's status for the current one. */
  status: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  /** True for the execution's current (or last) attempt. */
  current: boolean;
}

/** One attempt of an execution. */
export interface ExecutionAttempt {
  id: number;
  executionId: number;
  attempt: number;
  workerId: number | null;
  /** The host of the worker that ran it. */
  host: string | null;
  /** The process group it ran in, when it started a process. */
  pgid: number | null;
  status: ExecutionAttemptStatus;
  startedAt: Date | null;
  finishedAt: Date;
  error: string | null;
  /** A short summary of what it returned (exit code and the like). */
  resultSummary: Record<string, unknown> | null;
}

const table = new Table<ExecutionAttempt>({
  table: 'execution_attempts',
  entity: 'executionAttempt',
  columns: {
    id: 'id',
    executionId: 'execution_id',
    attempt: 'attempt',
    workerId: 'worker_id',
    host: 'host',
    pgid: 'pgid',
    status: 'status',
    startedAt: 'started_at',
    finishedAt: 'finished_at',
    error: 'error',
    resultSummary: { column: 'result_summary', kind: 'json' },
  },
});

export const ExecutionAttemptRepository = {
  /** The attempts a retry replaced, first attempt first (served by the (execution_id, attempt) key). */
  async listReplaced(db: Executor, executionId: number): Promise<ExecutionAttempt[]> {
    assertId(executionId, 'executionAttempt', 'executionId');
    return table.findAll(db, 'execution_id = $1', [executionId], 'attempt');
  },

  /**
   * Every attempt of an execution, first attempt first: the replaced ones,
   * then the current one from the execution row (once it has started, or
   * ended without starting). Empty for a missing execution.
   */
  async listForExecution(db: Executor, executionId: number): Promise<AttemptView[]> {
    assertId(executionId, 'executionAttempt', 'executionId');
    const result = await table.query<{
      attempt: number; worker_id: string | null; host: string | null; pgid: number | null; status: string;
      started_at: Date | null; finished_at: Date | null; error: string | null; current: boolean;
    }>(
      db,
      `SELECT attempt, worker_id, host, pgid, status, started_at, finished_at, error, false AS current
         FROM execution_attempts WHERE execution_id = $1
       UNION ALL
       SELECT e.attempt, e.worker_id, w.host, e.pgid, e.status, e.started_at, e.finished_at, e.error, true
         FROM executions e LEFT JOIN workers w ON w.id = e.worker_id
        WHERE e.id = $1 AND (e.started_at IS NOT NULL OR e.finished_at IS NOT NULL OR e.status = 'paused')
       ORDER BY attempt, current`,
      [executionId],
    );
    return result.rows.map((row) => ({
      attempt: row.attempt,
      workerId: row.worker_id === null ? null : Number(row.worker_id),
      host: row.host,
      pgid: row.pgid,
      status: row.status,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      error: row.error,
      current: row.current,
    }));
  },
};
