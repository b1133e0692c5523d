/**
 * StackStorm's criteria operators, one function each, with StackStorm's
 * semantics (st2common's operators, run under Python 3): `value` is what the
 * key found in the payload (null when nothing), `pattern` the criterion's
 * pattern after rendering. A null pattern makes every operator false except
 * `nequals` (`value != None`), `exists` and `nexists`, which ignore it.
 * Inputs an operator cannot compare throw OperatorInputError, where Python
 * would raise; the matcher reports that as a false criterion with the reason.
 *
 * `search` is not here: it evaluates nested criteria, so the matcher runs it,
 * combining the item verdicts with `combineSearch`.
 */
import { compilePythonRegex } from '../python-regex.js';
import type { SearchCondition } from '../operator-names.js';
import { parseTimestamp } from './dates.js';
import { jsonTypeName, OperatorInputError, pythonCompare, pythonContains, pythonEquals, requireString } from './python-values.js';
import { matchWildcard } from './wildcard.js';

/** What operators may need besides their inputs. */
export interface OperatorEnvironment {
  /** Milliseconds since the epoch, for timediff. */
  now: () => number;
}

/** One operator: true when the value satisfies the pattern. */
export type OperatorFunction = (value: unknown, pattern: unknown, env: OperatorEnvironment) => boolean;

const lower = (value: unknown, role: 'value' | 'pattern', operator: string) => requireString(value, role, operator).toLowerCase();

/** Wraps a two-argument test with StackStorm's "a null pattern never matches". */
function patterned(test: (value: unknown, pattern: unknown, env: OperatorEnvironment) => boolean): OperatorFunction {
  return (value, pattern, env) => (pattern === null || pattern === undefined ? false : test(value, pattern, env));
}

/** Compiled patterns, one cache per flag combination, keyed by the pattern itself. */
const regexCaches = [new Map<string, RegExp>(), new Map<string, RegExp>(), new Map<string, RegExp>(), new Map<string, RegExp>()];
const REGEX_CACHE_LIMIT = 500;

/** A Python pattern compiled once; `anchored` is `re.match` (sticky at 0) with DOTALL, as `matchregex` uses. */
function pythonRegex(pattern: string, ignoreCase: boolean, anchored: boolean): RegExp {
  const regexCache = regexCaches[(ignoreCase ? 1 : 0) + (anchored ? 2 : 0)]!;
  let regex = regexCache.get(pattern);
  if (regex === undefined) {
    try {
      const compiled = compilePythonRegex(pattern, { ignoreCase, dotAll: anchored });
      regex = anchored ? new RegExp(compiled.source, `${compiled.flags}y`) : compiled;
    } catch (error) {
      throw new OperatorInputError(`the pattern is not a usable regular expression: ${(error as Error).message}`);
    }
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.delete(regexCache.keys().next().value!);
    regexCache.set(pattern, regex);
  }
  return regex;
}

function regexTest(operator: string, ignoreCase: boolean, anchored: boolean): OperatorFunction {
  return patterned((value, pattern) => {
    const regex = pythonRegex(requireString(pattern, 'pattern', operator), ignoreCase, anchored);
    const text = requireString(value, 'value', operator);
    regex.lastIndex = 0;
    return regex.test(text);
  });
}

function order(operator: string, value: unknown, pattern: unknown): number {
  try {
    return pythonCompare(value, pattern);
  } catch (error) {
    throw new OperatorInputError(`${operator} ${(error as Error).message} (the value is a ${jsonTypeName(value)}, the pattern a ${jsonTypeName(pattern)})`);
  }
}

function contains(operator: string, haystack: unknown, needle: unknown): boolean {
  try {
    return pythonContains(haystack, needle);
  } catch (error) {
    throw new OperatorInputError(`${operator}: ${(error as Error).message}`);
  }
}

