import { IllegalStateChangeError, InvalidReferenceError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Rules } from './support/validate.js';
import { activeByRef } from './support/active-version.js';

/** Enforcement statuses, exactly as CHECKed by enforcements_status_check. */
export const ENFORCEMENT_STATUSES = ['created', 'processed', 'disabled', 'failed'] as const;
export type EnforcementStatus = (typeof ENFORCEMENT_STATUSES)[number];

/**
 * The legal status moves: a new enforcement is processed (its execution was
 * requested), failed, or disabled (the rule or action was off); those are final.
 */
export const ENFORCEMENT_TRANSITIONS: Readonly<Record<EnforcementStatus, readonly EnforcementStatus[]>> = {
  created: ['processed', 'failed', 'disabled'],
  processed: [],
  disabled: [],
  failed: [],
};

/** True when an enforcement may move from `from` to `to`. */
export function canChangeEnforcementStatus(from: EnforcementStatus, to: EnforcementStatus): boolean {
  return ENFORCEMENT_TRANSITIONS[from].includes(to);
}

/** A rule matched an event: the record the engine turns into an execution. */
export interface Enforcement {
  id: number;
  /** Null once the rule is deleted (or when the rule ref named no rule); `ruleRef` is kept. */
  ruleId: number | null;
  ruleRef: string;
  /** Null once the event is deleted (retention). */
  eventId: number | null;
  triggerRef: string;
  status: EnforcementStatus;
  /** Copy of the event's payload. */
  payload: JsonObject;
  /** Copy of the rule's criteria. */
  criteria: JsonObject;
  resolvedParams: JsonObject;
  /** Why it failed (a template, a cast, parameters that do not validate) or was disabled (the action is off); null otherwise. */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A new enforcement. The rule is `ruleId` (must exist) or `ruleRef` (kept
 * with a null id when no rule has it); the event must exist and fire the
 * rule's trigger. rule_ref, trigger_ref and criteria are copied from the
 * rule, payload from the event, unless given.
 */
export interface CreateEnforcementInput {
  ruleId?: number;
  ruleRef?: string;
  eventId: number;
  payload?: JsonObject;
  criteria?: JsonObject;
  resolvedParams?: JsonObject;
  /** Default created. */
  status?: EnforcementStatus;
  /** Why it failed or was disabled. */
  error?: string | null;
}

/** Only the resolved parameters change after creation; status moves through `setStatus`. */
export interface UpdateEnforcementInput {
  resolvedParams?: JsonObject;
}

export interface EnforcementFilter extends Pagination {
  ruleId?: number;
  ruleRef?: string;
  eventId?: number;
  status?: EnforcementStatus;
  /** created_at ≥ since. */
  since?: Date;
}

const ENTITY = 'enforcement';

/** Longest failure reason kept; the engine cuts longer ones to this. */
export const MAX_ENFORCEMENT_ERROR_LENGTH = 16 * 1024;

const table = new Table<Enforcement>({
  table: 'enforcements',
  entity: ENTITY,
  columns: {
    id: 'id',
    ruleId: 'rule_id',
    ruleRef: 'rule_ref',
    eventId: 'event_id',
    triggerRef: 'trigger_ref',
    status: 'status',
    payload: { column: 'payload', kind: 'json' },
    criteria: { column: 'criteria', kind: 'json' },
    resolvedParams: { column: 'resolved_params', kind: 'json' },
    error: 'error',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const fieldRules: Rules = {
  ruleId: { check: is.id, immutable: true },
  ruleRef: { check: is.componentRef, immutable: true },
  eventId: { check: is.id, required: true, immutable: true },
  payload: { check: is.object, immutable: true },
  criteria: { check: is.object, immutable: true },
  resolvedParams: { check: is.object },
  status: { check: is.oneOf(ENFORCEMENT_STATUSES) },
  error: { check: is.string({ max: MAX_ENFORCEMENT_ERROR_LENGTH }), nullable: true, immutable: true },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  ruleId: { check: is.id },
  ruleRef: { check: is.componentRef },
  eventId: { check: is.id },
  status: { check: is.oneOf(ENFORCEMENT_STATUSES) },
  since: { check: is.timestamp },
};

function validateCreate(input: CreateEnforcementInput): void {
  validateInput(ENTITY, input, fieldRules, 'create');
  if (input.ruleId !== undefined && input.ruleRef !== undefined) {
    throw new ValidationError(`${ENTITY}: give ruleId or ruleRef, not both`, { entity: ENTITY, field: 'ruleRef' });
  }
  if (input.ruleId === undefined && input.ruleRef === undefined) {
    throw new ValidationError(`${ENTITY}.ruleId (or ruleRef) is required`, { entity: ENTITY, field: 'ruleId' });
  }
}

/**
 * One INSERT … SELECT that resolves the rule and the event and copies their
 * fields. With `ifAbsent`, a second enforcement for the same rule and event
 * inserts nothing and the existing row is returned instead.
 */
async function insertEnforcement(db: Executor, input: CreateEnforcementInput, ifAbsent: boolean): Promise<{ enforcement: Enforcement; created: boolean }> {
  validateCreate(input);
  const values: unknown[] = [input.ruleId ?? input.ruleRef, input.eventId];
  // A rule given by ref is the one in the active version of its pack.
  const ruleSource =
    input.ruleId !== undefined
      ? 'SELECT id, ref, trigger_ref, criteria FROM rules WHERE id = $1'
      : activeByRef('rules', '$1', 'c.id, c.ref, c.trigger_ref, c.criteria');
  const param = (value: unknown, cast: string): string => {
    values.push(value);
    return `$${values.length}::${cast}`;
  };
  const columns = ['rule_id', 'rule_ref', 'event_id', 'trigger_ref', 'payload', 'criteria'];
  const selected = [
    'r.id',
    input.ruleId !== undefined ? 'r.ref' : '$1::text',
    'e.id',
    'e.trigger_ref',
    input.payload !== undefined ? param(JSON.stringify(input.payload), 'jsonb') : 'e.payload',
    input.criteria !== undefined ? param(JSON.stringify(input.criteria), 'jsonb') : `coalesce(r.criteria, '{}'::jsonb)`,
  ];
  if (input.resolvedParams !== undefined) {
    columns.push('resolved_params');
    selected.push(param(JSON.stringify(input.resolvedParams), 'jsonb'));
  }
  if (input.status !== undefined) {
    columns.push('status');
    selected.push(param(input.status, 'text'));
  }
  if (input.error !== undefined && input.error !== null) {
    columns.push('error');
    selected.push(param(input.error, 'text'));
  }
  // A rule given by id must exist; one given by ref is kept even when it names no rule.
  const ruleJoin = input.ruleId !== undefined ? 'JOIN r ON true' : 'LEFT JOIN r ON true';
  const conflict = ifAbsent ? 'ON CONFLICT (rule_id, event_id) WHERE rule_id IS NOT NULL AND event_id IS NOT NULL DO NOTHING' : '';
  // With ifAbsent, the row that made the insert do nothing comes back instead.
  const existing = ifAbsent
    ? `UNION ALL SELECT ${table.columns} FROM enforcements
        WHERE rule_id = (SELECT id FROM r) AND event_id = $2 AND NOT EXISTS (SELECT 1 FROM ins)`
    : '';
  const result = await table.query(
    db,
    `WITH r AS MATERIALIZED (${ruleSource}),
          e AS MATERIALIZED (SELECT id, trigger_ref, payload FROM events WHERE id = $2),
          ins AS (
            INSERT INTO enforcements (${columns.join(', ')})
            SELECT ${selected.join(', ')} FROM e ${ruleJoin}
             WHERE r.trigger_ref IS NULL OR r.trigger_ref = e.trigger_ref
            ${conflict}
            RETURNING ${table.columns}),
          found AS (SELECT ${table.columns} FROM ins ${existing})
     SELECT found.*, EXISTS (SELECT 1 FROM ins) AS created, EXISTS (SELECT 1 FROM r) AS rule_found,
            (SELECT trigger_ref FROM r) AS rule_trigger_ref, (SELECT trigger_ref FROM e) AS event_trigger_ref
       FROM (SELECT 1) AS one LEFT JOIN found ON true`,
    values,
  );
  const row = result.rows[0]!;
  if (row.id !== null) return { enforcement: table.fromRow(row), created: row.created === true };
  if (input.ruleId !== undefined && !row.rule_found) {
    throw new InvalidReferenceError(`${ENTITY}.ruleId ${input.ruleId} does not name an existing rule`, { entity: ENTITY, field: 'ruleId', value: input.ruleId });
  }
  if (row.event_trigger_ref === null) {
    throw new InvalidReferenceError(`${ENTITY}.eventId ${input.eventId} does not name an existing event`, { entity: ENTITY, field: 'eventId', value: input.eventId });
  }
  if (row.rule_trigger_ref !== null && row.rule_trigger_ref !== row.event_trigger_ref) {
    throw new ValidationError(
      `${ENTITY}: rule ${input.ruleRef ?? input.ruleId} listens to ${row.rule_trigger_ref}, but event ${input.eventId} fired ${row.event_trigger_ref}`,
      { entity: ENTITY, field: 'eventId', value: input.eventId },
    );
  }
  // Left: ON CONFLICT DO NOTHING against a row that a concurrent transaction
  // committed after this statement's snapshot was taken. A new statement sees it.
  const rule = input.ruleId !== undefined ? 'SELECT id FROM rules WHERE id = $1' : `SELECT id FROM (${activeByRef('rules', '$1')}) r`;
  const concurrent = await table.findOne(db, `rule_id = (${rule}) AND event_id = $2`, [input.ruleId ?? input.ruleRef, input.eventId]);
  if (!concurrent) throw new NotFoundError(ENTITY, 'eventId', input.eventId);
  return { enforcement: concurrent, created: false };
}

/** Enforcements: rule matches, kept as history. Every function takes the executor first. */
export const EnforcementRepository = {
  /**
   * Inserts an enforcement in one statement, copying from the rule and the
   * event. AlreadyExistsError when the rule already has one for the event;
   * InvalidReferenceError for a missing rule id or event.
   */
  async create(db: Executor, input: CreateEnforcementInput): Promise<Enforcement> {
    return (await insertEnforcement(db, input, false)).enforcement;
  },

  /**
   * Like `create`, but when the rule already has an enforcement for the event
   * it inserts nothing and returns that one with `created: false`, so
   * processing an event twice is harmless.
   */
  createIfAbsent(db: Executor, input: CreateEnforcementInput): Promise<{ enforcement: Enforcement; created: boolean }> {
    return insertEnforcement(db, input, true);
  },

  findById: (db: Executor, id: number): Promise<Enforcement | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Enforcement> => table.getById(db, id),

  /** The enforcement of a rule for an event, or null. */
  async findByRuleAndEvent(db: Executor, ruleId: number, eventId: number): Promise<Enforcement | null> {
    assertId(ruleId, ENTITY, 'ruleId');
    assertId(eventId, ENTITY, 'eventId');
    return table.findOne(db, 'rule_id = $1 AND event_id = $2', [ruleId, eventId]);
  },

  /** Filters and pagination, newest first (created_at DESC, id DESC). */
  async list(db: Executor, input?: EnforcementFilter): Promise<Page<Enforcement>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('rule_id', filter.ruleId).eq('rule_ref', filter.ruleRef).eq('event_id', filter.eventId).eq('status', filter.status);
    if (filter.since !== undefined) where.add((p) => `created_at >= ${p(filter.since)}`);
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /**
   * Moves the enforcement to `status` atomically: the UPDATE only matches a
   * row in a status that may move there. NotFoundError for a missing id,
   * IllegalStateChangeError (with the actual current status) for an illegal move.
   */
  async setStatus(db: Executor, id: number, status: EnforcementStatus): Promise<Enforcement> {
    assertId(id, ENTITY);
    is.oneOf(ENFORCEMENT_STATUSES)(status, 'status', ENTITY);
    const from = ENFORCEMENT_STATUSES.filter((candidate) => canChangeEnforcementStatus(candidate, status));
    const result = await table.query(db, `UPDATE enforcements SET status = $2 WHERE id = $1 AND status = ANY($3::text[]) RETURNING ${table.columns}`, [
      id,
      status,
      from,
    ]);
    if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
    const current = await table.findById(db, id);
    if (!current) throw new NotFoundError(ENTITY, 'id', id);
    throw new IllegalStateChangeError(ENTITY, current.status, status, { value: status });
  },

  /** Partial update of the resolved parameters; status changes go through `setStatus`. */
  async update(db: Executor, id: number, patch: UpdateEnforcementInput): Promise<Enforcement> {
    assertId(id, ENTITY);
    if ((patch as Record<string, unknown> | null)?.status !== undefined) {
      throw new ValidationError(`${ENTITY}.status changes through setStatus, which checks the move`, { entity: ENTITY, field: 'status' });
    }
    validateInput(ENTITY, patch, fieldRules, 'update');
    return table.update(db, id, patch);
  },

  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
