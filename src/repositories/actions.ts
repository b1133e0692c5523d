import { ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertComponentName, splitComponentRef } from '../refs.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { insertPackComponent } from './support/pack-component.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/**
 * How an action runs; mirrors actions_runner_type_check. Attune's runners
 * first, then the StackStorm runners Attune knows but does not have yet
 * (src/packs/runner-types.ts): an action on one of those is stored disabled,
 * with `disabledReason`.
 */
export const RUNNER_TYPES = [
  'shell', 'shell-script', 'python', 'node', 'http', 'noop', 'inquiry', 'inject-trigger', 'workflow', 'native',
  'orquesta', 'action-chain', 'mistral-v2', 'remote-shell-cmd', 'remote-shell-script', 'winrm-cmd', 'winrm-ps-cmd',
  'winrm-ps-script', 'windows-cmd', 'windows-script', 'announcement', 'cloudslang',
] as const;
export type RunnerType = (typeof RUNNER_TYPES)[number];

/** An executable task, owned by one pack version. */
export interface Action {
  id: number;
  packId: number;
  packRef: string;
  name: string;
  /** `<packRef>.<name>`; unique within a pack version, repeated across versions. */
  ref: string;
  label: string | null;
  description: string | null;
  runnerType: RunnerType;
  entryPoint: string;
  /** Null when unset or when the runtime was deleted. */
  runtimeId: number | null;
  enabled: boolean;
  /** Why the action cannot run (`runner orquesta is not supported yet`); only set on a disabled action. */
  disabledReason: string | null;
  paramSchema: JsonObject;
  outputSchema: JsonObject;
  timeoutSeconds: number | null;
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateActionInput {
  /** A specific pack version. One of packId and packRef is required. */
  packId?: number;
  /** The pack's ref: the active version (or, with packId, a check that the id has this ref). */
  packRef?: string;
  name: string;
  label?: string | null;
  description?: string | null;
  runnerType: RunnerType;
  /** Default ''. */
  entryPoint?: string;
  runtimeId?: number | null;
  /** Default true. */
  enabled?: boolean;
  /** Only with `enabled: false`. */
  disabledReason?: string | null;
  paramSchema?: JsonObject;
  outputSchema?: JsonObject;
  timeoutSeconds?: number | null;
  tags?: string[];
}

/** Everything but the identity (pack and name, hence ref). */
export type UpdateActionInput = Partial<Omit<CreateActionInput, 'packId' | 'packRef' | 'name'>>;

export interface ActionFilter extends Pagination {
  /** Actions of one pack version. */
  packId?: number;
  /** Actions of the active version of this pack. */
  packRef?: string;
  runnerType?: RunnerType;
  enabled?: boolean;
  /** Actions carrying this tag. */
  tag?: string;
  /** Case-insensitive substring of the name; `%` and `_` match themselves. */
  search?: string;
}

const ENTITY = 'action';

const table = new Table<Action>({
  table: 'actions',
  entity: ENTITY,
  columns: {
    id: 'id',
    packId: 'pack_id',
    packRef: 'pack_ref',
    name: 'name',
    ref: 'ref',
    label: 'label',
    description: 'description',
    runnerType: 'runner_type',
    entryPoint: 'entry_point',
    runtimeId: 'runtime_id',
    enabled: 'enabled',
    disabledReason: 'disabled_reason',
    paramSchema: { column: 'param_schema', kind: 'json' },
    outputSchema: { column: 'output_schema', kind: 'json' },
    timeoutSeconds: 'timeout_seconds',
    tags: 'tags',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const componentName: Check = (value, field, entity) => assertComponentName(value, entity, field);

const rules: Rules = {
  packId: { check: is.id, immutable: true },
  packRef: { check: is.packRef, immutable: true },
  name: { check: componentName, required: true, immutable: true },
  label: { check: is.string({ max: 255 }), nullable: true },
  description: { check: is.string(), nullable: true },
  runnerType: { check: is.oneOf(RUNNER_TYPES), required: true },
  entryPoint: { check: is.string({ max: 4096 }) },
  runtimeId: { check: is.id, nullable: true },
  enabled: { check: is.boolean },
  disabledReason: { check: is.string({ min: 1, max: 1000 }), nullable: true },
  paramSchema: { check: is.object },
  outputSchema: { check: is.object },
  timeoutSeconds: { check: is.integer(1, 2_147_483_647), nullable: true },
  tags: { check: is.stringArray({ maxItems: 100, maxLength: 100 }) },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  packId: { check: is.id },
  packRef: { check: is.packRef },
  runnerType: { check: is.oneOf(RUNNER_TYPES) },
  enabled: { check: is.boolean },
  tag: { check: is.string({ min: 1, max: 100 }) },
  search: { check: is.string({ max: 255 }) },
};

/** PostgreSQL types of the fields sent as parameters of INSERT … SELECT. */
const PARAM_TYPES: Partial<Record<keyof Action, string>> = {
  label: 'text',
  description: 'text',
  runnerType: 'text',
  entryPoint: 'text',
  runtimeId: 'bigint',
  enabled: 'boolean',
  disabledReason: 'text',
  paramSchema: 'jsonb',
  outputSchema: 'jsonb',
  timeoutSeconds: 'integer',
  tags: 'text[]',
};

/** Escapes LIKE wildcards (and the escape character) so `text` matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

/** Actions: the executable content of packs. Every function takes the executor first. */
export const ActionRepository = {
  /**
   * Inserts an action in one statement, resolving the pack in the same
   * INSERT … SELECT. InvalidReferenceError for a packRef with no active
   * version, a missing packId, or a missing runtime; AlreadyExistsError for a
   * name taken in the same pack version. A `disabledReason` needs `enabled: false`.
   */
  async create(db: Executor, input: CreateActionInput): Promise<Action> {
    validateInput(ENTITY, input, rules, 'create');
    if (input.disabledReason != null && input.enabled !== false) {
      throw new ValidationError(`${ENTITY}.disabledReason is only for a disabled action: give enabled: false with it`, { entity: ENTITY, field: 'disabledReason' });
    }
    return insertPackComponent(db, table, { input, paramTypes: PARAM_TYPES, allowBuiltIn: false });
  },

  findById: (db: Executor, id: number): Promise<Action | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Action> => table.getById(db, id),

  /**
   * Only the parameter schema of the action `id`, or null when there is no
   * such action: what showing an execution's parameters (secrets masked)
   * needs, without reading and mapping the rest of the row on every request.
   */
  async findParamSchema(db: Executor, id: number): Promise<JsonObject | null> {
    assertId(id, ENTITY);
    const result = await table.query<{ param_schema: JsonObject }>(db, 'SELECT param_schema FROM actions WHERE id = $1', [id]);
    return result.rows.length === 0 ? null : result.rows[0]!.param_schema;
  },

  /** The action with this ref in the active version of its pack, or null. */
  async findByRef(db: Executor, ref: string): Promise<Action | null> {
    const { packRef, name } = splitComponentRef(ref, ENTITY);
    return table.findOne(db, 'pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) AND name = $2', [packRef, name]);
  },

  /** The action with this ref in the active version of its pack; NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Action> {
    return found(await ActionRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** Filters (each served by an index), ordered by ref then id, with pagination and the total. */
  async list(db: Executor, input?: ActionFilter): Promise<Page<Action>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('pack_id', filter.packId).eq('runner_type', filter.runnerType);
    if (filter.packRef !== undefined) where.add((p) => `pack_id = (SELECT id FROM packs WHERE ref = ${p(filter.packRef)} AND is_active)`);
    // Written out rather than `enabled = $n`, so the partial indexes apply whatever the plan.
    if (filter.enabled !== undefined) where.add(() => (filter.enabled ? 'enabled' : 'NOT enabled'));
    if (filter.tag !== undefined) where.add((p) => `tags @> ARRAY[${p(filter.tag)}::text]`);
    if (filter.search !== undefined && filter.search !== '') where.add((p) => `name ILIKE ${p(`%${escapeLike(filter.search!)}%`)}`);
    return table.list(db, where, filter, 'ref, id');
  },

  /** Partial update; pack, name and ref cannot change. InvalidReferenceError for a missing runtime. */
  async update(db: Executor, id: number, input: UpdateActionInput): Promise<Action> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes the action; rules and executions keep its ref with action_id null. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
