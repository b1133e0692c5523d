import type { Executor } from '../db/pool.js';
import { ValidationError } from '../errors.js';
import { assertComponentName, isComponentRef, splitComponentRef } from '../refs.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { insertPackComponent } from './support/pack-component.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** How a sensor runs; mirrors sensors_runner_type_check. */
export const SENSOR_RUNNER_TYPES = ['python', 'node'] as const;
export type SensorRunnerType = (typeof SENSOR_RUNNER_TYPES)[number];

/** A pack version's sensor: a process that watches something and fires triggers. */
export interface Sensor {
  id: number;
  packId: number;
  packRef: string;
  name: string;
  /** `<packRef>.<name>`; unique within a pack version, repeated across versions. */
  ref: string;
  label: string | null;
  description: string | null;
  /** The script, relative to the pack's `sensors/` folder. */
  entryPoint: string;
  runnerType: SensorRunnerType;
  /** The Python class of a Python sensor; null otherwise. */
  className: string | null;
  /** Refs of the triggers it fires. */
  triggerTypes: string[];
  /** What the sensor can be configured with. */
  paramSchema: JsonObject;
  /** Its configured values. */
  parameters: JsonObject;
  /** Seconds between polls (a polling sensor); null for a passive one. */
  pollInterval: number | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateSensorInput {
  /** A specific pack version. One of packId and packRef is required. */
  packId?: number;
  /** The pack's ref: its active version (or, with packId, a check). */
  packRef?: string;
  name: string;
  label?: string | null;
  description?: string | null;
  entryPoint: string;
  /** Default python. */
  runnerType?: SensorRunnerType;
  className?: string | null;
  triggerTypes?: string[];
  paramSchema?: JsonObject;
  parameters?: JsonObject;
  pollInterval?: number | null;
  /** Default true. */
  enabled?: boolean;
}

/** Everything but the identity (pack and name, hence ref). */
export type UpdateSensorInput = Partial<Omit<CreateSensorInput, 'packId' | 'packRef' | 'name'>>;

export interface SensorFilter extends Pagination {
  /** Sensors of one pack version. */
  packId?: number;
  /** Sensors of the active version of this pack. */
  packRef?: string;
  enabled?: boolean;
  /** Sensors that fire this trigger ref. */
  triggerType?: string;
}

const ENTITY = 'sensor';

const table = new Table<Sensor>({
  table: 'sensors',
  entity: ENTITY,
  columns: {
    id: 'id',
    packId: 'pack_id',
    packRef: 'pack_ref',
    name: 'name',
    ref: 'ref',
    label: 'label',
    description: 'description',
    entryPoint: 'entry_point',
    runnerType: 'runner_type',
    className: 'class_name',
    triggerTypes: 'trigger_types',
    paramSchema: { column: 'param_schema', kind: 'json' },
    parameters: { column: 'parameters', kind: 'json' },
    pollInterval: 'poll_interval',
    enabled: 'enabled',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const componentName: Check = (value, field, entity) => assertComponentName(value, entity, field);

const triggerRefs: Check = (value, field, entity) => {
  if (!Array.isArray(value) || value.length > 100) throw new ValidationError(`${entity}.${field} must be an array of trigger refs (at most 100)`, { entity, field });
  for (const ref of value) {
    if (!isComponentRef(ref)) throw new ValidationError(`${entity}.${field} holds ${JSON.stringify(ref)}, which is not a trigger ref '<pack>.<name>'`, { entity, field, value: ref });
  }
};

const rules: Rules = {
  packId: { check: is.id, immutable: true },
  packRef: { check: is.packRef, immutable: true },
  name: { check: componentName, required: true, immutable: true },
  label: { check: is.string({ max: 255 }), nullable: true },
  description: { check: is.string(), nullable: true },
  entryPoint: { check: is.string({ min: 1, max: 4096 }), required: true },
  runnerType: { check: is.oneOf(SENSOR_RUNNER_TYPES) },
  className: { check: is.string({ min: 1, max: 255 }), nullable: true },
  triggerTypes: { check: triggerRefs },
  paramSchema: { check: is.object },
  parameters: { check: is.object },
  pollInterval: { check: is.integer(1, 2_147_483_647), nullable: true },
  enabled: { check: is.boolean },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  packId: { check: is.id },
  packRef: { check: is.packRef },
  enabled: { check: is.boolean },
  triggerType: { check: is.componentRef },
};

/** PostgreSQL types of the fields sent as parameters of INSERT … SELECT. */
const PARAM_TYPES: Partial<Record<keyof Sensor, string>> = {
  label: 'text',
  description: 'text',
  entryPoint: 'text',
  runnerType: 'text',
  className: 'text',
  triggerTypes: 'text[]',
  paramSchema: 'jsonb',
  parameters: 'jsonb',
  pollInterval: 'integer',
  enabled: 'boolean',
};

/** Sensors of pack versions. Every function takes the executor first. */
export const SensorRepository = {
  /**
   * Inserts a sensor in one statement, resolving the pack in the same
   * INSERT … SELECT. InvalidReferenceError for a packRef with no active
   * version or a missing packId; AlreadyExistsError for a name taken in the
   * same pack version.
   */
  async create(db: Executor, input: CreateSensorInput): Promise<Sensor> {
    validateInput(ENTITY, input, rules, 'create');
    return insertPackComponent(db, table, { input, paramTypes: PARAM_TYPES, allowBuiltIn: false });
  },

  findById: (db: Executor, id: number): Promise<Sensor | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Sensor> => table.getById(db, id),

  /** The sensor with this ref in the active version of its pack, or null. */
  async findByRef(db: Executor, ref: string): Promise<Sensor | null> {
    const { packRef, name } = splitComponentRef(ref, ENTITY);
    return table.findOne(db, 'pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) AND name = $2', [packRef, name]);
  },

  /** The sensor with this ref in the active version of its pack; NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Sensor> {
    return found(await SensorRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** Filters (each served by an index), ordered by ref then id, with pagination and the total. */
  async list(db: Executor, input?: SensorFilter): Promise<Page<Sensor>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('pack_id', filter.packId);
    if (filter.packRef !== undefined) where.add((p) => `pack_id = (SELECT id FROM packs WHERE ref = ${p(filter.packRef)} AND is_active)`);
    if (filter.enabled !== undefined) where.add(() => (filter.enabled ? 'enabled' : 'NOT enabled'));
    if (filter.triggerType !== undefined) where.add((p) => `trigger_types @> ARRAY[${p(filter.triggerType)}::text]`);
    return table.list(db, where, filter, 'ref, id');
  },

  /** Partial update; pack, name and ref cannot change. */
  async update(db: Executor, id: number, input: UpdateSensorInput): Promise<Sensor> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes the sensor; true when a row went. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
