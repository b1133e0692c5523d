/* The execution row: its types, column map, input rules and the helpers the
   repository and the queue share. */
import { IllegalStateChangeError, LeaseLostError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import type { QueryResultRow } from 'pg';
import { PAGINATION_RULES, Table, type ColumnMap, type Pagination } from './support/table.js';
import { is, type Check, type Rules } from './support/validate.js';
import { EXECUTION_STATUSES, isLeasedStatus, type ExecutionStatus } from './execution-states.js';

/**
 * Params and results are kept in the row only up to this size (as JSON text);
 * bigger output belongs in separate storage (the later execution_outputs table).
 */
export const MAX_EXECUTION_JSON_BYTES = 256 * 1024;
/** Longer error texts are cut to this many characters, so a failure can always be recorded. */
export const MAX_EXECUTION_ERROR_LENGTH = 16 * 1024;
/** Default lease a claim grants; a worker renews it while it runs. */
export const DEFAULT_LEASE_SECONDS = 60;
export const MAX_LEASE_SECONDS = 24 * 3600;
export const MAX_CLAIM_BATCH = 1000;

/** One run of an action. */
export interface Execution {
  id: number;
  /** Null once the action is deleted; actionRef stays. */
  actionId: number | null;
  actionRef: string;
  params: JsonObject;
  /** The workflow execution this one is a step of. */
  parentId: number | null;
  enforcementId: number | null;
  requestedBy: number | null;
  /** The worker that claimed (or ran) it. */
  workerId: number | null;
  status: ExecutionStatus;
  /** Any JSON the action returned; null until it reports one. */
  result: unknown;
  error: string | null;
  /** 1-based; a retry increments it. */
  attempt: number;
  maxAttempts: number;
  timeoutSeconds: number | null;
  /** Set while a worker holds it (scheduled, running, canceling). */
  leaseExpiresAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  traceId: string | null;
  /** Not claimed before this instant: a delayed run, or a retry's back-off. */
  runAfter: Date;
  /** The action's runner type when it was requested; claims filter on it. */
  runnerType: string | null;
  /** A timed-out attempt is retried like a failed one (while attempts remain). */
  retryOnTimeout: boolean;
  /** When the running attempt times out (its start plus its timeout); null when not running. */
  deadlineAt: Date | null;
  /** The process group of the running attempt, recorded by its worker for recovery. */
  pgid: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateExecutionInput {
  /** The action in the active version of its pack. Give exactly one of actionRef and actionId. */
  actionRef?: string;
  /** A specific action row (any pack version). */
  actionId?: number;
  params?: JsonObject;
  parentId?: number | null;
  enforcementId?: number | null;
  requestedBy?: number | null;
  /** 1–100. Default 1 (no retry). */
  maxAttempts?: number;
  /** Default: the action's timeout_seconds; null for none. */
  timeoutSeconds?: number | null;
  traceId?: string | null;
  /** Not run before this instant. Default: now. */
  runAfter?: Date;
  /** Retry a timed-out attempt as a failed one. Default false. */
  retryOnTimeout?: boolean;
}

/** What may change outside `transition`; the request itself (action, params, parents) is history. */
export type UpdateExecutionInput = Partial<Pick<CreateExecutionInput, 'maxAttempts' | 'timeoutSeconds' | 'traceId'>>;

/**
 * The fencing token of a worker's write: the worker and the attempt it holds.
 * `claim` returns both (`fenceOf(execution)`); a write whose fence no longer
 * matches the row changes nothing and raises LeaseLostError.
 */
export interface ExecutionFence {
  workerId: number;
  attempt: number;
}

/** The fence of an execution as a worker holds it (after `claim`, or a move to running). */
export function fenceOf(execution: Pick<Execution, 'id' | 'workerId' | 'attempt'>): ExecutionFence {
  if (execution.workerId === null) {
    throw new ValidationError(`${ENTITY} ${execution.id} has no worker, so it has no fence`, { entity: ENTITY, field: 'workerId', value: execution.id });
  }
  return { workerId: execution.workerId, attempt: execution.attempt };
}

export interface TransitionOptions {
  /** Replaces the result (any JSON; null clears). */
  result?: unknown;
  /** Replaces the error text (cut to MAX_EXECUTION_ERROR_LENGTH; null clears). */
  error?: string | null;
  /**
   * The worker and attempt making this write. Required to move into a leased
   * status (scheduled, running, canceling: the worker takes or keeps it) and
   * out of one (only its holder may, while its lease lasts). Moves between
   * unheld statuses (requested → canceled, paused → timeout, …) need none;
   * when given there, the attempt must still match.
   */
  fence?: ExecutionFence;
  /** Only move if the row is in this status now: compare-and-set. */
  expectedFrom?: ExecutionStatus;
  /**
   * Lease length when `to` is scheduled, running or canceling. Taking an
   * execution (from requested or paused) grants DEFAULT_LEASE_SECONDS when
   * omitted; a holder's move keeps the lease it has unless this is given.
   */
  leaseSeconds?: number;
}

export interface ClaimOptions {
  workerId: number;
  /** Claim only executions of these runner types (canonical names). Default: any. */
  runnerTypes?: string[];
  /** Rows to claim at most. Default 1. */
  limit?: number;
  /** Default DEFAULT_LEASE_SECONDS. */
  leaseSeconds?: number;
}

export interface ExpireLeasesOptions {
  /** Leases that ended before this instant expire. Default: the database clock. */
  asOf?: Date;
  /** Rows handled in one call at most. Default 1000. */
  limit?: number;
}

export interface ExecutionFilter extends Pagination {
  status?: ExecutionStatus | ExecutionStatus[];
  actionRef?: string;
  actionId?: number;
  /** Children of a workflow run; null for top-level executions only. */
  parentId?: number | null;
  enforcementId?: number;
  /** Requested by this rule (through its enforcements, whichever pack version it was in). */
  ruleRef?: string;
  workerId?: number;
  requestedBy?: number;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
}

export const ENTITY = 'execution';

/** Execution field → column; `table` maps with it, and a test holds `table.fromRow` to it. */
export const columns = {
  id: 'id',
  actionId: 'action_id',
  actionRef: 'action_ref',
  params: { column: 'params', kind: 'json' },
  parentId: 'parent_id',
  enforcementId: 'enforcement_id',
  requestedBy: 'requested_by',
  workerId: 'worker_id',
  status: 'status',
  result: { column: 'result', kind: 'json' },
  error: 'error',
  attempt: 'attempt',
  maxAttempts: 'max_attempts',
  timeoutSeconds: 'timeout_seconds',
  leaseExpiresAt: 'lease_expires_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  traceId: 'trace_id',
  runAfter: 'run_after',
  runnerType: 'runner_type',
  retryOnTimeout: 'retry_on_timeout',
  deadlineAt: 'deadline_at',
  pgid: 'pgid',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} satisfies ColumnMap<Execution>;

export const table = new Table<Execution>({ table: 'executions', entity: ENTITY, columns });

/**
 * Rows mapped by one object literal instead of the generic walk of the
 * column map, which adds each field by computed name: every list page (50
 * rows of 25 fields per API request) and every claim batch pays it per row.
 * Same fields and values as the generic mapping (no bigint-kind columns
 * here; test/repositories/execution-row-mapping.test.ts compares them), and
 * typed as Execution, so a new field cannot be left out.
 */
table.fromRow = (row: QueryResultRow): Execution => ({
  id: row.id,
  actionId: row.action_id,
  actionRef: row.action_ref,
  params: row.params,
  parentId: row.parent_id,
  enforcementId: row.enforcement_id,
  requestedBy: row.requested_by,
  workerId: row.worker_id,
  status: row.status,
  result: row.result,
  error: row.error,
  attempt: row.attempt,
  maxAttempts: row.max_attempts,
  timeoutSeconds: row.timeout_seconds,
  leaseExpiresAt: row.lease_expires_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  traceId: row.trace_id,
  runAfter: row.run_after,
  runnerType: row.runner_type,
  retryOnTimeout: row.retry_on_timeout,
  deadlineAt: row.deadline_at,
  pgid: row.pgid,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** JSON text size in bytes, refused above the cap. */
export function capped(check: Check): Check {
  return (value, field, entity) => {
    check(value, field, entity);
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
    if (bytes > MAX_EXECUTION_JSON_BYTES) {
      throw new ValidationError(
        `${entity}.${field} is ${bytes} bytes of JSON; at most ${MAX_EXECUTION_JSON_BYTES} are kept in the execution row`,
        { entity, field },
      );
    }
  };
}

export const rules: Rules = {
  actionRef: { check: is.componentRef, immutable: true },
  actionId: { check: is.id, immutable: true },
  params: { check: capped(is.object), immutable: true },
  parentId: { check: is.id, nullable: true, immutable: true },
  enforcementId: { check: is.id, nullable: true, immutable: true },
  requestedBy: { check: is.id, nullable: true, immutable: true },
  maxAttempts: { check: is.integer(1, 100) },
  timeoutSeconds: { check: is.integer(1, 2_147_483_647), nullable: true },
  traceId: { check: is.string({ min: 1, max: 255 }), nullable: true },
  runAfter: { check: is.timestamp, immutable: true },
  retryOnTimeout: { check: is.boolean, immutable: true },
};

/** A fence is an object of exactly a worker id and an attempt. */
export function checkFence(value: unknown, field: string, entity: string): void {
  is.object(value, field, entity);
  const fence = value as Record<string, unknown>;
  const unknown = Object.keys(fence).filter((key) => key !== 'workerId' && key !== 'attempt');
  if (unknown.length > 0) throw new ValidationError(`${entity}.${field} has unknown field ${unknown[0]}`, { entity, field: `${field}.${unknown[0]}` });
  is.id(fence.workerId, `${field}.workerId`, entity);
  is.integer(1, 100)(fence.attempt, `${field}.attempt`, entity);
}

export const transitionRules: Rules = {
  result: { check: capped(is.json), nullable: true },
  error: { check: is.anyString, nullable: true },
  fence: { check: checkFence },
  expectedFrom: { check: is.oneOf(EXECUTION_STATUSES) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
};

export const filterRules: Rules = {
  ...PAGINATION_RULES,
  status: { check: is.oneOrMoreOf(EXECUTION_STATUSES) },
  actionRef: { check: is.componentRef },
  actionId: { check: is.id },
  parentId: { check: is.id, nullable: true },
  enforcementId: { check: is.id },
  ruleRef: { check: is.componentRef },
  workerId: { check: is.id },
  requestedBy: { check: is.id },
  since: { check: is.timestamp },
  until: { check: is.timestamp },
};

export function assertStatus(value: unknown, field = 'status'): asserts value is ExecutionStatus {
  is.oneOf(EXECUTION_STATUSES)(value, field, ENTITY);
}

/** Cut to the cap; NUL (which PostgreSQL text cannot hold, and process output may contain) becomes U+FFFD. */
export function truncateError(error: string): string {
  const clean = error.replace(/\u0000/g, '\uFFFD');
  return clean.length <= MAX_EXECUTION_ERROR_LENGTH ? clean : `${clean.slice(0, MAX_EXECUTION_ERROR_LENGTH - 12)}…[truncated]`;
}

/** IllegalStateChangeError with a message that says why. */
export function refused(id: number, from: string, to: string, why?: string): IllegalStateChangeError {
  const error = new IllegalStateChangeError(ENTITY, from, to, { value: id });
  if (why) error.message = `${ENTITY} ${id} cannot change from ${from} to ${to}: ${why}`;
  return error;
}

/** What a refused write needs to say why: the row's state, and whether its lease still runs (by the database clock). */
export interface CurrentState {
  status: ExecutionStatus;
  worker_id: number | null;
  attempt: number;
  max_attempts: number;
  lease_expires_at: Date | null;
  lease_live: boolean;
}

export async function currentState(db: Executor, id: number): Promise<CurrentState | undefined> {
  const result = await table.query<CurrentState>(
    db,
    `SELECT status, worker_id, attempt, max_attempts, lease_expires_at,
            COALESCE(lease_expires_at > clock_timestamp(), false) AS lease_live
       FROM executions WHERE id = $1`,
    [id],
  );
  return result.rows[0];
}

/**
 * LeaseLostError when `fence` does not hold the row as it is now: another
 * attempt (requeued, retried), another worker's lease, or an expired one.
 * Undefined when the fence still holds it, or the row is in an unheld status
 * of the fence's attempt (then the move itself is what was refused).
 */
export function leaseLost(id: number, fence: ExecutionFence, current: CurrentState): LeaseLostError | undefined {
  const held = isLeasedStatus(current.status);
  if (current.attempt === fence.attempt && (!held || (current.worker_id === fence.workerId && current.lease_live))) return undefined;
  const now = `status ${current.status}, worker ${current.worker_id ?? 'none'}, attempt ${current.attempt}`;
  const why =
    current.attempt !== fence.attempt
      ? `attempt ${fence.attempt} is over`
      : current.worker_id !== fence.workerId
        ? `another worker holds it`
        : `its lease expired at ${current.lease_expires_at?.toISOString() ?? '?'}`;
  return new LeaseLostError(
    `${ENTITY} ${id} is no longer held by worker ${fence.workerId} in attempt ${fence.attempt}: ${why} (now ${now}); nothing changed`,
    { entity: ENTITY, value: id },
  );
}

/** The claim's order: run_after, then id. */
export const byQueueOrder = (a: Execution, b: Execution): number => a.runAfter.getTime() - b.runAfter.getTime() || a.id - b.id;

/** Options of `claim`, checked before any SQL. */
export const claimRules: Rules = {
  workerId: { check: is.id, required: true },
  limit: { check: is.integer(1, MAX_CLAIM_BATCH) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
  runnerTypes: { check: is.stringArray({ maxItems: 100, maxLength: 64 }) },
};

/**
 * The queue's pick, shared by `claim`, `claimAndStart` and `finishAndClaim`:
 * the oldest runnable rows (`limit` of them, of the runner types
 * `runnerTypes` when not null; both placeholders), locked with SKIP LOCKED,
 * as the CTE `picked(picked_id)`. One text, so the claim index (and its plan
 * test) serves them all.
 */
export function pickRunnable(limit: string, runnerTypes: string): string {
  return `picked AS MATERIALIZED (
         SELECT id AS picked_id FROM executions
          WHERE status = 'requested' AND run_after <= clock_timestamp()
            AND (${runnerTypes}::text[] IS NULL OR runner_type = ANY(${runnerTypes}::text[]))
          ORDER BY run_after, id LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
       )`;
}

/** `pickRunnable` as a statement's WITH, limit $2 and runner types $4. */
export const PICK_RUNNABLE = `WITH ${pickRunnable('$2', '$4')}`;
