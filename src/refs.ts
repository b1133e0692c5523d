/**
 * Refs name packs and their components; this is the one definition of their
 * rules (the tables' CHECKs in migrations/0016_pack_component_versions.sql
 * spell the same patterns, and the pack reader in src/packs/names.ts uses
 * these).
 *
 * A pack ref is a bare lowercase name (`core`, `aws-ec2`). A component name
 * follows StackStorm's: letters of either case, digits, `_`, `-` and dots
 * between non-empty parts (`echo`, `st2.IntervalTimer`, `file_watch.line`).
 * A component ref is `<pack ref>.<name>`: the pack is what precedes the
 * first dot.
 */
import { ValidationError } from './errors.js';

export const PACK_REF_PATTERN = /^[a-z][a-z0-9_-]*$/;
/** No leading dot or hyphen, no `..`, no trailing dot. */
export const COMPONENT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
export const COMPONENT_REF_PATTERN = /^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
export const PACK_REF_MAX_LENGTH = 64;
export const COMPONENT_NAME_MAX_LENGTH = 128;
export const COMPONENT_REF_MAX_LENGTH = 255;

/** True for a valid pack ref. */
export function isPackRef(value: unknown): value is string {
  return typeof value === 'string' && value.length <= PACK_REF_MAX_LENGTH && PACK_REF_PATTERN.test(value);
}

/** True for a valid component name (`st2.IntervalTimer`). */
export function isComponentName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= COMPONENT_NAME_MAX_LENGTH && COMPONENT_NAME_PATTERN.test(value);
}

/** True for a valid component ref (`core.st2.IntervalTimer`). */
export function isComponentRef(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > COMPONENT_REF_MAX_LENGTH || !COMPONENT_REF_PATTERN.test(value)) return false;
  const { packRef, name } = splitRef(value);
  return packRef.length <= PACK_REF_MAX_LENGTH && name.length <= COMPONENT_NAME_MAX_LENGTH;
}

/** `core.st2.webhook` → { packRef: 'core', name: 'st2.webhook' }: the pack is what precedes the first dot. No validation. */
export function splitRef(ref: string): { packRef: string; name: string } {
  const dot = ref.indexOf('.');
  return dot < 0 ? { packRef: ref, name: '' } : { packRef: ref.slice(0, dot), name: ref.slice(dot + 1) };
}

/** Throws ValidationError unless `value` is a pack ref. */
export function assertPackRef(value: unknown, entity = 'pack', field = 'ref'): asserts value is string {
  if (!isPackRef(value)) {
    throw new ValidationError(
      `${entity}.${field} must be a lowercase name matching ${PACK_REF_PATTERN.source} (at most ${PACK_REF_MAX_LENGTH} characters), got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
}

/** Throws ValidationError unless `value` is a component ref. */
export function assertComponentRef(value: unknown, entity: string, field = 'ref'): asserts value is string {
  if (!isComponentRef(value)) {
    throw new ValidationError(
      `${entity}.${field} must be '<pack>.<name>': a lowercase pack ref, a dot, and a name of letters, digits, '_', '-' and inner dots (${COMPONENT_REF_PATTERN.source}, at most ${COMPONENT_REF_MAX_LENGTH} characters), got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
}

/** Throws ValidationError unless `value` can be the name part of a component ref. */
export function assertComponentName(value: unknown, entity: string, field = 'name'): asserts value is string {
  if (!isComponentName(value)) {
    throw new ValidationError(
      `${entity}.${field} must be letters, digits, '_', '-' and inner dots, matching ${COMPONENT_NAME_PATTERN.source} (at most ${COMPONENT_NAME_MAX_LENGTH} characters), got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
}

/** `core` + `echo` → `core.echo`. */
export function componentRef(packRef: string, name: string): string {
  return `${packRef}.${name}`;
}

/** `core.st2.webhook` → { packRef: 'core', name: 'st2.webhook' }. Validates first. */
export function splitComponentRef(ref: string, entity = 'component'): { packRef: string; name: string } {
  assertComponentRef(ref, entity);
  return splitRef(ref);
}
