/**
 * `registerPack`: a pack directory (or bundle) → a registered, active pack
 * version in the database, in one transaction. Read and validated first
 * (nothing is written for an invalid pack); then the version row, its
 * components and its files are brought to what the pack says, writing only
 * what differs, so registering an unchanged pack again writes nothing.
 */
import { mapErrors } from '../db/pg-errors.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { PackFileRepository } from '../repositories/pack-files.js';
import { PackRepository, type JsonObject, type Pack } from '../repositories/packs.js';
import { inActiveVersion } from '../repositories/support/active-version.js';
import type { PackModel } from './model.js';
import { initialPackConfig } from './pack-config.js';
import { PackInvalidError, type PackProblem } from './problems.js';
import { readPack, type PackSource } from './read-pack.js';
import { ALWAYS_AVAILABLE_PACKS, checkReferences } from './references.js';
import { changedFields, syncComponents, type ComponentChange, type ForeignTargets } from './sync-components.js';

export type { ComponentChange, ComponentKind } from './sync-components.js';

export interface RegisterPackOptions {
  /** Mark the version a system pack (`packs.is_system`). Default: true for `core`, else false. */
  system?: boolean;
}

/** What a registration did. */
export interface RegisterPackReport {
  pack: string;
  version: string;
  /** The id of the registered version's row. */
  packId: number;
  /** `created` for a new version, `updated` when its pack.yaml fields changed, else `unchanged`. */
  packRow: 'created' | 'updated' | 'unchanged';
  /** True when this registration made the version the active one. */
  activated: boolean;
  /** The version that was active before, when another one was. */
  previousVersion: string | null;
  created: ComponentChange[];
  updated: ComponentChange[];
  removed: ComponentChange[];
  unchanged: ComponentChange[];
  /** Actions registered disabled because their runner is not supported yet. */
  disabled: { ref: string; reason: string }[];
  /** The version's files, by path. */
  files: { created: string[]; updated: string[]; removed: string[]; unchanged: number };
  /** The reader's warnings: things ignored or registered disabled. */
  warnings: PackProblem[];
}

/**
 * Registers a pack: reads and validates it (PackInvalidError listing every
 * problem, and nothing written, when it is invalid or a rule names a trigger
 * or action that is neither in the pack, nor in `core`, nor in an installed
 * dependency), then in one transaction stores the version, its components
 * and files, and makes it the active version. Re-registering a version
 * replaces its components in place: vanished ones are removed, changed ones
 * updated, unchanged ones left alone.
 */
export async function registerPack(db: Executor, source: PackSource, options: RegisterPackOptions = {}): Promise<RegisterPackReport> {
  const { pack: model, problems: warnings } = await readPack(source);
  return withTransaction(db, async (tx) => {
    await PackRepository.lockRef(tx, model.ref);
    const foreign = await foreignTargets(tx, model);
    const referenceProblems = checkReferences(model, { triggers: new Set(foreign.triggers.keys()), actions: new Set(foreign.actions.keys()) });
    if (referenceProblems.length > 0) throw new PackInvalidError([...referenceProblems, ...warnings], model.ref);

    const previous = await PackRepository.findByRef(tx, model.ref);
    const { row, change } = await storeVersion(tx, model, previous, options);
    const components = await syncComponents(tx, row.id, model, foreign);
    const files = await PackFileRepository.replaceForPack(
      tx,
      row.id,
      model.files.map((file) => ({ path: file.path, content: file.content, executable: file.executable })),
    );
    const activated = !row.isActive;
    if (activated) await PackRepository.activateVersion(tx, model.ref, model.version);
    return {
      pack: model.ref,
      version: model.version,
      packId: row.id,
      packRow: change,
      activated,
      previousVersion: previous !== null && previous.id !== row.id ? previous.version : null,
      ...components,
      disabled: model.actions.filter((action) => action.disabledReason !== null).map((action) => ({ ref: action.ref, reason: action.disabledReason! })),
      files: { created: files.created, updated: files.updated, removed: files.removed, unchanged: files.unchanged.length },
      warnings,
    };
  });
}

/** The pack row's fields that come from the pack's files. */
function versionFields(model: PackModel, options: RegisterPackOptions): Record<string, unknown> {
  return {
    name: model.name,
    description: model.description,
    author: model.author,
    email: model.email,
    keywords: model.keywords,
    dependencies: model.dependencies,
    pythonRequirements: model.pythonRequirements,
    nodeDependencies: model.nodeDependencies,
    confSchema: model.configSchema as JsonObject,
    meta: model.meta,
    isSystem: options.system ?? model.ref === 'core',
  };
}

/** Creates the version row (inactive; activated at the end), or updates the fields that changed. */
async function storeVersion(db: Executor, model: PackModel, active: Pack | null, options: RegisterPackOptions): Promise<{ row: Pack; change: RegisterPackReport['packRow'] }> {
  const fields = versionFields(model, options);
  const existing = await PackRepository.findVersion(db, model.ref, model.version);
  if (existing === null) {
    const config = initialPackConfig(fields.confSchema as JsonObject, active?.config ?? null);
    const row = await PackRepository.create(db, { ref: model.ref, version: model.version, ...fields, config, isActive: false });
    return { row, change: 'created' };
  }
  const patch = changedFields(existing as unknown as Record<string, unknown>, fields);
  if (Object.keys(patch).length === 0) return { row: existing, change: 'unchanged' };
  return { row: await PackRepository.update(db, existing.id, patch), change: 'updated' };
}

/**
 * Triggers and actions the pack's rules may name outside the pack: those of
 * the active versions of `core` and of its declared dependencies (and
 * built-in triggers of those packs), by ref → id.
 */
async function foreignTargets(db: Executor, model: PackModel): Promise<ForeignTargets> {
  const packs = [...new Set([...ALWAYS_AVAILABLE_PACKS, ...Object.keys(model.dependencies)])].filter((ref) => ref !== model.ref);
  const named = new Set(model.rules.flatMap((rule) => [rule.triggerRef, rule.actionRef]));
  const refs = [...named].filter((ref) => packs.includes(ref.slice(0, ref.indexOf('.'))));
  if (refs.length === 0) return { triggers: new Map(), actions: new Map() };
  // Active versions before built-ins (pack_id null): the first row of each ref wins.
  const result = await mapErrors('pack', () =>
    db.query<{ kind: 'trigger' | 'action'; ref: string; id: number }>(
      `SELECT 'trigger' AS kind, t.ref, t.id, t.pack_id IS NULL AS builtin FROM triggers t WHERE t.ref = ANY($1::text[]) AND ${inActiveVersion('t')}
       UNION ALL
       SELECT 'action' AS kind, a.ref, a.id, false AS builtin FROM actions a WHERE a.ref = ANY($1::text[]) AND ${inActiveVersion('a')}
       ORDER BY kind, ref, builtin`,
      [refs],
    ),
  );
  const triggers = new Map<string, number>();
  const actions = new Map<string, number>();
  for (const row of result.rows) {
    const map = row.kind === 'trigger' ? triggers : actions;
    if (!map.has(row.ref)) map.set(row.ref, Number(row.id));
  }
  return { triggers, actions };
}
