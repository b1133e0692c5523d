/**
 * Python's comparisons over JSON values, as StackStorm's criteria operators
 * apply them to a payload: `==` (numbers and booleans compare by value, `True
 * == 1`; a string never equals a number), ordering (`<` on numbers, on strings
 * by code point, on lists element by element; anything else is a TypeError in
 * Python 3) and membership (`x in y`: a substring test on strings, element
 * equality on lists, key membership on objects). Where Python would raise, these
 * throw `OperatorInputError`, which the matcher turns into a false criterion
 * with the message.
 */

/** Inputs an operator cannot compare; the message says which and why. */
export class OperatorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorInputError';
  }
}

/** The JSON name of a value's type, for messages: string, number, boolean, null, list, object. */
export function jsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers and booleans are one numeric family in Python (bool is a subclass of int). */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return undefined;
}

/** Python's `a == b` for JSON values. */
export function pythonEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined || y !== undefined) return x !== undefined && y !== undefined && x === y;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => pythonEquals(item, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && pythonEquals(a[key], b[key]));
  }
  return false;
}

/** Strings compared by code point, as Python does (JavaScript's `<` compares UTF-16 units). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/**
 * Python's ordering of `a` against `b`: negative, zero or positive. Throws
 * OperatorInputError where Python 3 raises TypeError (null, objects, a string
 * against a number, lists whose first differing items cannot be ordered).
 */
export function pythonCompare(a: unknown, b: unknown): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const shared = Math.min(a.length, b.length);
    for (let i = 0; i < shared; i++) {
      if (!pythonEquals(a[i], b[i])) return pythonCompare(a[i], b[i]);
    }
    return a.length - b.length;
  }
  throw new OperatorInputError(`cannot order a ${jsonTypeName(a)} against a ${jsonTypeName(b)}`);
}

/** A value Python can hash (a dict key lookup needs one): anything but a list or an object. */
function isHashable(value: unknown): boolean {
  return !Array.isArray(value) && !isPlainObject(value);
}

/**
 * Python's `needle in haystack`: a substring test when the haystack is a
 * string (the needle must be one too), element equality for a list, key
 * membership for an object. Anything else cannot hold members.
 */
export function pythonContains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string') {
    if (typeof needle !== 'string') throw new OperatorInputError(`a substring test on a string needs a string to look for, got a ${jsonTypeName(needle)}`);
    return haystack.includes(needle);
  }
  if (Array.isArray(haystack)) return haystack.some((item) => pythonEquals(item, needle));
  if (isPlainObject(haystack)) {
    if (!isHashable(needle)) throw new OperatorInputError(`an object's keys cannot be tested for a ${jsonTypeName(needle)}`);
    // JSON keys are strings; Python's dict lookup of 1 or True finds no string key.
    return typeof needle === 'string' && Object.hasOwn(haystack, needle);
  }
  throw new OperatorInputError(`a ${jsonTypeName(haystack)} has no members to test (needs a string, a list or an object)`);
}

/** Checks that an operator's input is a string, as Python's `.lower()` / `.startswith()` / `re` need. */
export function requireString(value: unknown, role: 'value' | 'pattern', operator: string): string {
  if (typeof value === 'string') return value;
  throw new OperatorInputError(`${operator} needs a string ${role}, got a ${jsonTypeName(value)}`);
}
