import type { Executor } from '../db/pool.js';
import { assertComponentName, assertComponentRef } from '../refs.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { insertPackComponent } from './support/pack-component.js';
import { activeByRef } from './support/active-version.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** How a runtime executes code; mirrors runtimes_kind_check. */
export const RUNTIME_KINDS = ['shell', 'python', 'node', 'http', 'native', 'container'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/** How an action or sensor is executed. Built-in runtimes have a packRef but no pack row. */
export interface Runtime {
  id: number;
  /** `<packRef>.<name>`; unique within a pack version (and among built-ins), repeated across versions. */
  ref: string;
  /** The pack version that owns it; null for a built-in. */
  packId: number | null;
  packRef: string;
  name: string;
  description: string | null;
  kind: RuntimeKind;
  /** Interpreter, args, file extension, environment. */
  executionConfig: JsonObject;
  distributions: JsonObject;
  installation: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateRuntimeInput {
  /**
   * The owning pack's ref. Resolves to the active version of that pack when
   * one is installed; otherwise the runtime is a built-in (packId null).
   * Optional when `packId` is given.
   */
  packRef?: string;
  /** A specific pack version; must exist (and match `packRef` when both are given). */
  packId?: number;
  name: string;
  description?: string | null;
  kind: RuntimeKind;
  executionConfig?: JsonObject;
  distributions?: JsonObject;
  installation?: JsonObject;
}

/** Everything but the identity (pack and name, hence ref). */
export type UpdateRuntimeInput = Partial<Omit<CreateRuntimeInput, 'packRef' | 'packId' | 'name'>>;

export interface RuntimeFilter extends Pagination {
  kind?: RuntimeKind;
  /** Runtimes of one pack version. */
  packId?: number;
  /** Runtimes with this pack ref, whatever the version, built-ins included. */
  packRef?: string;
}

const ENTITY = 'runtime';

const table = new Table<Runtime>({
  table: 'runtimes',
  entity: ENTITY,
  columns: {
    id: 'id',
    ref: 'ref',
    packId: 'pack_id',
    packRef: 'pack_ref',
    name: 'name',
    description: 'description',
    kind: 'kind',
    executionConfig: { column: 'execution_config', kind: 'json' },
    distributions: { column: 'distributions', kind: 'json' },
    installation: { column: 'installation', kind: 'json' },
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const componentName: Check = (value, field, entity) => assertComponentName(value, entity, field);

const rules: Rules = {
  packRef: { check: is.packRef, immutable: true },
  packId: { check: is.id, immutable: true },
  name: { check: componentName, required: true, immutable: true },
  description: { check: is.string(), nullable: true },
  kind: { check: is.oneOf(RUNTIME_KINDS), required: true },
  executionConfig: { check: is.object },
  distributions: { check: is.object },
  installation: { check: is.object },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  kind: { check: is.oneOf(RUNTIME_KINDS) },
  packId: { check: is.id },
  packRef: { check: is.packRef },
};

/** PostgreSQL types of the fields sent as parameters of INSERT … SELECT. */
const PARAM_TYPES: Partial<Record<keyof Runtime, string>> = {
  description: 'text',
  kind: 'text',
  executionConfig: 'jsonb',
  distributions: 'jsonb',
  installation: 'jsonb',
};

/** Runtimes: built-in or pack-owned executors. Every function takes the executor first. */
export const RuntimeRepository = {
  /**
   * Inserts a runtime in one statement, resolving the pack in the same
   * INSERT … SELECT. AlreadyExistsError for a name taken in the same pack
   * version (or a built-in's ref taken by another built-in); InvalidReferenceError
   * for a packId that does not exist or does not match packRef.
   */
  async create(db: Executor, input: CreateRuntimeInput): Promise<Runtime> {
    validateInput(ENTITY, input, rules, 'create');
    return insertPackComponent(db, table, { input, paramTypes: PARAM_TYPES, allowBuiltIn: true });
  },

  findById: (db: Executor, id: number): Promise<Runtime | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Runtime> => table.getById(db, id),

  /** The runtime with this ref (`pack.name`) in the active version of its pack, else the built-in with it, or null. */
  async findByRef(db: Executor, ref: string): Promise<Runtime | null> {
    assertComponentRef(ref, ENTITY);
    const result = await table.query(db, activeByRef('runtimes', '$1', table.columns), [ref]);
    return result.rows.length === 0 ? null : table.fromRow(result.rows[0]!);
  },

  /** The runtime with this ref in the active version of its pack (else a built-in); NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Runtime> {
    return found(await RuntimeRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** Filters by kind and pack, ordered by ref, with pagination and the total. */
  async list(db: Executor, input?: RuntimeFilter): Promise<Page<Runtime>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('kind', filter.kind).eq('pack_id', filter.packId).eq('pack_ref', filter.packRef);
    return table.list(db, where, filter, 'ref');
  },

  /** Partial update; pack, name and ref cannot change. */
  async update(db: Executor, id: number, input: UpdateRuntimeInput): Promise<Runtime> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes the runtime; workers and actions that used it keep running with runtime_id null. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
