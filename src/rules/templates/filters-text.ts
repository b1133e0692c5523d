/**
 * StackStorm's regex and version filters. Patterns use Python's syntax
 * (translated by python-regex.ts; what cannot be translated is an error, not
 * a different match). Versions are semantic versions (semver 2.0.0), compared
 * as python-semver compares them: build metadata ignored, a pre-release
 * below its release.
 */
import { compilePythonRegex } from '../python-regex.js';
import { booleanArg, stringArg, textOf, type FilterDefinition } from './filter-types.js';
import type { Json } from './values.js';

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_SIZE = 500;

function regexFor(filter: string, pattern: Json | undefined, ignoreCase: boolean, extraFlags: string): RegExp {
  const source = stringArg(filter, 'pattern', pattern);
  const key = `${ignoreCase ? 'i' : '-'}${extraFlags}:${source}`;
  let regex = regexCache.get(key);
  if (regex === undefined) {
    let compiled: RegExp;
    try {
      compiled = compilePythonRegex(source, { ignoreCase });
    } catch (error) {
      throw new Error(`${filter}: ${(error as Error).message}`);
    }
    regex = new RegExp(compiled.source, compiled.flags + extraFlags);
    if (regexCache.size >= REGEX_CACHE_SIZE) regexCache.delete(regexCache.keys().next().value!);
    regexCache.set(key, regex);
  }
  regex.lastIndex = 0;
  return regex;
}

/**
 * Python's `re.sub` replacement text as a function of a match: `\1`…`\99`,
 * `\g<n>`, `\g<name>`, the escapes `\n` `\t` `\r` `\f` `\v` `\a` `\b` `\0` `\\`;
 * other escapes of ASCII letters are errors (as in Python), other
 * characters after a backslash stay as written.
 */
function pythonReplacement(replacement: string): (match: RegExpExecArray) => string {
  const parts: (string | ((match: RegExpExecArray) => string))[] = [];
  const group = (reference: string) => {
    const index = /^\d+$/.test(reference) ? Number(reference) : null;
    return (match: RegExpExecArray) => {
      const value = index === null ? match.groups?.[reference] : match[index];
      if (index === null && (match.groups === undefined || !(reference in match.groups))) throw new Error(`regex_replace: unknown group name '${reference}'`);
      if (index !== null && index >= match.length) throw new Error(`regex_replace: invalid group reference ${index}`);
      return value ?? '';
    };
  };
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '0': '\0', '\\': '\\' };
  let text = '';
  for (let at = 0; at < replacement.length; at += 1) {
    const char = replacement[at]!;
    if (char !== '\\' || at + 1 >= replacement.length) {
      text += char;
      continue;
    }
    const next = replacement[at + 1]!;
    const digits = /^[1-9]\d?/.exec(replacement.slice(at + 1));
    const named = /^g<([^>]*)>/.exec(replacement.slice(at + 1));
    if (digits !== null || named !== null) {
      parts.push(text);
      text = '';
      parts.push(group(digits !== null ? digits[0] : named![1]!));
      at += (digits !== null ? digits[0] : named![0]).length;
    } else if (next in escapes) {
      text += escapes[next];
      at += 1;
    } else if (/[A-Za-z]/.test(next)) {
      throw new Error(`regex_replace: bad escape \\${next} in the replacement`);
    } else {
      text += `\\${next}`;
      at += 1;
    }
  }
  parts.push(text);
  return (match) => parts.map((part) => (typeof part === 'string' ? part : part(match))).join('');
}

function allMatches(regex: RegExp, text: string, limit: number): RegExpExecArray[] {
  const matches: RegExpExecArray[] = [];
  for (const match of text.matchAll(regex)) {
    matches.push(match);
    if (matches.length > limit) throw new Error(`more than ${limit} matches`);
  }
  return matches;
}

