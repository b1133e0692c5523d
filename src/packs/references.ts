/**
 * Whether each rule's trigger and action exist. Refs into the pack itself are
 * checked against the pack's own components (readPack does this); refs into
 * other packs need what is installed, which registration passes in `known`,
 * and must name `core` or a declared dependency.
 */
import type { PackModel } from './model.js';
import type { PackProblem } from './problems.js';
import { splitRef } from './names.js';

/** Refs that exist outside the pack being checked (active versions of installed packs). */
export interface KnownComponents {
  triggers: ReadonlySet<string>;
  actions: ReadonlySet<string>;
}

/** The packs a pack's rules may refer to besides itself. */
export const ALWAYS_AVAILABLE_PACKS = ['core'] as const;

/**
 * Problems (errors) for rule refs that resolve to nothing. With
 * `onlyOwnPack`, refs into other packs are not checked (nothing is known
 * about them yet).
 */
export function checkReferences(model: PackModel, known: KnownComponents, options: { onlyOwnPack?: boolean } = {}): PackProblem[] {
  const problems: PackProblem[] = [];
  const ownTriggers = new Set(model.triggers.map((trigger) => trigger.ref));
  const ownActions = new Set(model.actions.map((action) => action.ref));
  for (const rule of model.rules) {
    const targets = [
      { ref: rule.triggerRef, kind: 'trigger', field: 'trigger.type', own: ownTriggers, other: known.triggers },
      { ref: rule.actionRef, kind: 'action', field: 'action.ref', own: ownActions, other: known.actions },
    ];
    for (const target of targets) {
      const { packRef } = splitRef(target.ref);
      const problem = (message: string): void => {
        problems.push({ severity: 'error', file: rule.file, line: 0, field: target.field, message });
      };
      if (packRef === model.ref) {
        if (!target.own.has(target.ref)) problem(`rule '${rule.ref}' names ${target.kind} '${target.ref}', which this pack does not define`);
      } else if (options.onlyOwnPack) {
        continue;
      } else if (!(ALWAYS_AVAILABLE_PACKS as readonly string[]).includes(packRef) && !(packRef in model.dependencies)) {
        problem(`rule '${rule.ref}' names ${target.kind} '${target.ref}' of pack '${packRef}', which pack.yaml does not list in dependencies`);
      } else if (!target.other.has(target.ref)) {
        problem(`rule '${rule.ref}' names ${target.kind} '${target.ref}', which is not installed (no active version of pack '${packRef}' defines it)`);
      }
    }
  }
  return problems;
}
