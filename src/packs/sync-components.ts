/**
 * Brings the components of one pack version in the database to what a pack
 * model says, writing only what differs: a component that vanished from the
 * pack is deleted, a changed one is updated (only its changed fields), a new
 * one is created, and an unchanged one is not touched. Used by registerPack
 * inside its transaction.
 */
import type { Executor } from '../db/pool.js';
import { ActionRepository, type Action, type RunnerType } from '../repositories/actions.js';
import type { JsonObject } from '../repositories/packs.js';
import { RuleRepository, type Rule } from '../repositories/rules.js';
import { SensorRepository, type Sensor, type SensorRunnerType } from '../repositories/sensors.js';
import { TriggerRepository, type Trigger } from '../repositories/triggers.js';
import type { ActionModel, PackModel, RuleModel, SensorModel, TriggerModel } from './model.js';

/** The kinds of component a pack version holds. */
export type ComponentKind = 'trigger' | 'action' | 'sensor' | 'rule';

/** One component named in a registration report. */
export interface ComponentChange {
  kind: ComponentKind;
  ref: string;
}

/** What syncing a version's components did. */
export interface ComponentChanges {
  created: ComponentChange[];
  updated: ComponentChange[];
  removed: ComponentChange[];
  unchanged: ComponentChange[];
}

/** Ids of trigger and action refs outside the pack (active versions of its dependencies, core, built-ins). */
export interface ForeignTargets {
  triggers: ReadonlyMap<string, number>;
  actions: ReadonlyMap<string, number>;
}

interface Stored {
  id: number;
  name: string;
  ref: string;
}

/** One kind's repository functions, as the sync needs them. */
interface KindStore<E extends Stored> {
  list(db: Executor, packId: number): Promise<E[]>;
  create(db: Executor, packId: number, name: string, fields: Record<string, unknown>): Promise<E>;
  update(db: Executor, id: number, patch: Record<string, unknown>): Promise<E>;
  remove(db: Executor, id: number): Promise<boolean>;
}

/** Every row of a kind in one version (a pack has at most a thousand per kind: src/packs/limits.ts). */
const PAGE = { limit: 1000 };

const TRIGGERS: KindStore<Trigger> = {
  list: async (db, packId) => (await TriggerRepository.list(db, { packId, ...PAGE })).items,
  create: (db, packId, name, fields) => TriggerRepository.create(db, { packId, name, ...fields }),
  update: (db, id, patch) => TriggerRepository.update(db, id, patch),
  remove: (db, id) => TriggerRepository.delete(db, id),
};

const ACTIONS: KindStore<Action> = {
  list: async (db, packId) => (await ActionRepository.list(db, { packId, ...PAGE })).items,
  create: (db, packId, name, fields) => ActionRepository.create(db, { packId, name, ...(fields as { runnerType: RunnerType }) }),
  update: (db, id, patch) => ActionRepository.update(db, id, patch),
  remove: (db, id) => ActionRepository.delete(db, id),
};

const SENSORS: KindStore<Sensor> = {
  list: async (db, packId) => (await SensorRepository.list(db, { packId, ...PAGE })).items,
  create: (db, packId, name, fields) => SensorRepository.create(db, { packId, name, ...(fields as { entryPoint: string }) }),
  update: (db, id, patch) => SensorRepository.update(db, id, patch),
  remove: (db, id) => SensorRepository.delete(db, id),
};

const RULES: KindStore<Rule> = {
  list: async (db, packId) => (await RuleRepository.list(db, { packId, ...PAGE })).items,
  create: (db, packId, name, fields) => RuleRepository.create(db, { packId, name, ...fields }),
  update: (db, id, patch) => RuleRepository.update(db, id, patch),
  remove: (db, id) => RuleRepository.delete(db, id),
};

function triggerFields(trigger: TriggerModel): Record<string, unknown> {
  return { description: trigger.description, paramSchema: trigger.paramSchema as JsonObject, payloadSchema: trigger.payloadSchema as JsonObject };
}

function actionFields(action: ActionModel): Record<string, unknown> {
  return {
    description: action.description,
    runnerType: action.runnerType,
    entryPoint: action.entryPoint,
    enabled: action.enabled,
    disabledReason: action.enabled ? null : action.disabledReason,
    paramSchema: action.paramSchema,
    outputSchema: action.outputSchema,
    timeoutSeconds: action.timeoutSeconds,
    tags: action.tags,
  };
}

function sensorFields(sensor: SensorModel): Record<string, unknown> {
  return {
    description: sensor.description,
    entryPoint: sensor.entryPoint,
    runnerType: sensor.runner as SensorRunnerType,
    className: sensor.className,
    triggerTypes: sensor.triggerTypes,
    paramSchema: sensor.paramSchema,
    pollInterval: sensor.pollInterval,
    enabled: sensor.enabled,
  };
}

