import { ValidationError } from '../../errors.js';
import { isComponentRef, isPackRef, COMPONENT_REF_PATTERN, PACK_REF_PATTERN } from '../../refs.js';

/** Checks one field's value; throws ValidationError naming entity and field. */
export type Check = (value: unknown, field: string, entity: string) => void;

/** How one input field is validated. */
export interface FieldRule {
  check: Check;
  /** Must be present on create. */
  required?: boolean;
  /** May be null (clears the column). */
  nullable?: boolean;
  /** Fixed after creation: refused by update. */
  immutable?: boolean;
  /** Never echo the value in an error. */
  secret?: boolean;
}

export type Rules = Record<string, FieldRule>;

function fail(entity: string, field: string, expected: string, value: unknown, secret = false): never {
  const shown = secret ? '' : `, got ${describe(value)}`;
  throw new ValidationError(`${entity}.${field} must be ${expected}${shown}`, { entity, field, value: secret ? undefined : value });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : 'a date';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Building blocks for field rules. */
export const is = {
  string:
    (options: { min?: number; max?: number; pattern?: RegExp } = {}): Check =>
    (value, field, entity) => {
      const { min = 0, max = 10_000, pattern } = options;
      if (typeof value !== 'string') fail(entity, field, 'a string', value);
      if (value.length < min || value.length > max) {
        fail(entity, field, min > 0 ? `${min} to ${max} characters long` : `at most ${max} characters long`, value);
      }
      if (pattern && !pattern.test(value)) fail(entity, field, `a string matching ${pattern.source}`, value);
    },
  integer:
    (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Check =>
    (value, field, entity) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(entity, field, 'a whole number', value);
      if (value < min || value > max) fail(entity, field, `between ${min} and ${max}`, value);
    },
  id: ((value, field, entity) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail(entity, field, 'a positive whole-number id', value);
  }) as Check,
  boolean: ((value, field, entity) => {
    if (typeof value !== 'boolean') fail(entity, field, 'true or false', value);
  }) as Check,
  oneOf:
    (allowed: readonly string[]): Check =>
    (value, field, entity) => {
      if (typeof value !== 'string' || !allowed.includes(value)) fail(entity, field, `one of ${allowed.join(', ')}`, value);
    },
  /** A JSON object (not an array, not null). */
  object: ((value, field, entity) => {
    if (!isPlainObject(value)) fail(entity, field, 'a JSON object', value);
    assertJson(value, field, entity);
  }) as Check,
  /** Any JSON value: object, array, string, number, boolean or null. */
  json: ((value, field, entity) => {
    assertJson(value, field, entity);
  }) as Check,
  stringArray:
    (options: { maxItems?: number; maxLength?: number } = {}): Check =>
    (value, field, entity) => {
      const { maxItems = 1000, maxLength = 1000 } = options;
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(entity, field, 'an array of strings', value);
      if (value.length > maxItems) fail(entity, field, `at most ${maxItems} items`, value);
      if (value.some((item: string) => item.length > maxLength)) fail(entity, field, `strings of at most ${maxLength} characters`, value);
    },
  timestamp: ((value, field, entity) => {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(entity, field, 'a valid Date', value);
  }) as Check,
  packRef: ((value, field, entity) => {
    if (!isPackRef(value)) fail(entity, field, `a pack ref matching ${PACK_REF_PATTERN.source} (at most 64 characters)`, value);
  }) as Check,
  componentRef: ((value, field, entity) => {
    if (!isComponentRef(value)) fail(entity, field, `a ref '<pack>.<name>' matching ${COMPONENT_REF_PATTERN.source}`, value);
  }) as Check,
};

/**
 * Validates `input` against `rules` before any SQL runs. On create, required
 * fields must be present; on update, immutable fields are refused. Unknown
 * fields are refused in both, so a typo never silently does nothing.
 */
export function validateInput(entity: string, input: unknown, rules: Rules, mode: 'create' | 'update'): void {
  if (!isPlainObject(input)) throw new ValidationError(`${entity} ${mode} input must be an object`, { entity });
  for (const field of Object.keys(input)) {
    if (!(field in rules)) {
      throw new ValidationError(`${entity} has no field '${field}'; known fields: ${Object.keys(rules).join(', ')}`, { entity, field });
    }
  }
  for (const [field, rule] of Object.entries(rules)) {
    const value = (input as Record<string, unknown>)[field];
    if (value === undefined) {
      if (mode === 'create' && rule.required) throw new ValidationError(`${entity}.${field} is required`, { entity, field });
      continue;
    }
    if (mode === 'update' && rule.immutable) {
      throw new ValidationError(`${entity}.${field} cannot be changed after creation`, { entity, field });
    }
    if (value === null) {
      if (rule.nullable) continue;
      fail(entity, field, 'present (it cannot be null)', value, rule.secret);
    }
    if (rule.secret) {
      try {
        rule.check(value, field, entity);
      } catch (error) {
        if (error instanceof ValidationError) throw new ValidationError(`${entity}.${field} is invalid`, { entity, field });
        throw error;
      }
    } else {
      rule.check(value, field, entity);
    }
  }
}

/** True for `{…}` objects, false for arrays, null, dates and class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** JSON survives a round trip through JSONB only if it has no undefined, functions, NaN or cycles. */
function assertJson(value: unknown, field: string, entity: string, seen = new Set<object>()): void {
  switch (typeof value) {
    case 'string':
      if (value.includes('\u0000')) fail(entity, field, 'JSON without NUL characters (PostgreSQL cannot store \\u0000)', '…');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(entity, field, 'JSON (numbers must be finite)', value);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) fail(entity, field, 'JSON without cycles', value);
      seen.add(value);
      if (Array.isArray(value)) {
        for (const item of value) assertJson(item, field, entity, seen);
      } else if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) {
          if (key.includes('\u0000')) fail(entity, field, 'JSON without NUL characters in keys', '…');
          if (item !== undefined) assertJson(item, field, entity, seen);
        }
      } else {
        fail(entity, field, 'plain JSON (no Dates, Maps or class instances)', value);
      }
      seen.delete(value);
      return;
    }
    default:
      fail(entity, field, 'JSON', value);
  }
}
