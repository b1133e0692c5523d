/**
 * Names and refs of pack components, StackStorm style. A component name may
 * hold dots and capitals (`st2.IntervalTimer`, `file_watch.line`); its ref is
 * `<pack>.<name>`, and the pack is what precedes the ref's first dot. This is
 * the one definition; the tables' CHECKs and src/refs.ts follow it.
 */

/** A pack ref: lowercase, as in data-model.md. */
export const PACK_REF_PATTERN = /^[a-z][a-z0-9_-]*$/;
export const PACK_REF_MAX_LENGTH = 64;

/**
 * A component name: letters, digits, `_`, `-` and `.`, not starting with a dot
 * or a hyphen. StackStorm accepts almost any string here; Attune
 * keeps names usable in URLs, file names and CLI arguments without quoting.
 */
export const COMPONENT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const COMPONENT_NAME_MAX_LENGTH = 128;

/** A component ref: `<pack ref>.<component name>`. */
export const COMPONENT_REF_PATTERN = /^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const COMPONENT_REF_MAX_LENGTH = 255;

/** True for a valid pack ref. */
export function isPackRef(value: unknown): value is string {
  return typeof value === 'string' && value.length <= PACK_REF_MAX_LENGTH && PACK_REF_PATTERN.test(value);
}

/** True for a valid component name. */
export function isComponentName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= COMPONENT_NAME_MAX_LENGTH &&
    COMPONENT_NAME_PATTERN.test(value) &&
    !value.endsWith('.') &&
    !value.includes('..')
  );
}

/** True for a valid component ref (`core.st2.IntervalTimer`). */
export function isComponentRef(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > COMPONENT_REF_MAX_LENGTH || !COMPONENT_REF_PATTERN.test(value)) return false;
  const { packRef, name } = splitRef(value);
  return isPackRef(packRef) && isComponentName(name);
}

/** `core.st2.webhook` → { packRef: 'core', name: 'st2.webhook' }: the pack is what precedes the first dot. */
export function splitRef(ref: string): { packRef: string; name: string } {
  const dot = ref.indexOf('.');
  return dot < 0 ? { packRef: ref, name: '' } : { packRef: ref.slice(0, dot), name: ref.slice(dot + 1) };
}

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
