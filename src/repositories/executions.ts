import { IllegalStateChangeError, InvalidReferenceError, LeaseLostError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { assertId, PAGINATION_RULES, Table, Where, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';
import {
  EXECUTION_STATUSES,
  LEASED_EXECUTION_STATUSES,
  isFinalStatus,
  isLeasedStatus,
  statusesLeadingTo,
  type ExecutionStatus,
} from './execution-states.js';

export {
  EXECUTION_STATUSES,
  EXECUTION_TRANSITIONS,
  FINAL_EXECUTION_STATUSES,
  LEASED_EXECUTION_STATUSES,
  canTransition,
  isFinalStatus,
  isLeasedStatus,
  statusesLeadingTo,
  type ExecutionStatus,
} from './execution-states.js';

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
  workerId?: number;
  requestedBy?: number;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
}

const ENTITY = 'execution';

const table = new Table<Execution>({
  table: 'executions',
  entity: ENTITY,
  columns: {
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
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

/** JSON text size in bytes, refused above the cap. */
function capped(check: Check): Check {
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

const rules: Rules = {
  actionRef: { check: is.componentRef, immutable: true },
  actionId: { check: is.id, immutable: true },
  params: { check: capped(is.object), immutable: true },
  parentId: { check: is.id, nullable: true, immutable: true },
  enforcementId: { check: is.id, nullable: true, immutable: true },
  requestedBy: { check: is.id, nullable: true, immutable: true },
  maxAttempts: { check: is.integer(1, 100) },
  timeoutSeconds: { check: is.integer(1, 2_147_483_647), nullable: true },
  traceId: { check: is.string({ min: 1, max: 255 }), nullable: true },
};

/** A fence is an object of exactly a worker id and an attempt. */
function checkFence(value: unknown, field: string, entity: string): void {
  is.object(value, field, entity);
  const fence = value as Record<string, unknown>;
  const unknown = Object.keys(fence).filter((key) => key !== 'workerId' && key !== 'attempt');
  if (unknown.length > 0) throw new ValidationError(`${entity}.${field} has unknown field ${unknown[0]}`, { entity, field: `${field}.${unknown[0]}` });
  is.id(fence.workerId, `${field}.workerId`, entity);
  is.integer(1, 100)(fence.attempt, `${field}.attempt`, entity);
}

const transitionRules: Rules = {
  result: { check: capped(is.json), nullable: true },
  error: { check: is.anyString, nullable: true },
  fence: { check: checkFence },
  expectedFrom: { check: is.oneOf(EXECUTION_STATUSES) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  status: { check: is.oneOrMoreOf(EXECUTION_STATUSES) },
  actionRef: { check: is.componentRef },
  actionId: { check: is.id },
  parentId: { check: is.id, nullable: true },
  enforcementId: { check: is.id },
  workerId: { check: is.id },
  requestedBy: { check: is.id },
  since: { check: is.timestamp },
  until: { check: is.timestamp },
};

function assertStatus(value: unknown, field = 'status'): asserts value is ExecutionStatus {
  is.oneOf(EXECUTION_STATUSES)(value, field, ENTITY);
}

/** Cut to the cap; NUL (which PostgreSQL text cannot hold, and process output may contain) becomes U+FFFD. */
function truncateError(error: string): string {
  const clean = error.replace(/\u0000/g, '\uFFFD');
  return clean.length <= MAX_EXECUTION_ERROR_LENGTH ? clean : `${clean.slice(0, MAX_EXECUTION_ERROR_LENGTH - 12)}…[truncated]`;
}

/** IllegalStateChangeError with a message that says why. */
function refused(id: number, from: string, to: string, why?: string): IllegalStateChangeError {
  const error = new IllegalStateChangeError(ENTITY, from, to, { value: id });
  if (why) error.message = `${ENTITY} ${id} cannot change from ${from} to ${to}: ${why}`;
  return error;
}

/** What a refused write needs to say why: the row's state, and whether its lease still runs (by the database clock). */
interface CurrentState {
  status: ExecutionStatus;
  worker_id: number | null;
  attempt: number;
  max_attempts: number;
  lease_expires_at: Date | null;
  lease_live: boolean;
}

async function currentState(db: Executor, id: number): Promise<CurrentState | undefined> {
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
function leaseLost(id: number, fence: ExecutionFence, current: CurrentState): LeaseLostError | undefined {
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

const byQueueOrder = (a: Execution, b: Execution): number => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id;

/**
 * Executions: requests, the work queue (claim, leases), and the state
 * machine. Every function takes the executor first.
 */
/** Options of `claim`, checked before any SQL. */
const claimRules: Rules = {
  workerId: { check: is.id, required: true },
  limit: { check: is.integer(1, MAX_CLAIM_BATCH) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
};

export const ExecutionRepository = {
  /**
   * Requests a run of an action, status `requested`. `actionRef` resolves to
   * the action in the active version of its pack, in the INSERT itself;
   * InvalidReferenceError naming the ref (or id) when there is none, and for
   * a parent, enforcement or identity id that does not exist.
   */
  async create(db: Executor, input: CreateExecutionInput): Promise<Execution> {
    validateInput(ENTITY, input, rules, 'create');
    if ((input.actionRef === undefined) === (input.actionId === undefined)) {
      throw new ValidationError(`${ENTITY} needs exactly one of actionRef and actionId`, { entity: ENTITY, field: 'actionRef' });
    }
    const byRef = input.actionRef !== undefined;
    const source = byRef
      ? 'FROM actions a JOIN packs p ON p.id = a.pack_id AND p.is_active WHERE a.ref = $1'
      : 'FROM actions a WHERE a.id = $1';
    const result = await table.query(
      db,
      `INSERT INTO executions (action_id, action_ref, params, parent_id, enforcement_id, requested_by, max_attempts, timeout_seconds, trace_id)
       SELECT a.id, a.ref, COALESCE($2::jsonb, '{}'), $3::bigint, $4::bigint, $5::bigint, COALESCE($6::integer, 1),
              CASE WHEN $7::boolean THEN $8::integer ELSE a.timeout_seconds END, $9::text
       ${source}
       RETURNING ${table.columns}`,
      [
        byRef ? input.actionRef : input.actionId,
        input.params === undefined ? null : JSON.stringify(input.params),
        input.parentId ?? null,
        input.enforcementId ?? null,
        input.requestedBy ?? null,
        input.maxAttempts ?? null,
        input.timeoutSeconds !== undefined,
        input.timeoutSeconds ?? null,
        input.traceId ?? null,
      ],
    );
    if (result.rows.length === 0) {
      throw byRef
        ? new InvalidReferenceError(`${ENTITY}.actionRef '${input.actionRef}' names no action in the active version of its pack`, {
            entity: ENTITY,
            field: 'actionRef',
            value: input.actionRef,
          })
        : new InvalidReferenceError(`${ENTITY}.actionId ${input.actionId} names no action`, { entity: ENTITY, field: 'actionId', value: input.actionId });
    }
    return table.fromRow(result.rows[0]!);
  },

  findById: (db: Executor, id: number): Promise<Execution | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Execution> => table.getById(db, id),

  /** Filters and pagination, newest first. */
  async list(db: Executor, input?: ExecutionFilter): Promise<Page<Execution>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where();
    if (filter.status !== undefined) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.add((p) => `status = ANY(${p(statuses)}::text[])`);
    }
    where
      .eq('action_ref', filter.actionRef)
      .eq('action_id', filter.actionId)
      .eq('parent_id', filter.parentId)
      .eq('enforcement_id', filter.enforcementId)
      .eq('worker_id', filter.workerId)
      .eq('requested_by', filter.requestedBy);
    if (filter.since !== undefined) where.add((p) => `created_at >= ${p(filter.since)}`);
    if (filter.until !== undefined) where.add((p) => `created_at < ${p(filter.until)}`);
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /** The direct children of a workflow execution, oldest first. */
  async children(db: Executor, parentId: number): Promise<Execution[]> {
    assertId(parentId, ENTITY, 'parentId');
    return table.findAll(db, 'parent_id = $1', [parentId], 'created_at, id');
  },

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
   * Claims up to `limit` of the oldest requested executions for a worker in
   * one statement: FOR UPDATE SKIP LOCKED, so concurrent claimers never get
   * the same row and never wait on each other. The rows become scheduled
   * with the worker and a lease; returned oldest first.
   */
  async claim(db: Executor, options: ClaimOptions): Promise<Execution[]> {
    validateInput(ENTITY, options, claimRules, 'create');
    // A join on the picked ids, not `id IN (SELECT …)`: no semi-join aggregate
    // to plan on the queue's hottest statement. picked_id keeps RETURNING's
    // unqualified columns unambiguous.
    const result = await table.query(
      db,
      `WITH picked AS MATERIALIZED (
         SELECT id AS picked_id FROM executions WHERE status = 'requested'
          ORDER BY created_at, id LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE executions
          SET status = 'scheduled', worker_id = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $3::integer)
         FROM picked
        WHERE id = picked_id AND status = 'requested'
       RETURNING ${table.columns}`,
      [options.workerId, options.limit ?? 1, options.leaseSeconds ?? DEFAULT_LEASE_SECONDS],
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
    validateInput(ENTITY, options, { asOf: { check: is.timestamp }, limit: { check: is.integer(1, 100_000) } }, 'create');
    const retry = "status <> 'canceling' AND attempt < max_attempts";
    const result = await table.query(
      db,
      `WITH expired AS MATERIALIZED (
         SELECT id FROM executions
          WHERE status IN ('scheduled', 'running', 'canceling')
            AND lease_expires_at < COALESCE($1::timestamptz, clock_timestamp())
          ORDER BY lease_expires_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE executions SET
         status = CASE WHEN status = 'canceling' THEN 'canceled' WHEN attempt < max_attempts THEN 'requested' ELSE 'abandoned' END,
         error = CASE
           WHEN status = 'canceling' THEN 'lease of worker ' || COALESCE(worker_id::text, '?') || ' expired while canceling'
           WHEN attempt < max_attempts THEN 'lease of worker ' || COALESCE(worker_id::text, '?') || ' expired in attempt ' || attempt || ' of ' || max_attempts || '; retrying'
           ELSE 'lease of worker ' || COALESCE(worker_id::text, '?') || ' expired in the last attempt (' || attempt || ' of ' || max_attempts || '); abandoned'
         END,
         attempt = CASE WHEN ${retry} THEN attempt + 1 ELSE attempt END,
         worker_id = CASE WHEN ${retry} THEN NULL ELSE worker_id END,
         started_at = CASE WHEN ${retry} THEN NULL ELSE started_at END,
         result = CASE WHEN ${retry} THEN NULL ELSE result END,
         finished_at = CASE WHEN ${retry} THEN NULL ELSE clock_timestamp() END,
         lease_expires_at = NULL
       WHERE id IN (SELECT id FROM expired)
       RETURNING ${table.columns}`,
      [options.asOf ?? null, options.limit ?? 1000],
    );
    return result.rows.map(table.fromRow).sort((a, b) => a.id - b.id);
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

  /** Partial update of maxAttempts, timeoutSeconds and traceId; the status changes only through `transition`. */
  async update(db: Executor, id: number, input: UpdateExecutionInput): Promise<Execution> {
    if (input !== null && typeof input === 'object' && 'status' in input) {
      throw new ValidationError(`${ENTITY}.status changes only through transition`, { entity: ENTITY, field: 'status' });
    }
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes the execution and, by cascade, its child executions and inquiries. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
