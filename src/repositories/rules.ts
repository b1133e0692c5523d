import { InvalidReferenceError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertComponentName, assertComponentRef, splitComponentRef } from '../refs.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { activeByRef } from './support/active-version.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** A rule: when its trigger fires and the criteria match the event, run its action. */
export interface Rule {
  id: number;
  /** `<pack_ref>.<name>`; unique within a pack version, repeated across versions. */
  ref: string;
  packId: number;
  packRef: string;
  name: string;
  label: string | null;
  description: string | null;
  /** Null once the trigger is deleted; `triggerRef` is kept. */
  triggerId: number | null;
  triggerRef: string;
  /** Null once the action is deleted; `actionRef` is kept. */
  actionId: number | null;
  actionRef: string;
  /** Conditions over the event payload. */
  criteria: JsonObject;
  /** Parameter templates for the action. */
  actionParams: JsonObject;
  triggerParams: JsonObject;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A new rule. Give the pack as `packRef` (its active version) or `packId`,
 * the trigger as `triggerRef` or `triggerId`, the action as `actionRef` (the
 * action in the active version of its pack) or `actionId`. Each must exist.
 */
export interface CreateRuleInput {
  packRef?: string;
  packId?: number;
  /** The ref is `<pack_ref>.<name>`. */
  name: string;
  triggerRef?: string;
  triggerId?: number;
  actionRef?: string;
  actionId?: number;
  criteria?: JsonObject;
  actionParams?: JsonObject;
  triggerParams?: JsonObject;
  /** Default true. */
  enabled?: boolean;
  label?: string | null;
  description?: string | null;
}

/** Every field but the pack and name (which fix the ref). Giving a trigger or action re-points the rule. */
export type UpdateRuleInput = Partial<Omit<CreateRuleInput, 'packRef' | 'packId' | 'name'>>;

export interface RuleFilter extends Pagination {
  packId?: number;
  /** Rules of any installed version of the pack. */
  packRef?: string;
  triggerRef?: string;
  triggerId?: number;
  actionRef?: string;
  actionId?: number;
  enabled?: boolean;
}

const ENTITY = 'rule';

const table = new Table<Rule>({
  table: 'rules',
  entity: ENTITY,
  columns: {
    id: 'id',
    ref: 'ref',
    packId: 'pack_id',
    packRef: 'pack_ref',
    name: 'name',
    label: 'label',
    description: 'description',
    triggerId: 'trigger_id',
    triggerRef: 'trigger_ref',
    actionId: 'action_id',
    actionRef: 'action_ref',
    criteria: { column: 'criteria', kind: 'json' },
    actionParams: { column: 'action_params', kind: 'json' },
    triggerParams: { column: 'trigger_params', kind: 'json' },
    enabled: 'enabled',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const componentName: Check = (value, field, entity) => assertComponentName(value, entity, field);

const fieldRules: Rules = {
  ref: { check: is.componentRef, immutable: true },
  packRef: { check: is.packRef, immutable: true },
  packId: { check: is.id, immutable: true },
  name: { check: componentName, required: true, immutable: true },
  triggerRef: { check: is.componentRef },
  triggerId: { check: is.id },
  actionRef: { check: is.componentRef },
  actionId: { check: is.id },
  criteria: { check: is.object },
  actionParams: { check: is.object },
  triggerParams: { check: is.object },
  enabled: { check: is.boolean },
  label: { check: is.string({ max: 255 }), nullable: true },
  description: { check: is.string(), nullable: true },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  packId: { check: is.id },
  packRef: { check: is.packRef },
  triggerRef: { check: is.componentRef },
  triggerId: { check: is.id },
  actionRef: { check: is.componentRef },
  actionId: { check: is.id },
  enabled: { check: is.boolean },
};

/** Fields written as plain columns (the rest are resolved references). */
const PLAIN_FIELDS = ['criteria', 'actionParams', 'triggerParams', 'enabled', 'label', 'description'] as const;

/** Refuses `a` and `b` together; with `required`, refuses neither. */
function oneOf(input: Record<string, unknown>, a: string, b: string, required: boolean): void {
  const hasA = input[a] !== undefined;
  const hasB = input[b] !== undefined;
  if (hasA && hasB) throw new ValidationError(`${ENTITY}: give ${a} or ${b}, not both`, { entity: ENTITY, field: b });
  if (required && !hasA && !hasB) throw new ValidationError(`${ENTITY}.${a} (or ${b}) is required`, { entity: ENTITY, field: a });
}

function validateCreate(input: CreateRuleInput): void {
  validateInput(ENTITY, input, fieldRules, 'create');
  const fields = input as unknown as Record<string, unknown>;
  if (fields.ref !== undefined) {
    throw new ValidationError(`${ENTITY}.ref is derived from packRef and name; do not give it`, { entity: ENTITY, field: 'ref' });
  }
  oneOf(fields, 'packRef', 'packId', true);
  oneOf(fields, 'triggerRef', 'triggerId', true);
  oneOf(fields, 'actionRef', 'actionId', true);
}

/**
 * The subquery that finds the trigger (`id`, `ref`) given by id, or by ref in
 * the active version of its pack (else a built-in); `$n` is its parameter.
 */
function triggerSource(input: { triggerId?: number | undefined }, n: number): string {
  return input.triggerId !== undefined ? `SELECT id, ref FROM triggers WHERE id = $${n}` : activeByRef('triggers', `$${n}`);
}

/** The action given by id, or by ref in the active version of its pack. */
function actionSource(input: { actionId?: number | undefined }, n: number): string {
  return input.actionId !== undefined
    ? `SELECT id, ref FROM actions WHERE id = $${n}`
    : activeByRef('actions', `$${n}`);
}

function missingTrigger(input: { triggerId?: number | undefined; triggerRef?: string | undefined }): InvalidReferenceError {
  return input.triggerId !== undefined
    ? new InvalidReferenceError(`${ENTITY}.triggerId ${input.triggerId} does not name an existing trigger`, { entity: ENTITY, field: 'triggerId', value: input.triggerId })
    : new InvalidReferenceError(`${ENTITY}.triggerRef '${input.triggerRef}' does not name a trigger in the active version of its pack`, { entity: ENTITY, field: 'triggerRef', value: input.triggerRef });
}

function missingAction(input: { actionId?: number | undefined; actionRef?: string | undefined }): InvalidReferenceError {
  return input.actionId !== undefined
    ? new InvalidReferenceError(`${ENTITY}.actionId ${input.actionId} does not name an existing action`, { entity: ENTITY, field: 'actionId', value: input.actionId })
    : new InvalidReferenceError(`${ENTITY}.actionRef '${input.actionRef}' does not name an action in the active version of its pack`, {
        entity: ENTITY,
        field: 'actionRef',
        value: input.actionRef,
      });
}

/** Rules connect triggers to actions. Every function takes the executor first. */
export const RuleRepository = {
  /**
   * Inserts a rule, resolving the pack, trigger and action in the same
   * statement. InvalidReferenceError naming whichever does not exist;
   * AlreadyExistsError for a taken ref.
   */
  async create(db: Executor, input: CreateRuleInput): Promise<Rule> {
    validateCreate(input);
    const values: unknown[] = [input.packId ?? input.packRef, input.triggerId ?? input.triggerRef, input.actionId ?? input.actionRef, input.name];
    const packSource = input.packId !== undefined ? 'SELECT id, ref FROM packs WHERE id = $1' : 'SELECT id, ref FROM packs WHERE ref = $1 AND is_active';
    const columns = ['pack_id', 'pack_ref', 'name', 'ref', 'trigger_id', 'trigger_ref', 'action_id', 'action_ref'];
    const selected = ['p.id', 'p.ref', '$4::text', `p.ref || '.' || $4::text`, 't.id', 't.ref', 'a.id', 'a.ref'];
    for (const field of PLAIN_FIELDS) {
      if (input[field] === undefined) continue;
      values.push(table.toParam(field, input[field]));
      columns.push(table.column(field));
      selected.push(`$${values.length}`);
    }
    const result = await table.query(
      db,
      `WITH p AS MATERIALIZED (${packSource}),
            t AS MATERIALIZED (${triggerSource(input, 2)}),
            a AS MATERIALIZED (${actionSource(input, 3)}),
            ins AS (INSERT INTO rules (${columns.join(', ')}) SELECT ${selected.join(', ')} FROM p, t, a RETURNING ${table.columns})
       SELECT ins.*, EXISTS (SELECT 1 FROM p) AS pack_found, EXISTS (SELECT 1 FROM t) AS trigger_found, EXISTS (SELECT 1 FROM a) AS action_found
         FROM (SELECT 1) AS one LEFT JOIN ins ON true`,
      values,
    );
    const row = result.rows[0]!;
    if (row.id !== null) return table.fromRow(row);
    if (!row.pack_found) {
      throw input.packId !== undefined
        ? new InvalidReferenceError(`${ENTITY}.packId ${input.packId} does not name an existing pack`, { entity: ENTITY, field: 'packId', value: input.packId })
        : new InvalidReferenceError(`${ENTITY}.packRef '${input.packRef}' does not name an active pack`, { entity: ENTITY, field: 'packRef', value: input.packRef });
    }
    if (!row.trigger_found) throw missingTrigger(input);
    throw missingAction(input);
  },

  findById: (db: Executor, id: number): Promise<Rule | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Rule> => table.getById(db, id),

  /** The rule with this ref in the active version of its pack, or null. */
  async findByRef(db: Executor, ref: string): Promise<Rule | null> {
    const { packRef, name } = splitComponentRef(ref, ENTITY);
    return table.findOne(db, 'pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) AND name = $2', [packRef, name]);
  },

  /** The rule with this ref in the active version of its pack; NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Rule> {
    return found(await RuleRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /**
   * The rule engine's query: enabled rules of active pack versions listening
   * to `triggerRef`, in id order. Served by the partial index
   * rules_trigger_ref_enabled_idx, each rule's pack checked by primary key.
   */
  async listEnabledForTrigger(db: Executor, triggerRef: string): Promise<Rule[]> {
    assertComponentRef(triggerRef, ENTITY, 'triggerRef');
    return table.findAll(
      db,
      'trigger_ref = $1 AND enabled AND EXISTS (SELECT 1 FROM packs p WHERE p.id = rules.pack_id AND p.is_active)',
      [triggerRef],
      'id',
    );
  },

  /** Filters and pagination, ordered by ref. */
  async list(db: Executor, input?: RuleFilter): Promise<Page<Rule>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where()
      .eq('pack_id', filter.packId)
      .eq('trigger_id', filter.triggerId)
      .eq('action_ref', filter.actionRef)
      .eq('action_id', filter.actionId)
      .eq('enabled', filter.enabled);
    if (filter.triggerRef !== undefined) {
      // Spelled per flag so the partial indexes on trigger_ref (enabled / not enabled) serve it.
      where.add((p) => {
        const ref = p(filter.triggerRef);
        if (filter.enabled === undefined) return `(trigger_ref = ${ref} AND enabled OR trigger_ref = ${ref} AND NOT enabled)`;
        return filter.enabled ? `trigger_ref = ${ref} AND enabled` : `trigger_ref = ${ref} AND NOT enabled`;
      });
    }
    // Through packs (packs_ref_version_key, then rules_pack_id_idx): every installed version.
    if (filter.packRef !== undefined) where.add((p) => `pack_id IN (SELECT id FROM packs WHERE ref = ${p(filter.packRef)})`);
    return table.list(db, where, filter, 'ref');
  },

  /**
   * Partial update. Giving `triggerRef`/`triggerId` or `actionRef`/`actionId`
   * re-points the rule, resolved in the same statement (InvalidReferenceError
   * when the target does not exist). Pack, name and ref cannot change.
   */
  async update(db: Executor, id: number, patch: UpdateRuleInput): Promise<Rule> {
    assertId(id, ENTITY);
    validateInput(ENTITY, patch, fieldRules, 'update');
    const fields = patch as Record<string, unknown>;
    oneOf(fields, 'triggerRef', 'triggerId', false);
    oneOf(fields, 'actionRef', 'actionId', false);
    const retrigger = patch.triggerRef !== undefined || patch.triggerId !== undefined;
    const reaction = patch.actionRef !== undefined || patch.actionId !== undefined;
    if (!retrigger && !reaction) return table.update(db, id, patch);

    const values: unknown[] = [id];
    const ctes: string[] = [];
    const sources: string[] = [];
    const assignments: string[] = [];
    const found: string[] = [];
    if (retrigger) {
      values.push(patch.triggerId ?? patch.triggerRef);
      ctes.push(`t AS MATERIALIZED (SELECT id AS new_trigger_id, ref AS new_trigger_ref FROM (${triggerSource(patch, values.length)}) AS s)`);
      sources.push('t');
      assignments.push('trigger_id = t.new_trigger_id', 'trigger_ref = t.new_trigger_ref');
      found.push('EXISTS (SELECT 1 FROM t) AS trigger_found');
    }
    if (reaction) {
      values.push(patch.actionId ?? patch.actionRef);
      ctes.push(`a AS MATERIALIZED (SELECT id AS new_action_id, ref AS new_action_ref FROM (${actionSource(patch, values.length)}) AS s)`);
      sources.push('a');
      assignments.push('action_id = a.new_action_id', 'action_ref = a.new_action_ref');
      found.push('EXISTS (SELECT 1 FROM a) AS action_found');
    }
    for (const field of PLAIN_FIELDS) {
      if (patch[field] === undefined) continue;
      values.push(table.toParam(field, patch[field]));
      assignments.push(`${table.column(field)} = $${values.length}`);
    }
    const result = await table.query(
      db,
      `WITH ${ctes.join(', ')},
            upd AS (UPDATE rules SET ${assignments.join(', ')} FROM ${sources.join(', ')} WHERE rules.id = $1 RETURNING ${table.columns})
       SELECT upd.*, EXISTS (SELECT 1 FROM rules WHERE id = $1) AS rule_found, ${found.join(', ')}
         FROM (SELECT 1) AS one LEFT JOIN upd ON true`,
      values,
    );
    const row = result.rows[0]!;
    if (row.id !== null) return table.fromRow(row);
    if (!row.rule_found) throw new NotFoundError(ENTITY, 'id', id);
    if (retrigger && !row.trigger_found) throw missingTrigger(patch);
    throw missingAction(patch);
  },

  enable: (db: Executor, id: number): Promise<Rule> => RuleRepository.update(db, id, { enabled: true }),
  disable: (db: Executor, id: number): Promise<Rule> => RuleRepository.update(db, id, { enabled: false }),

  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
