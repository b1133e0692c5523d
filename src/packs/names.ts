/**
 * Names and refs of pack components, StackStorm style. A component name may
 * hold dots and capitals (`st2.IntervalTimer`, `file_watch.line`); its ref is
 * `<pack>.<name>`, and the pack is what precedes the ref's first dot. This is
 * the reader's wording of the rules in src/refs.ts (the one definition, which
 * the tables' CHECKs follow).
 */

// The patterns and predicates are defined once, in src/refs.ts (the
// repositories, a lower layer, use them too); they are re-exported here.
import { COMPONENT_NAME_MAX_LENGTH, COMPONENT_REF_MAX_LENGTH, PACK_REF_PATTERN, isComponentName, isPackRef, splitRef } from '../refs.js';
export {
  PACK_REF_PATTERN,
  PACK_REF_MAX_LENGTH,
  COMPONENT_NAME_PATTERN,
  COMPONENT_NAME_MAX_LENGTH,
  COMPONENT_REF_PATTERN,
  COMPONENT_REF_MAX_LENGTH,
  isPackRef,
  isComponentName,
  isComponentRef,
  splitRef,
} from '../refs.js';

/** Why `value` is not a component name, or null when it is one. */
export function componentNameProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a string, got ${describeType(value)}`;
  if (value === '') return 'must not be empty';
  if (value.length > COMPONENT_NAME_MAX_LENGTH) return `must be at most ${COMPONENT_NAME_MAX_LENGTH} characters, got ${value.length}`;
  const bad = [...value].find((char) => !/[A-Za-z0-9_.-]/.test(char));
  if (bad !== undefined) return `may hold only letters, digits, '_', '-' and '.', got ${JSON.stringify(bad)} in ${JSON.stringify(value)}`;
  if (!isComponentName(value)) return `must not start with '.' or '-', end with '.' or hold '..', got ${JSON.stringify(value)}`;
  return null;
}

/** Why `value` is not a component ref, or null when it is one. */
export function componentRefProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a ref '<pack>.<name>', got ${describeType(value)}`;
  if (!value.includes('.')) return `must be a ref '<pack>.<name>', got ${JSON.stringify(value)} (no pack)`;
  const { packRef, name } = splitRef(value);
  if (!isPackRef(packRef)) return `names pack ${JSON.stringify(packRef)}, which is not a pack ref (lowercase, ${PACK_REF_PATTERN.source})`;
  const nameProblem = componentNameProblem(name);
  if (nameProblem !== null) return `has a name that ${nameProblem}`;
  if (value.length > COMPONENT_REF_MAX_LENGTH) return `must be at most ${COMPONENT_REF_MAX_LENGTH} characters`;
  return null;
}

/** `string`, `number`, `a list`, `a mapping`, `null`: for messages. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
