/**
 * The JSONPath subset `jsonpath_query` understands (StackStorm used
 * jsonpath-rw): an optional `$` root, `a.b` fields, `'odd key'` or
 * `["odd key"]` quoted fields, `*` every child, `..name` and `..*` every
 * descendant, `[n]` (negative counts from the end), `[*]`, `[a:b]` slices and
 * `[n,m]` unions. Filter expressions (`[?(…)]`) are not supported and are
 * refused. Results follow document order.
 */
import type { Json } from './values.js';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'descendants' }
  | { kind: 'indexes'; indexes: number[] }
  | { kind: 'slice'; start: number | null; end: number | null };

/** Parses a query; throws naming the position when it cannot. */
export function parseJsonPath(query: string): Step[] {
  const steps: Step[] = [];
  let at = 0;
  const fail = (message: string): never => {
    throw new Error(`jsonpath_query: ${message} at position ${at} of the query`);
  };
  const skipSpaces = () => {
    while (query[at] === ' ') at += 1;
  };
  const readName = (): string => {
    const quote = query[at];
    if (quote === '"' || quote === "'") {
      const end = query.indexOf(quote, at + 1);
      if (end < 0) fail('an unclosed quote');
      const name = query.slice(at + 1, end);
      at = end + 1;
      return name;
    }
    const match = /^[^.[\]\s'"*]+/.exec(query.slice(at));
    if (match === null) return fail('a field name expected');
    at += match[0].length;
    return match[0];
  };
  const readInteger = (): number | null => {
    const match = /^\s*(-?\d+)\s*/.exec(query.slice(at));
    if (match === null) return null;
    at += match[0].length;
    return Number(match[1]);
  };
  skipSpaces();
  if (query[at] === '$') at += 1;
  let first = steps.length === 0 && at === 0;
  while (at < query.length) {
    const char = query[at];
    if (char === '.' && query[at + 1] === '.') {
      at += 2;
      steps.push({ kind: 'descendants' });
      first = true;
      continue;
    }
    if (char === '.') {
      at += 1;
      first = true;
      continue;
    }
    if (char === '[') {
      at += 1;
      skipSpaces();
      if (query[at] === '?' || query[at] === '(') fail('filter expressions are not supported');
      if (query[at] === '*') {
        at += 1;
        steps.push({ kind: 'wildcard' });
      } else if (query[at] === '"' || query[at] === "'") {
        steps.push({ kind: 'field', name: readName() });
      } else {
        const start = readInteger();
        if (query[at] === ':') {
          at += 1;
          steps.push({ kind: 'slice', start, end: readInteger() });
        } else {
          if (start === null) fail('an index, a slice, * or a quoted name expected');
          const indexes = [start!];
          while (query[at] === ',') {
            at += 1;
            const next = readInteger();
            if (next === null) fail('an index expected after a comma');
            indexes.push(next!);
          }
          steps.push({ kind: 'indexes', indexes });
        }
      }
      skipSpaces();
      if (query[at] !== ']') fail("']' expected");
      at += 1;
      first = false;
      continue;
    }
    if (!first) fail("'.' or '[' expected");
    if (char === '*') {
      at += 1;
      steps.push({ kind: 'wildcard' });
    } else {
      steps.push({ kind: 'field', name: readName() });
    }
    first = false;
  }
  return steps;
}

/** The values `query` selects in `data`, at most `limit` nodes visited (throws past it). */
export function queryJsonPath(data: Json, query: string, limit: number): Json[] {
  let visited = 0;
  const visit = () => {
    visited += 1;
    if (visited > limit) throw new Error(`jsonpath_query: the query visits more than ${limit} values`);
  };
  let current: Json[] = [data];
  for (const step of parseJsonPath(query)) {
    const next: Json[] = [];
    for (const node of current) {
      visit();
      if (step.kind === 'descendants') {
        const walk = (value: Json) => {
          visit();
          next.push(value);
          for (const child of childrenOf(value)) walk(child);
        };
        walk(node);
      } else if (step.kind === 'field') {
        if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, step.name)) next.push(node[step.name]!);
      } else if (step.kind === 'wildcard') {
        next.push(...childrenOf(node));
      } else if (Array.isArray(node)) {
        if (step.kind === 'indexes') {
          for (const index of step.indexes) {
            const item = node.at(index);
            if (item !== undefined) next.push(item);
          }
        } else {
          const clamp = (value: number | null, fallback: number) => (value === null ? fallback : value < 0 ? Math.max(node.length + value, 0) : Math.min(value, node.length));
          next.push(...node.slice(clamp(step.start, 0), clamp(step.end, node.length)));
        }
      }
    }
    current = next;
  }
  return current;
}

function childrenOf(value: Json): Json[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') return Object.values(value);
  return [];
}
