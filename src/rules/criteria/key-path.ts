/**
 * Criteria keys: paths into the event payload, as StackStorm writes them
 * (a JSONPath subset). `trigger.body.action` descends objects by name;
 * `[0]` and `[-1]` index lists (from the end when negative); `['X-Header']`
 * and `["a.b"]` take names with any characters; bare names may hold letters,
 * digits, `_`, `@` and `-`; `[*]` yields every item of a list and `.*` every
 * value of an object. Everything from the first `#` is a tag, ignored for the
 * lookup (two criteria on one field need two distinct keys). Top-level keys
 * start with `trigger` (`event.payload` is Attune's alias for it); the item
 * criteria of `search` start with `item`.
 */
import { ValidationError } from '../../errors.js';

/** One step of a path. */
export type PathSegment = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'all' };

/** Where a path starts: the payload, or one item of the list `search` walks. */
export type KeyRoot = 'trigger' | 'item';

/** A parsed criteria key. */
export interface CriteriaKeyPath {
  /** The key as written, tag included. */
  key: string;
  /** The text after the first `#`, or null. */
  tag: string | null;
  root: KeyRoot;
  segments: PathSegment[];
}

/** Bounds on a key, so a hostile rule cannot make parsing or lookup costly. */
export const CRITERIA_KEY_LIMITS = Object.freeze({ maxLength: 1024, maxSegments: 64 });

const BARE_NAME = /^[\p{L}\p{N}_@-]+/u;
const ROOT_SPELLINGS: Record<KeyRoot, string[]> = { trigger: ['trigger', 'event.payload'], item: ['item'] };

/** Parsed keys by root, keyed by the key itself (a concatenated cache key would cost more than the lookup saves). */
const caches: Record<KeyRoot, Map<string, CriteriaKeyPath>> = { trigger: new Map(), item: new Map() };
const CACHE_LIMIT = 2000;

/**
 * Parses a criteria key. Throws ValidationError (field `criteria`, the key
 * as value) naming what is wrong and where: a wrong root, an unclosed
 * bracket, an unsupported construct, a key past the limits.
 */
export function parseCriteriaKey(key: string, root: KeyRoot = 'trigger'): CriteriaKeyPath {
  const cache = caches[root];
  const cached = cache?.get(key);
  if (cached !== undefined) return cached;
  const parsed = parse(key, root);
  if (cache === undefined) return parsed;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, parsed);
  return parsed;
}

function fail(key: string, message: string): never {
  throw new ValidationError(`criteria key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)}: ${message}`, {
    entity: 'rule',
    field: 'criteria',
    value: key.length > 200 ? `${key.slice(0, 200)}…` : key,
  });
}

