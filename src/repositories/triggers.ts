import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertComponentName, assertComponentRef } from '../refs.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { insertPackComponent } from './support/pack-component.js';
import { activeByRef } from './support/active-version.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** An event type. Built-in triggers have a packRef but no pack row. */
export interface Trigger {
  id: number;
  /** `<packRef>.<name>`; unique within a pack version (and among built-ins), repeated across versions. */
  ref: string;
  /** The pack version that owns it; null for a built-in. */
  packId: number | null;
  packRef: string;
  name: string;
  label: string | null;
  description: string | null;
  enabled: boolean;
  /** What a rule or sensor configures. */
  paramSchema: JsonObject;
  /** The shape of the event payload. */
  payloadSchema: JsonObject;
  webhookEnabled: boolean;
  /** The secret in the webhook URL; null while webhooks are off. */
  webhookKey: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateTriggerInput {
  /**
   * The owning pack's ref. Resolves to the active version of that pack when
   * one is installed; otherwise the trigger is a built-in (packId null).
   * Optional when `packId` is given.
   */
  packRef?: string;
  /** A specific pack version; must exist (and match `packRef` when both are given). */
  packId?: number;
  name: string;
  label?: string | null;
  description?: string | null;
  /** Default true. */
  enabled?: boolean;
  paramSchema?: JsonObject;
  payloadSchema?: JsonObject;
}

/** Everything but the identity (pack and name, hence ref). Webhooks change through enableWebhook / disableWebhook. */
export type UpdateTriggerInput = Partial<Omit<CreateTriggerInput, 'packRef' | 'packId' | 'name'>>;

export interface TriggerFilter extends Pagination {
  /** Triggers of one pack version. */
  packId?: number;
  /** Triggers with this pack ref, whatever the version, built-ins included. */
  packRef?: string;
  enabled?: boolean;
}

/** Random bytes in a webhook key: 256 bits, 43 base64url characters. */
export const WEBHOOK_KEY_BYTES = 32;

/** What a generated key looks like; anything else cannot match and is not looked up. */
const WEBHOOK_KEY_PATTERN = /^[A-Za-z0-9_-]{16,512}$/;

const ENTITY = 'trigger';

const table = new Table<Trigger>({
  table: 'triggers',
  entity: ENTITY,
  columns: {
    id: 'id',
    ref: 'ref',
    packId: 'pack_id',
    packRef: 'pack_ref',
    name: 'name',
    label: 'label',
    description: 'description',
    enabled: 'enabled',
    paramSchema: { column: 'param_schema', kind: 'json' },
    payloadSchema: { column: 'payload_schema', kind: 'json' },
    webhookEnabled: 'webhook_enabled',
    webhookKey: 'webhook_key',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
  secretColumns: ['webhook_key'],
});

const componentName: Check = (value, field, entity) => assertComponentName(value, entity, field);

const rules: Rules = {
  packRef: { check: is.packRef, immutable: true },
  packId: { check: is.id, immutable: true },
  name: { check: componentName, required: true, immutable: true },
  label: { check: is.string({ max: 255 }), nullable: true },
  description: { check: is.string(), nullable: true },
  enabled: { check: is.boolean },
  paramSchema: { check: is.object },
  payloadSchema: { check: is.object },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  packId: { check: is.id },
  packRef: { check: is.packRef },
  enabled: { check: is.boolean },
};

/** PostgreSQL types of the fields sent as parameters of INSERT … SELECT. */
const PARAM_TYPES: Partial<Record<keyof Trigger, string>> = {
  label: 'text',
  description: 'text',
  enabled: 'boolean',
  paramSchema: 'jsonb',
  payloadSchema: 'jsonb',
};

/** A new unguessable webhook key. */
export function generateWebhookKey(): string {
  return randomBytes(WEBHOOK_KEY_BYTES).toString('base64url');
}

/** Triggers: event types and their webhooks. Every function takes the executor first. */
export const TriggerRepository = {
  /**
   * Inserts a trigger in one statement, resolving the pack in the same
   * INSERT … SELECT. AlreadyExistsError for a name taken in the same pack
   * version (or a built-in's ref taken by another built-in); InvalidReferenceError
   * for a packId that does not exist or does not match packRef.
   */
  async create(db: Executor, input: CreateTriggerInput): Promise<Trigger> {
    validateInput(ENTITY, input, rules, 'create');
    return insertPackComponent(db, table, { input, paramTypes: PARAM_TYPES, allowBuiltIn: true });
  },

  findById: (db: Executor, id: number): Promise<Trigger | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Trigger> => table.getById(db, id),

  /** The trigger with this ref (`pack.name`) in the active version of its pack, else the built-in with it, or null. */
  async findByRef(db: Executor, ref: string): Promise<Trigger | null> {
    assertComponentRef(ref, ENTITY);
    const result = await table.query(db, activeByRef('triggers', '$1', table.columns), [ref]);
    return result.rows.length === 0 ? null : table.fromRow(result.rows[0]!);
  },

  /** The trigger with this ref in the active version of its pack (else a built-in); NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Trigger> {
    return found(await TriggerRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** Filters by pack and enabled, ordered by ref, with pagination and the total. */
  async list(db: Executor, input?: TriggerFilter): Promise<Page<Trigger>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('pack_id', filter.packId).eq('pack_ref', filter.packRef);
    // Written out rather than `enabled = $n`, so the partial indexes apply whatever the plan.
    if (filter.enabled !== undefined) where.add(() => (filter.enabled ? 'enabled' : 'NOT enabled'));
    return table.list(db, where, filter, 'ref');
  },

  /**
   * Turns the webhook on with a fresh random key (base64url, 256 bits) and
   * returns the trigger with it. Calling it again rotates the key.
   * NotFoundError for a missing id.
   */
  async enableWebhook(db: Executor, id: number): Promise<Trigger> {
    assertId(id, ENTITY);
    try {
      return await table.update(db, id, { webhookEnabled: true, webhookKey: generateWebhookKey() });
    } catch (error) {
      // Only a broken random source collides; the driver's error quotes the key, so it is not kept as the cause.
      if (error instanceof AlreadyExistsError) {
        throw new AlreadyExistsError(`${ENTITY} webhook key collided with another trigger's`, { entity: ENTITY, field: 'webhookKey' });
      }
      throw error;
    }
  },

  /** Turns the webhook off and forgets its key. NotFoundError for a missing id. */
  async disableWebhook(db: Executor, id: number): Promise<Trigger> {
    assertId(id, ENTITY);
    return table.update(db, id, { webhookEnabled: false, webhookKey: null });
  },

  /** The trigger whose enabled webhook has this key, or null. The key is never echoed in errors. */
  async findByWebhookKey(db: Executor, key: string): Promise<Trigger | null> {
    if (typeof key !== 'string') throw new ValidationError(`${ENTITY}.webhookKey must be a string`, { entity: ENTITY, field: 'webhookKey' });
    if (!WEBHOOK_KEY_PATTERN.test(key)) return null;
    return table.findOne(db, 'webhook_key = $1 AND webhook_enabled', [key]);
  },

  /** Partial update; pack, name and ref cannot change, nor the webhook (see enableWebhook). */
  async update(db: Executor, id: number, input: UpdateTriggerInput): Promise<Trigger> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes the trigger; rules and events keep its ref with trigger_id null. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
