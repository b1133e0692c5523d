/**
 * Checks of input values against what PostgreSQL can store and the input
 * limits in force (src/limits.ts), before any SQL runs.
 */
import { envName } from '../../config.js';
import { ValidationError } from '../../errors.js';
import { inputLimits } from '../../limits.js';

/** Where a value sits, for messages: `event.payload.items[3]`. Secret fields name only the field. */
interface Place {
  entity: string;
  field: string;
  secret?: boolean | undefined;
}

/**
 * Throws the ValidationError. A secret field's error names only the field;
 * a problem about the value's shape (`aboutValue`) is then just "is invalid",
 * as for every other check of a secret, while limits and unstorable
 * characters, which reveal nothing, keep their explanation.
 */
function refuse(place: Place, path: string, problem: string, aboutValue = false): never {
  const where = `${place.entity}.${place.field}${place.secret ? '' : path}`;
  const message = place.secret && aboutValue ? `${where} is invalid` : `${where} ${problem}`;
  throw new ValidationError(message, { entity: place.entity, field: place.field });
}

const NUL_PROBLEM = 'contains a NUL character (\\u0000), which PostgreSQL cannot store';
const SURROGATE_PROBLEM = 'contains an unpaired UTF-16 surrogate, which is not valid Unicode (it would be stored as U+FFFD)';

/**
 * Refuses text PostgreSQL cannot store as given: NUL characters (text and
 * JSONB both refuse them, SQLSTATE 22021 / 22P05) and unpaired surrogates
 * (the driver's UTF-8 encoding would silently turn them into U+FFFD).
 */
export function assertStorableText(text: string, place: Place, path = ''): void {
  // One regex pass: in a /u pattern a well-formed surrogate pair is one code point, so \p{Cs} only matches a lone half.
  const bad = /[\u0000\p{Cs}]/u.exec(text);
  if (bad) refuse(place, path, bad[0] === '\u0000' ? NUL_PROBLEM : SURROGATE_PROBLEM);
}

/** State of one walk over a JSON value. */
interface Walk {
  place: Place;
  maxBytes: number;
  maxDepth: number;
  /** Bytes of JSON text counted so far. */
  bytes: number;
  /** Objects on the path from the root, to name a cycle as one. */
  onPath: Set<object>;
}

function tooLarge(walk: Walk): never {
  refuse(walk.place, '', `is more than ${walk.maxBytes} bytes of JSON (the limit set by ${envName('limits', 'jsonMaxBytes')})`);
}

function count(walk: Walk, bytes: number): void {
  walk.bytes += bytes;
  if (walk.bytes > walk.maxBytes) tooLarge(walk);
}

/**
 * Adds the UTF-8 bytes of `text` as JSON.stringify writes it (quotes and
 * escapes included), refusing NUL and lone surrogates on the way. Every
 * character is at least one byte, so a string longer than the budget left is
 * refused without being scanned.
 */
function countString(walk: Walk, text: string, path: string): void {
  if (walk.bytes + text.length + 2 > walk.maxBytes) tooLarge(walk);
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) refuse(walk.place, path, NUL_PROBLEM);
    if (code < 0x20) bytes += code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) refuse(walk.place, path, SURROGATE_PROBLEM);
      bytes += 4;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) refuse(walk.place, path, SURROGATE_PROBLEM);
    else bytes += 3;
  }
  count(walk, bytes);
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}]`;
}

function walkValue(walk: Walk, value: unknown, path: string, depth: number): void {
  switch (typeof value) {
    case 'string':
      countString(walk, value, path);
      return;
    case 'boolean':
      count(walk, value ? 4 : 5);
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(walk.place, path, `must be JSON: numbers must be finite, got ${String(value)}`, true);
      count(walk, String(value).length);
      return;
    case 'object': {
      if (value === null) {
        count(walk, 4);
        return;
      }
      const isArray = Array.isArray(value);
      if (!isArray && !isPlainJsonObject(value)) refuse(walk.place, path, 'must be plain JSON (no Dates, Maps or class instances)', true);
      if (walk.onPath.has(value)) refuse(walk.place, path, 'must be JSON without cycles', true);
      if (depth >= walk.maxDepth) {
        refuse(walk.place, path, `is nested more than ${walk.maxDepth} levels deep (the limit set by ${envName('limits', 'jsonMaxDepth')})`);
      }
      walk.onPath.add(value);
      count(walk, 2);
      let members = 0;
      if (isArray) {
        for (let i = 0; i < value.length; i++) {
          if (value[i] === undefined) refuse(walk.place, `${path}[${i}]`, 'must be JSON: arrays cannot hold undefined', true);
          if (members++ > 0) count(walk, 1);
          walkValue(walk, value[i], `${path}[${i}]`, depth + 1);
        }
      } else {
        for (const [key, item] of Object.entries(value)) {
          // JSON.stringify leaves out undefined members, and so does the stored value.
          if (item === undefined) continue;
          const at = keyPath(path, key);
          if (members++ > 0) count(walk, 1);
          countString(walk, key, at);
          count(walk, 1);
          walkValue(walk, item, at, depth + 1);
        }
      }
      walk.onPath.delete(value);
      return;
    }
    default:
      refuse(walk.place, path, `must be JSON, got ${typeof value}`, true);
  }
}

function isPlainJsonObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is JSON PostgreSQL's JSONB can store and within the
 * limits: finite numbers, plain objects and arrays only, no cycles, no NUL
 * characters or lone surrogates in strings or keys, nested at most
 * `jsonMaxDepth` levels, and at most `jsonMaxBytes` bytes of JSON text. The
 * size is counted as the walk goes, so a huge or deep value is refused
 * without ever being serialised. Returns the size in bytes, exactly
 * `Buffer.byteLength(JSON.stringify(value))`.
 */
export function assertJsonWithinLimits(value: unknown, place: Place): number {
  const walk: Walk = {
    place,
    maxBytes: inputLimits().jsonMaxBytes,
    maxDepth: inputLimits().jsonMaxDepth,
    bytes: 0,
    onPath: new Set(),
  };
  walkValue(walk, value, '', 0);
  return walk.bytes;
}
