import { ValidationError } from '../../errors.js';
import { isComponentRef, isPackRef, COMPONENT_REF_PATTERN, PACK_REF_PATTERN } from '../../refs.js';
import { inputLimits } from '../../limits.js';
import { assertJsonWithinLimits, assertStorableText } from './input-limits.js';

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
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : 'a date';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/**
 * PostgreSQL's timestamptz starts at 4714-11-24 BC; 4713 BC keeps a margin
 * for the local-time offset the driver writes dates in. JavaScript dates end
 * (275760 AD) long before PostgreSQL's do.
 */
export const MIN_TIMESTAMP = new Date(Date.UTC(-4712, 0, 1));

/** Building blocks for field rules. */
export const is = {
  /**
   * Text PostgreSQL can store (no NUL, no lone surrogates) of `min` to `max`
   * characters; `max` defaults to the configured `limits.textMaxLength`.
   */
  string:
    (options: { min?: number; max?: number; pattern?: RegExp } = {}): Check =>
    (value, field, entity) => {
      const { min = 0, max = inputLimits().textMaxLength, pattern } = options;
      if (typeof value !== 'string') fail(entity, field, 'a string', value);
      if (value.length < min || value.length > max) {
        fail(entity, field, min > 0 ? `${min} to ${max} characters long` : `at most ${max} characters long`, value);
      }
      assertStorableText(value, { entity, field });
      if (pattern && !pattern.test(value)) fail(entity, field, `a string matching ${pattern.source}`, value);
    },
  /** Any string, unchecked: for text the repository cleans and cuts itself (execution errors). */
  anyString: ((value, field, entity) => {
    if (typeof value !== 'string') fail(entity, field, 'a string', value);
  }) as Check,
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
  /** One of `allowed`, or a non-empty array of them (a filter matching any). */
  oneOrMoreOf:
    (allowed: readonly string[]): Check =>
    (value, field, entity) => {
      if (!Array.isArray(value)) return is.oneOf(allowed)(value, field, entity);
      if (value.length === 0 || value.length > allowed.length * 4) fail(entity, field, `one of ${allowed.join(', ')}, or 1 to ${allowed.length * 4} of them`, value);
      value.forEach((item) => is.oneOf(allowed)(item, field, entity));
    },
  /** A JSON object (not an array, not null) within the JSON limits. */
  object: ((value, field, entity) => {
    if (!isPlainObject(value)) fail(entity, field, 'a JSON object', value);
    assertJsonWithinLimits(value, { entity, field });
  }) as Check,
  /** Any JSON value within the JSON limits: object, array, string, number, boolean or null. */
  json: ((value, field, entity) => {
    assertJsonWithinLimits(value, { entity, field });
  }) as Check,
  stringArray:
    (options: { maxItems?: number; maxLength?: number } = {}): Check =>
    (value, field, entity) => {
      const { maxItems = 1000, maxLength = 1000 } = options;
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(entity, field, 'an array of strings', value);
      if (value.length > maxItems) fail(entity, field, `at most ${maxItems} items`, value);
      if (value.some((item: string) => item.length > maxLength)) fail(entity, field, `strings of at most ${maxLength} characters`, value);
      value.forEach((item: string, index) => assertStorableText(item, { entity, field }, `[${index}]`));
    },
  /** A valid Date within PostgreSQL's timestamptz range. */
  timestamp: ((value, field, entity) => {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(entity, field, 'a valid Date', value);
    if (value < MIN_TIMESTAMP) fail(entity, field, "a Date from 4713 BC on (PostgreSQL's timestamp range)", value);
  }) as Check,
  packRef: ((value, field, entity) => {
    if (!isPackRef(value)) fail(entity, field, `a pack ref matching ${PACK_REF_PATTERN.source} (at most 64 characters)`, value);
  }) as Check,
  componentRef: ((value, field, entity) => {
    if (!isComponentRef(value)) fail(entity, field, `a ref '<pack>.<name>' matching ${COMPONENT_REF_PATTERN.source}`, value);
  }) as Check,
};

/** Checks that walk JSON values themselves, so `checkValue` need not walk them first. */
const WALKS_JSON: ReadonlySet<Check> = new Set([is.json, is.object]);

/**
 * One present field's value against its rule. Arrays and objects are walked
 * first whatever the rule (size, depth, NUL characters, lone surrogates), so
 * a rule's own check never meets an unbounded or unstorable value. A secret
 * field's errors never carry its value: the walk's messages name only the
 * field, and the check's are replaced by "is invalid".
 */
function checkValue(entity: string, field: string, value: unknown, rule: FieldRule): void {
  if (value === null) {
    if (rule.nullable) return;
    fail(entity, field, 'present (it cannot be null)', value, rule.secret);
  }
  const walksItself = WALKS_JSON.has(rule.check);
  // A secret JSON field is walked here too, so its limit errors keep their explanation instead of becoming "is invalid".
  if (rule.secret && walksItself) assertJsonWithinLimits(value, { entity, field, secret: true });
  else if (!walksItself && (Array.isArray(value) || isPlainObject(value))) assertJsonWithinLimits(value, { entity, field, secret: rule.secret });
  if (!rule.secret) return rule.check(value, field, entity);
  try {
    rule.check(value, field, entity);
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${entity}.${field} is invalid`, { entity, field });
    throw error;
  }
}

function refuseUnknownFields(entity: string, input: Record<string, unknown>, rules: Rules, what: string): void {
  for (const field of Object.keys(input)) {
    if (!Object.hasOwn(rules, field)) {
      throw new ValidationError(`${entity} ${what} has no field '${field}'; known: ${Object.keys(rules).join(', ')}`, { entity, field });
    }
  }
}

/**
 * Validates `input` against `rules` before any SQL runs. On create, required
 * fields must be present; on update, immutable fields are refused. Unknown
 * fields are refused in both, so a typo never silently does nothing.
 */
export function validateInput(entity: string, input: unknown, rules: Rules, mode: 'create' | 'update'): void {
  if (!isPlainObject(input)) throw new ValidationError(`${entity} ${mode} input must be an object, got ${describe(input)}`, { entity, field: 'input' });
  refuseUnknownFields(entity, input, rules, mode === 'create' ? 'input' : 'update');
  for (const [field, rule] of Object.entries(rules)) {
    const value = input[field];
    if (value === undefined) {
      if (mode === 'create' && rule.required) throw new ValidationError(`${entity}.${field} is required`, { entity, field });
      continue;
    }
    if (mode === 'update' && rule.immutable) {
      throw new ValidationError(`${entity}.${field} cannot be changed after creation`, { entity, field });
    }
    checkValue(entity, field, value, rule);
  }
}

/**
 * Validates a list filter (or any options object) against the rules its
 * function declares: undefined means no filter; anything else must be an
 * object whose every key has a rule and whose every present value passes
 * it. A misspelt key (`stauts`) is refused rather than ignored, which would
 * silently match every row. Returns the filter, `{}` for undefined.
 */
export function validateFilter<F extends object>(entity: string, filter: F | undefined, rules: Rules, name = 'filter'): F {
  if (filter === undefined) return {} as F;
  if (!isPlainObject(filter)) {
    throw new ValidationError(`${entity} ${name} must be an object or left out, got ${describe(filter)}`, { entity, field: name });
  }
  refuseUnknownFields(entity, filter, rules, name);
  for (const [field, value] of Object.entries(filter)) {
    if (value !== undefined) checkValue(entity, field, value, rules[field]!);
  }
  return filter;
}

/** True for `{…}` objects, false for arrays, null, dates and class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
