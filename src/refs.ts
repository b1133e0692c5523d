/**
 * Refs name packs and their components. A pack ref is a bare lowercase name
 * (`core`, `aws-ec2`); a component ref is `<pack_ref>.<name>` with exactly one
 * dot (`core.echo`). The same patterns are CHECKed in the migrations.
 */
import { ValidationError } from './errors.js';

export const PACK_REF_PATTERN = /^[a-z][a-z0-9_-]*$/;
export const COMPONENT_NAME_PATTERN = /^[a-z0-9_][a-z0-9_-]*$/;
export const COMPONENT_REF_PATTERN = /^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$/;
export const PACK_REF_MAX_LENGTH = 64;
export const COMPONENT_REF_MAX_LENGTH = 255;

/** True for a valid pack ref. */
export function isPackRef(value: unknown): value is string {
  return typeof value === 'string' && value.length <= PACK_REF_MAX_LENGTH && PACK_REF_PATTERN.test(value);
}

/** True for a valid component ref (`pack.name`). */
export function isComponentRef(value: unknown): value is string {
  return typeof value === 'string' && value.length <= COMPONENT_REF_MAX_LENGTH && COMPONENT_REF_PATTERN.test(value);
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
      `${entity}.${field} must be '<pack>.<name>' with exactly one dot, lowercase, matching ${COMPONENT_REF_PATTERN.source}, got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
}

/** Throws ValidationError unless `value` can be the name part of a component ref. */
export function assertComponentName(value: unknown, entity: string, field = 'name'): asserts value is string {
  if (typeof value !== 'string' || !COMPONENT_NAME_PATTERN.test(value) || value.length > 128) {
    throw new ValidationError(
      `${entity}.${field} must be a lowercase name matching ${COMPONENT_NAME_PATTERN.source} (at most 128 characters), got ${JSON.stringify(value)}`,
      { entity, field, value },
    );
  }
}

/** `core` + `echo` → `core.echo`. */
export function componentRef(packRef: string, name: string): string {
  return `${packRef}.${name}`;
}

/** `core.echo` → { packRef: 'core', name: 'echo' }. Validates first. */
export function splitComponentRef(ref: string, entity = 'component'): { packRef: string; name: string } {
  assertComponentRef(ref, entity);
  const dot = ref.indexOf('.');
  return { packRef: ref.slice(0, dot), name: ref.slice(dot + 1) };
}