/** Seconds from the payload's timestamp to now (negative when it lies in the future). */
function secondsSince(operator: string, value: unknown, pattern: unknown, env: OperatorEnvironment): { elapsed: number; limit: number } {
  if (typeof pattern !== 'number') throw new OperatorInputError(`${operator} needs a number of seconds as its pattern, got a ${jsonTypeName(pattern)}`);
  const text = requireString(value, 'value', operator);
  const at = parseTimestamp(text);
  if (at === null) throw new OperatorInputError(`${operator} cannot read ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} as a timestamp (ISO 8601 or RFC 2822)`);
  return { elapsed: (env.now() - at) / 1000, limit: pattern };
}

/** Every operator but `search`, by canonical name. */
export const OPERATOR_FUNCTIONS: Readonly<Record<string, OperatorFunction>> = Object.freeze({
  equals: patterned((value, pattern) => pythonEquals(value, pattern)),
  nequals: (value, pattern) => !pythonEquals(value, pattern),
  iequals: patterned((value, pattern) => lower(value, 'value', 'iequals') === lower(pattern, 'pattern', 'iequals')),
  lessthan: patterned((value, pattern) => order('lessthan', value, pattern) < 0),
  greaterthan: patterned((value, pattern) => order('greaterthan', value, pattern) > 0),
  matchwildcard: patterned((value, pattern) =>
    matchWildcard(requireString(value, 'value', 'matchwildcard'), requireString(pattern, 'pattern', 'matchwildcard')),
  ),
  regex: regexTest('regex', false, false),
  iregex: regexTest('iregex', true, false),
  matchregex: regexTest('matchregex', false, true),
  contains: patterned((value, pattern) => contains('contains', value, pattern)),
  ncontains: patterned((value, pattern) => !contains('ncontains', value, pattern)),
  icontains: patterned((value, pattern) => lower(value, 'value', 'icontains').includes(lower(pattern, 'pattern', 'icontains'))),
  incontains: patterned((value, pattern) => !lower(value, 'value', 'incontains').includes(lower(pattern, 'pattern', 'incontains'))),
  startswith: patterned((value, pattern) => requireString(value, 'value', 'startswith').startsWith(requireString(pattern, 'pattern', 'startswith'))),
  istartswith: patterned((value, pattern) => lower(value, 'value', 'istartswith').startsWith(lower(pattern, 'pattern', 'istartswith'))),
  endswith: patterned((value, pattern) => requireString(value, 'value', 'endswith').endsWith(requireString(pattern, 'pattern', 'endswith'))),
  iendswith: patterned((value, pattern) => lower(value, 'value', 'iendswith').endsWith(lower(pattern, 'pattern', 'iendswith'))),
  timediff_lt: patterned((value, pattern, env) => {
    const { elapsed, limit } = secondsSince('timediff_lt', value, pattern, env);
    return elapsed < limit;
  }),
  timediff_gt: patterned((value, pattern, env) => {
    const { elapsed, limit } = secondsSince('timediff_gt', value, pattern, env);
    return elapsed > limit;
  }),
  exists: (value) => value !== null && value !== undefined,
  nexists: (value) => value === null || value === undefined,
  inside: patterned((value, pattern) => contains('inside', pattern, value)),
  // A missing field is inside nothing, whatever the pattern (rules.md; Python would raise on a string pattern).
  ninside: patterned((value, pattern) => value === null || value === undefined || !contains('ninside', pattern, value)),
});

/**
 * `search`'s verdict from its item verdicts (one array of criterion verdicts
 * per list item): `any` — some item meets every criterion; `all` — every item
 * meets every criterion; `any2any` — some item meets some criterion;
 * `all2any` — every item meets some criterion. As in Python, `all` over an
 * empty list holds and `any` does not.
 */
export function combineSearch(condition: SearchCondition, items: readonly (readonly boolean[])[]): boolean {
  const everyCriterion = (verdicts: readonly boolean[]) => verdicts.every(Boolean);
  const someCriterion = (verdicts: readonly boolean[]) => verdicts.some(Boolean);
  switch (condition) {
    case 'any':
      return items.some(everyCriterion);
    case 'all':
      return items.every(everyCriterion);
    case 'any2any':
      return items.some(someCriterion);
    case 'all2any':
      return items.every(someCriterion);
  }
}
