import { IllegalStateChangeError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { assertId, PAGINATION_RULES, Table, Where, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Rules } from './support/validate.js';

/** Mirrors inquiries_status_check. */
export const INQUIRY_STATUSES = ['pending', 'responded', 'timeout', 'canceled'] as const;
export type InquiryStatus = (typeof INQUIRY_STATUSES)[number];

/** A response is kept in the row up to this size (as JSON text). */
export const MAX_INQUIRY_RESPONSE_BYTES = 64 * 1024;

/** A question to a person that an execution waits on. */
export interface Inquiry {
  id: number;
  executionId: number;
  prompt: string;
  /** JSON schema the response should follow (checked by the service that asks). */
  responseSchema: JsonObject;
  /** Null when anyone may answer, or the identity was deleted. */
  assignedTo: number | null;
  status: InquiryStatus;
  response: JsonObject | null;
  respondedBy: number | null;
  /** Null: waits for ever. */
  timeoutAt: Date | null;
  respondedAt: Date | null;
  /** Free text rules use to pick whom to notify (core.ask's route). */
  route: string;
  /** Logins allowed to respond; anyone when both users and roles are empty. */
  users: string[];
  /** Roles allowed to respond. */
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateInquiryInput {
  executionId: number;
  prompt: string;
  responseSchema?: JsonObject;
  assignedTo?: number | null;
  timeoutAt?: Date | null;
  /** Default ''. */
  route?: string;
  /** Default []. */
  users?: string[];
  /** Default []. */
  roles?: string[];
}

/** Reassign or change the deadline; the question itself is fixed. */
export type UpdateInquiryInput = Partial<Pick<CreateInquiryInput, 'assignedTo' | 'timeoutAt'>>;

export interface RespondInput {
  /** A JSON object. */
  response: JsonObject;
  respondedBy?: number | null;
}

export interface InquiryFilter extends Pagination {
  status?: InquiryStatus | InquiryStatus[];
  executionId?: number;
  assignedTo?: number;
}

const ENTITY = 'inquiry';

const table = new Table<Inquiry>({
  table: 'inquiries',
  entity: ENTITY,
  columns: {
    id: 'id',
    executionId: 'execution_id',
    prompt: 'prompt',
    responseSchema: { column: 'response_schema', kind: 'json' },
    assignedTo: 'assigned_to',
    status: 'status',
    response: { column: 'response', kind: 'json' },
    respondedBy: 'responded_by',
    timeoutAt: 'timeout_at',
    respondedAt: 'responded_at',
    route: 'route',
    users: 'users',
    roles: 'roles',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const rules: Rules = {
  executionId: { check: is.id, required: true, immutable: true },
  prompt: { check: is.string({ min: 1, max: 10_000 }), required: true, immutable: true },
  responseSchema: { check: is.object, immutable: true },
  assignedTo: { check: is.id, nullable: true },
  timeoutAt: { check: is.timestamp, nullable: true },
  route: { check: is.string({ max: 255 }), immutable: true },
  users: { check: is.stringArray({ maxItems: 1000, maxLength: 255 }), immutable: true },
  roles: { check: is.stringArray({ maxItems: 1000, maxLength: 255 }), immutable: true },
};

const respondRules: Rules = {
  response: {
    required: true,
    check: (value, field, entity) => {
      is.object(value, field, entity);
      const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
      if (bytes > MAX_INQUIRY_RESPONSE_BYTES) {
        throw new ValidationError(`${entity}.${field} is ${bytes} bytes of JSON; at most ${MAX_INQUIRY_RESPONSE_BYTES} are allowed`, { entity, field });
      }
    },
  },
  respondedBy: { check: is.id, nullable: true },
};

const pendingFilterRules: Rules = {
  ...PAGINATION_RULES,
  assignedTo: { check: is.id },
};

const filterRules: Rules = {
  ...pendingFilterRules,
  status: { check: is.oneOrMoreOf(INQUIRY_STATUSES) },
  executionId: { check: is.id },
};

/**
 * Why a change only an open inquiry (pending, deadline not passed) may take
 * was refused: NotFoundError, or IllegalStateChangeError from the current
 * status, where a pending inquiry past its deadline counts as timed out.
 * `to` is the status the change leads to (pending for an update).
 */
async function refusal(db: Executor, id: number, to: InquiryStatus): Promise<Error> {
  const result = await table.query<{ status: InquiryStatus; expired: boolean; timeout_at: Date | null }>(
    db,
    'SELECT status, timeout_at, timeout_at <= clock_timestamp() AS expired FROM inquiries WHERE id = $1',
    [id],
  );
  const row = result.rows[0];
  if (!row) return new NotFoundError(ENTITY, 'id', id);
  const change = to === 'pending' ? 'be reassigned or given a new deadline' : `change to ${to}`;
  const timedOut = row.status === 'timeout' || (row.status === 'pending' && row.expired);
  const error = new IllegalStateChangeError(ENTITY, timedOut ? 'timeout' : row.status, to, { value: id });
  // Past its deadline, swept or not: it is timed out, and that is final.
  error.message = timedOut && row.timeout_at
    ? `${ENTITY} ${id} timed out at ${row.timeout_at.toISOString()} and can no longer ${change}`
    : `${ENTITY} ${id} is ${row.status}: only a pending inquiry before its deadline can ${change}`;
  return error;
}

/** The open inquiries: pending, with no deadline or one still ahead by the database clock. */
const OPEN = "status = 'pending' AND (timeout_at IS NULL OR timeout_at > clock_timestamp())";

/** Inquiries: ask, answer once, time out, cancel. Every function takes the executor first. */
export const InquiryRepository = {
  /** Inserts a pending inquiry. InvalidReferenceError for a missing execution or identity. */
  async create(db: Executor, input: CreateInquiryInput): Promise<Inquiry> {
    validateInput(ENTITY, input, rules, 'create');
    return table.insert(db, input);
  },

  findById: (db: Executor, id: number): Promise<Inquiry | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Inquiry> => table.getById(db, id),

  /** Filters and pagination, newest first. */
  async list(db: Executor, input?: InquiryFilter): Promise<Page<Inquiry>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where();
    if (filter.status !== undefined) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.add((p) => `status = ANY(${p(statuses)}::text[])`);
    }
    where.eq('execution_id', filter.executionId).eq('assigned_to', filter.assignedTo);
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /**
   * Pending inquiries (optionally those assigned to one identity), the
   * nearest deadline first and those without one last. Includes any whose
   * deadline passed but that `timeOutExpired` has not swept yet.
   */
  async listPending(db: Executor, input?: Pagination & { assignedTo?: number }): Promise<Page<Inquiry>> {
    const filter = validateFilter(ENTITY, input, pendingFilterRules);
    const where = new Where().add(() => "status = 'pending'").eq('assigned_to', filter.assignedTo);
    return table.list(db, where, filter, 'timeout_at NULLS LAST, id');
  },

  /**
   * Records the answer, exactly once: one statement that only matches a
   * pending inquiry whose deadline has not passed. A second answer, an
   * answer after the deadline (swept or not) or to a canceled inquiry is
   * IllegalStateChangeError; a missing id is NotFoundError.
   */
  async respond(db: Executor, id: number, input: RespondInput): Promise<Inquiry> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, respondRules, 'create');
    const result = await table.query(
      db,
      `UPDATE inquiries SET status = 'responded', response = $2::jsonb, responded_by = $3, responded_at = clock_timestamp()
        WHERE id = $1 AND ${OPEN}
       RETURNING ${table.columns}`,
      [id, JSON.stringify(input.response), input.respondedBy ?? null],
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    throw await refusal(db, id, 'responded');
  },

  /**
   * Marks pending inquiries whose deadline passed (by `now`, default the
   * database clock) as timeout and returns them. Rows another transaction
   * is changing are skipped, so sweepers never block each other.
   */
  async timeOutExpired(db: Executor, now?: Date): Promise<Inquiry[]> {
    if (now !== undefined) is.timestamp(now, 'now', ENTITY);
    const result = await table.query(
      db,
      `WITH expired AS MATERIALIZED (
         SELECT id FROM inquiries
          WHERE status = 'pending' AND timeout_at <= COALESCE($1::timestamptz, clock_timestamp())
          FOR UPDATE SKIP LOCKED
       )
       UPDATE inquiries SET status = 'timeout' WHERE id IN (SELECT id FROM expired)
       RETURNING ${table.columns}`,
      [now ?? null],
    );
    return result.rows.map(table.fromRow).sort((a, b) => a.id - b.id);
  },

  /**
   * Cancels a pending inquiry (its execution was canceled), even one past its
   * deadline that the sweep has not reached. IllegalStateChangeError otherwise.
   */
  async cancel(db: Executor, id: number): Promise<Inquiry> {
    assertId(id, ENTITY);
    const result = await table.query(db, `UPDATE inquiries SET status = 'canceled' WHERE id = $1 AND status = 'pending' RETURNING ${table.columns}`, [id]);
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    throw await refusal(db, id, 'canceled');
  },

  /**
   * Reassigns an open inquiry or moves its deadline, in one statement that
   * only matches a pending inquiry whose deadline has not passed by the
   * database clock: a passed deadline is final, swept or not, so a timed-out
   * inquiry can never be reopened and answered. IllegalStateChangeError
   * otherwise (also for an answered or canceled one); NotFoundError for a
   * missing id.
   */
  async update(db: Executor, id: number, input: UpdateInquiryInput): Promise<Inquiry> {
    if (input !== null && typeof input === 'object' && ('status' in input || 'response' in input)) {
      throw new ValidationError(`${ENTITY} status and response change only through respond, cancel and timeOutExpired`, { entity: ENTITY, field: 'status' });
    }
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    const fields = (['assignedTo', 'timeoutAt'] as const).filter((field) => input[field] !== undefined);
    if (fields.length === 0) return table.getById(db, id);
    const assignments = fields.map((field, i) => `${table.column(field)} = $${i + 2}`).join(', ');
    const result = await table.query(
      db,
      `UPDATE inquiries SET ${assignments} WHERE id = $1 AND ${OPEN} RETURNING ${table.columns}`,
      [id, ...fields.map((field) => input[field])],
    );
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    throw await refusal(db, id, 'pending');
  },

  /**
   * Cancels every pending inquiry of these executions (they were canceled)
   * and returns them. Rows another transaction holds are waited for: the
   * caller is canceling their executions, which must not miss one.
   */
  async cancelForExecutions(db: Executor, executionIds: readonly number[]): Promise<Inquiry[]> {
    executionIds.forEach((id) => assertId(id, ENTITY, 'executionId'));
    if (executionIds.length === 0) return [];
    const result = await table.query(
      db,
      `UPDATE inquiries SET status = 'canceled' WHERE execution_id = ANY($1::bigint[]) AND status = 'pending' RETURNING ${table.columns}`,
      [executionIds],
    );
    return result.rows.map(table.fromRow);
  },

  /** Deletes the inquiry. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