export const REGEX_FILTERS: Record<string, FilterDefinition> = {
  regex_match: {
    params: ['pattern', 'ignorecase'],
    required: 1,
    apply: (input, [pattern, ignoreCase]) => regexFor('regex_match', pattern, booleanArg('regex_match', 'ignorecase', ignoreCase), 'y').test(textOf(input)),
  },
  regex_search: {
    params: ['pattern', 'ignorecase'],
    required: 1,
    apply: (input, [pattern, ignoreCase]) => regexFor('regex_search', pattern, booleanArg('regex_search', 'ignorecase', ignoreCase), '').test(textOf(input)),
  },
  regex_replace: {
    params: ['pattern', 'replacement', 'ignorecase'],
    required: 2,
    apply: (input, [pattern, replacement, ignoreCase], env) => {
      const regex = regexFor('regex_replace', pattern, booleanArg('regex_replace', 'ignorecase', ignoreCase), 'g');
      const text = textOf(input);
      const replace = pythonReplacement(stringArg('regex_replace', 'replacement', replacement));
      let result = '';
      let last = 0;
      for (const match of allMatches(regex, text, env.maxOutput)) {
        result += text.slice(last, match.index) + replace(match);
        last = match.index + match[0].length;
        if (result.length > env.maxOutput) throw new Error(`regex_replace: the result exceeds ${env.maxOutput} characters`);
      }
      return result + text.slice(last);
    },
  },
  regex_substring: {
    params: ['pattern', 'result_index', 'ignorecase'],
    required: 1,
    apply: (input, [pattern, resultIndex, ignoreCase], env) => {
      const regex = regexFor('regex_substring', pattern, booleanArg('regex_substring', 'ignorecase', ignoreCase), 'g');
      const index = resultIndex === undefined || resultIndex === null ? 0 : resultIndex;
      if (typeof index !== 'number' || !Number.isInteger(index)) throw new Error('regex_substring: result_index must be a whole number');
      // Python's re.findall: whole matches without groups, the group with one, tuples with several.
      const found = allMatches(regex, textOf(input), env.maxOutput).map((match): Json =>
        match.length === 1 ? match[0] : match.length === 2 ? (match[1] ?? '') : match.slice(1).map((group) => group ?? ''),
      );
      const item = found.at(index);
      if (item === undefined) throw new Error(`regex_substring: no match at index ${index} (${found.length} found)`);
      return item;
    },
  },
};

interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** A semantic version, or an error naming the filter (never the value, which may be secret). */
export function parseVersion(filter: string, value: Json | undefined): SemVer {
  const match = typeof value === 'string' ? SEMVER.exec(value) : null;
  if (match === null) throw new Error(`${filter}: not a semantic version (MAJOR.MINOR.PATCH)`);
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]), prerelease: match[4] === undefined ? [] : match[4].split('.') };
}

/** -1, 0 or 1, by semver 2.0.0 precedence (build metadata ignored). */
export function compareVersions(a: SemVer, b: SemVer): number {
  for (const key of ['major', 'minor', 'patch'] as const) if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  for (let index = 0; index < Math.max(a.prerelease.length, b.prerelease.length); index += 1) {
    const left = a.prerelease[index];
    const right = b.prerelease[index];
    if (left === undefined) return -1;
    if (right === undefined) return 1;
    if (left === right) continue;
    const leftNumeric = /^\d+$/.test(left);
    const rightNumeric = /^\d+$/.test(right);
    if (leftNumeric && rightNumeric) return Number(left) < Number(right) ? -1 : 1;
    if (leftNumeric !== rightNumeric) return leftNumeric ? -1 : 1;
    return left < right ? -1 : 1;
  }
  return 0;
}

const compare = (filter: string, value: Json, other: Json | undefined) => compareVersions(parseVersion(filter, value), parseVersion(filter, other));
const bump = (filter: string, value: Json, part: 'major' | 'minor' | 'patch'): string => {
  const { major, minor, patch } = parseVersion(filter, value);
  if (part === 'major') return `${major + 1}.0.0`;
  if (part === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
};

const MATCH_OPERATORS: Record<string, (order: number) => boolean> = {
  '>=': (order) => order >= 0,
  '<=': (order) => order <= 0,
  '==': (order) => order === 0,
  '!=': (order) => order !== 0,
  '>': (order) => order > 0,
  '<': (order) => order < 0,
};

export const VERSION_FILTERS: Record<string, FilterDefinition> = {
  version_compare: { params: ['pattern'], required: 1, apply: (input, [other]) => compare('version_compare', input, other) },
  version_more_than: { params: ['pattern'], required: 1, apply: (input, [other]) => compare('version_more_than', input, other) === 1 },
  version_less_than: { params: ['pattern'], required: 1, apply: (input, [other]) => compare('version_less_than', input, other) === -1 },
  version_equal: { params: ['pattern'], required: 1, apply: (input, [other]) => compare('version_equal', input, other) === 0 },
  version_match: {
    params: ['pattern'],
    required: 1,
    apply: (input, [pattern]) => {
      const expression = stringArg('version_match', 'pattern', pattern);
      const operator = /^(>=|<=|==|!=|>|<)/.exec(expression)?.[0];
      if (operator === undefined) throw new Error('version_match: the pattern must start with one of >=, <=, ==, !=, >, <');
      return MATCH_OPERATORS[operator]!(compare('version_match', input, expression.slice(operator.length).trim()));
    },
  },
  version_bump_major: { params: [], apply: (input) => bump('version_bump_major', input, 'major') },
  version_bump_minor: { params: [], apply: (input) => bump('version_bump_minor', input, 'minor') },
  version_bump_patch: { params: [], apply: (input) => bump('version_bump_patch', input, 'patch') },
  version_strip_patch: {
    params: [],
    apply: (input) => {
      const { major, minor } = parseVersion('version_strip_patch', input);
      return `${major}.${minor}`;
    },
  },
};