function parse(key: string, root: KeyRoot): CriteriaKeyPath {
  if (typeof key !== 'string') fail(String(key), 'must be a string');
  if (key.length > CRITERIA_KEY_LIMITS.maxLength) fail(key, `is ${key.length} characters long; the limit is ${CRITERIA_KEY_LIMITS.maxLength}`);
  const hash = key.indexOf('#');
  const tag = hash === -1 ? null : key.slice(hash + 1);
  const path = hash === -1 ? key : key.slice(0, hash);
  const spellings = Object.hasOwn(ROOT_SPELLINGS, root) ? ROOT_SPELLINGS[root] : fail(key, `unknown key root ${JSON.stringify(root)}`);
  const spelling = spellings.find((prefix) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`));
  if (spelling === undefined) {
    const expected = spellings.map((prefix) => `'${prefix}.'`).join(' or ');
    fail(key, `must start with ${expected}${root === 'item' ? ' (inside search, a key is a path into each item of the list)' : ' (a key is a path into the trigger payload)'}`);
  }
  const segments: PathSegment[] = [];
  let i = spelling.length;
  while (i < path.length) {
    if (segments.length >= CRITERIA_KEY_LIMITS.maxSegments) fail(key, `has more than ${CRITERIA_KEY_LIMITS.maxSegments} steps`);
    const char = path[i];
    if (char === '.') {
      i++;
      if (path[i] === '.') fail(key, `recursive descent '..' (at position ${i - 1}) is not supported`);
      if (path[i] === '*') {
        segments.push({ kind: 'all' });
        i++;
        continue;
      }
      const name = BARE_NAME.exec(path.slice(i))?.[0];
      if (name === undefined) fail(key, i >= path.length ? 'ends with a dot' : `unexpected ${JSON.stringify(path[i])} at position ${i}; quote names with other characters: ['name']`);
      segments.push({ kind: 'name', name });
      i += name.length;
    } else if (char === '[') {
      i = readBracket(key, path, i, segments);
    } else {
      fail(key, `unexpected ${JSON.stringify(char)} at position ${i}; steps are .name, [index], ['name'] or [*]`);
    }
  }
  return { key, tag, root, segments };
}

/** Reads `[…]` at `start` into `segments`; returns the position after `]`. */
function readBracket(key: string, path: string, start: number, segments: PathSegment[]): number {
  let i = start + 1;
  const quote = path[i];
  if (quote === "'" || quote === '"') {
    let name = '';
    i++;
    while (i < path.length && path[i] !== quote) {
      if (path[i] === '\\' && i + 1 < path.length) i++;
      name += path[i];
      i++;
    }
    if (i >= path.length) fail(key, `the quoted name opened at position ${start + 1} is never closed`);
    i++;
    if (path[i] !== ']') fail(key, `expected ']' at position ${i}`);
    segments.push({ kind: 'name', name });
    return i + 1;
  }
  const close = path.indexOf(']', i);
  if (close === -1) fail(key, `the '[' at position ${start} is never closed`);
  const inner = path.slice(i, close).trim();
  if (inner === '*') segments.push({ kind: 'all' });
  else if (/^-?\d{1,9}$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
  else fail(key, `[${inner}] at position ${start} is not an index, [*] or a quoted name`);
  return close + 1;
}

/**
 * Every value the path reaches from `rootValue` (the payload, or a list item).
 * A step that finds nothing drops that branch; `[*]` and `.*` fan out.
 */
export function lookupPath(path: CriteriaKeyPath, rootValue: unknown): unknown[] {
  let current: unknown[] = [rootValue];
  for (const segment of path.segments) {
    const next: unknown[] = [];
    for (const value of current) step(segment, value, next);
    if (next.length === 0) return next;
    current = next;
  }
  return current;
}

function step(segment: PathSegment, value: unknown, out: unknown[]): void {
  if (segment.kind === 'name') {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, segment.name)) {
      out.push((value as Record<string, unknown>)[segment.name]);
    }
  } else if (segment.kind === 'index') {
    if (Array.isArray(value)) {
      const index = segment.index < 0 ? value.length + segment.index : segment.index;
      if (index >= 0 && index < value.length) out.push(value[index]);
    }
  } else if (Array.isArray(value)) {
    out.push(...value);
  } else if (typeof value === 'object' && value !== null) {
    out.push(...Object.values(value));
  }
}

/**
 * The value a criterion compares: the first value the path reaches, or null
 * when it reaches none (a missing field and a JSON null are the same).
 */
export function criterionValue(path: CriteriaKeyPath, rootValue: unknown): unknown {
  if (!path.segments.some((segment) => segment.kind === 'all')) return walkSingle(path.segments, rootValue);
  const found = lookupPath(path, rootValue);
  return found.length === 0 || found[0] === undefined ? null : found[0];
}

/** The one value a path without `[*]` reaches, without building lists (the common case). */
function walkSingle(segments: PathSegment[], rootValue: unknown): unknown {
  let value = rootValue;
  for (const segment of segments) {
    if (segment.kind === 'name') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, segment.name)) return null;
      value = (value as Record<string, unknown>)[segment.name];
    } else if (segment.kind === 'index' && Array.isArray(value)) {
      const index = segment.index < 0 ? value.length + segment.index : segment.index;
      if (index < 0 || index >= value.length) return null;
      value = value[index];
    } else {
      return null;
    }
  }
  return value === undefined ? null : value;
}