function ruleFields(rule: RuleModel, triggerId: number, actionId: number): Record<string, unknown> {
  return {
    description: rule.description,
    triggerId,
    actionId,
    criteria: rule.criteria,
    actionParams: rule.actionParams,
    triggerParams: rule.triggerParams,
    enabled: rule.enabled,
  };
}

/**
 * Syncs every component kind of pack version `packId` to `model`. Deletions
 * go first (rules before what they point at), then triggers, actions and
 * sensors, then rules, whose trigger and action ids are the new version's
 * own components or `foreign` ones.
 */
export async function syncComponents(db: Executor, packId: number, model: PackModel, foreign: ForeignTargets): Promise<ComponentChanges> {
  const changes: ComponentChanges = { created: [], updated: [], removed: [], unchanged: [] };
  const existing = {
    rule: await RULES.list(db, packId),
    sensor: await SENSORS.list(db, packId),
    action: await ACTIONS.list(db, packId),
    trigger: await TRIGGERS.list(db, packId),
  };
  const wanted: Record<ComponentKind, Set<string>> = {
    rule: new Set(model.rules.map((c) => c.name)),
    sensor: new Set(model.sensors.map((c) => c.name)),
    action: new Set(model.actions.map((c) => c.name)),
    trigger: new Set(model.triggers.map((c) => c.name)),
  };
  const stores = { rule: RULES, sensor: SENSORS, action: ACTIONS, trigger: TRIGGERS } as const;
  for (const kind of ['rule', 'sensor', 'action', 'trigger'] as const) {
    for (const row of existing[kind] as Stored[]) {
      if (wanted[kind].has(row.name)) continue;
      await stores[kind].remove(db, row.id);
      changes.removed.push({ kind, ref: row.ref });
    }
  }
  const triggers = await syncKind(db, packId, 'trigger', TRIGGERS, existing.trigger, model.triggers.map((t) => [t, triggerFields(t)]), changes);
  const actions = await syncKind(db, packId, 'action', ACTIONS, existing.action, model.actions.map((a) => [a, actionFields(a)]), changes);
  await syncKind(db, packId, 'sensor', SENSORS, existing.sensor, model.sensors.map((s) => [s, sensorFields(s)]), changes);
  const ownTriggers = new Map([...triggers.values()].map((t) => [t.ref, t.id]));
  const ownActions = new Map([...actions.values()].map((a) => [a.ref, a.id]));
  const rules = model.rules.map((rule): [RuleModel, Record<string, unknown>] => {
    const triggerId = ownTriggers.get(rule.triggerRef) ?? foreign.triggers.get(rule.triggerRef);
    const actionId = ownActions.get(rule.actionRef) ?? foreign.actions.get(rule.actionRef);
    // References were checked before anything was written; a miss here is a bug, not bad input.
    if (triggerId === undefined || actionId === undefined) throw new Error(`rule ${rule.ref}: unresolved ${triggerId === undefined ? rule.triggerRef : rule.actionRef}`);
    return [rule, ruleFields(rule, triggerId, actionId)];
  });
  await syncKind(db, packId, 'rule', RULES, existing.rule, rules, changes);
  return changes;
}

/** Creates, updates (changed fields only) or leaves alone each wanted component of one kind; returns them by name. */
async function syncKind<E extends Stored>(
  db: Executor,
  packId: number,
  kind: ComponentKind,
  store: KindStore<E>,
  existing: E[],
  wanted: [{ name: string; ref: string }, Record<string, unknown>][],
  changes: ComponentChanges,
): Promise<Map<string, E>> {
  const byName = new Map(existing.map((row) => [row.name, row]));
  const result = new Map<string, E>();
  for (const [component, fields] of wanted) {
    const row = byName.get(component.name);
    if (row === undefined) {
      result.set(component.name, await store.create(db, packId, component.name, withoutUndefined(fields)));
      changes.created.push({ kind, ref: component.ref });
      continue;
    }
    const patch = changedFields(row as unknown as Record<string, unknown>, fields);
    if (Object.keys(patch).length === 0) {
      result.set(component.name, row);
      changes.unchanged.push({ kind, ref: component.ref });
    } else {
      result.set(component.name, await store.update(db, row.id, patch));
      changes.updated.push({ kind, ref: component.ref });
    }
  }
  return result;
}

function withoutUndefined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The fields of `wanted` whose value differs from the stored row's (JSON compared by content, not key order). */
export function changedFields(stored: Record<string, unknown>, wanted: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(wanted)) {
    if (value === undefined) continue;
    if (canonicalJson(stored[field] ?? null) !== canonicalJson(value)) patch[field] = value;
  }
  return patch;
}

/** JSON text with object keys sorted at every level: equal for values PostgreSQL's jsonb stores alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
