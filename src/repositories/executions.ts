import { InvalidReferenceError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertId, Where, type Page } from './support/table.js';
import { validateFilter, validateInput } from './support/validate.js';
import { ExecutionQueue } from './execution-queue.js';
import { ExecutionRuns } from './execution-runs.js';
import { ENTITY, filterRules, rules, table, type CreateExecutionInput, type Execution, type ExecutionFilter, type UpdateExecutionInput } from './execution-model.js';

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
export {
  DEFAULT_LEASE_SECONDS,
  MAX_CLAIM_BATCH,
  MAX_EXECUTION_ERROR_LENGTH,
  MAX_EXECUTION_JSON_BYTES,
  MAX_LEASE_SECONDS,
  fenceOf,
  type ClaimOptions,
  type CreateExecutionInput,
  type Execution,
  type ExecutionFence,
  type ExecutionFilter,
  type ExpireLeasesOptions,
  type TransitionOptions,
  type UpdateExecutionInput,
} from './execution-model.js';
export {
  DEFAULT_RETRY_BACKOFF,
  RUN_OUTCOME_STATUSES,
  type CompletionApplied,
  type DeadlineSweepOptions,
  type RetryBackoff,
  type RunCompletion,
  type RunOutcomeStatus,
  type ClaimAndStartOptions,
  type FinishAndClaimResult,
  type FinishEventTriggers,
  type SweepOptions,
  type SweptAttempt,
} from './execution-runs.js';
export * from './execution-attempts.js';
export * from './execution-output.js';

/**
 * Executions: requests, the work queue (claim, leases), and the state
 * machine. Every function takes the executor first.
 */
export const ExecutionRepository = {
  /**
   * Requests a run of an action, status `requested` (not claimed before
   * `runAfter` when given), with the action's runner type. `actionRef` resolves to
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
    // The runner type is copied from the action, so claims filter without a join.
    const result = await table.query(
      db,
      `INSERT INTO executions (action_id, action_ref, params, parent_id, enforcement_id, requested_by, max_attempts, timeout_seconds, trace_id,
                               runner_type, run_after, retry_on_timeout)
       SELECT a.id, a.ref, COALESCE($2::jsonb, '{}'), $3::bigint, $4::bigint, $5::bigint, COALESCE($6::integer, 1),
              CASE WHEN $7::boolean THEN $8::integer ELSE a.timeout_seconds END, $9::text,
              a.runner_type, COALESCE($10::timestamptz, now()), COALESCE($11::boolean, false)
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
        input.runAfter ?? null,
        input.retryOnTimeout ?? null,
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
    // Through the rule's enforcements: served by enforcements (rule_ref, …) and executions (enforcement_id).
    if (filter.ruleRef !== undefined) where.add((p) => `enforcement_id IN (SELECT id FROM enforcements WHERE rule_ref = ${p(filter.ruleRef)})`);
    if (filter.since !== undefined) where.add((p) => `created_at >= ${p(filter.since)}`);
    if (filter.until !== undefined) where.add((p) => `created_at < ${p(filter.until)}`);
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /** The direct children of a workflow execution, oldest first. */
  async children(db: Executor, parentId: number): Promise<Execution[]> {
    assertId(parentId, ENTITY, 'parentId');
    return table.findAll(db, 'parent_id = $1', [parentId], 'created_at, id');
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
  ...ExecutionQueue,
  ...ExecutionRuns,
};
