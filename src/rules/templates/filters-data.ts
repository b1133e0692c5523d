/**
 * StackStorm's data filters: JSON and YAML in and out, `json_escape`,
 * `jsonpath_query`, `use_none`, the path filters and
 * `to_human_time_from_seconds`. Error messages never quote the input value:
 * it may be a decrypted secret.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { jsonText } from './json-text.js';
import { queryJsonPath } from './jsonpath.js';
import { booleanArg, stringArg, textOf, type FilterDefinition } from './filter-types.js';
import type { Json } from './values.js';

/** StackStorm's stand-in for None in rendered text; casting turns it back into null. */
export const NONE_MAGIC_VALUE = '%*****__%NONE%__*****%';

function indentArg(filter: string, value: Json | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') throw new Error(`${filter}: indent must be a number`);
  return value;
}

function separatorsArg(value: Json | undefined): readonly [string, string] {
  if (value === undefined || value === null) return [',', ': '];
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') {
    throw new Error('to_json_string: separators must be a pair of strings');
  }
  return [value[0], value[1]];
}

function parseJsonText(filter: string, value: Json): Json {
  try {
    return JSON.parse(textOf(value)) as Json;
  } catch {
    throw new Error(`${filter}: the value is not valid JSON`);
  }
}

/** Python's float `round` (half to even), which StackStorm applies to fractional seconds. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const SECONDS_PER_DAY = 86_400;

/**
 * StackStorm's `to_human_time_from_seconds`: seconds as `1y2d3h4m5s`, dropping
 * leading zero parts. StackStorm adds the seconds to 0001-01-01 and reads the
 * year and the day of the month, so whole months vanish (40 days reads
 * `9d…`); Attune keeps that output exactly.
 */
export function humanTimeFromSeconds(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds < 1) return `${String(seconds)}\u03bcs`;
  const whole = Number.isInteger(seconds) ? seconds : roundHalfEven(seconds);
  const days = Math.floor(whole / SECONDS_PER_DAY);
  let rest = whole - days * SECONDS_PER_DAY;
  const date = new Date(0);
  date.setUTCFullYear(1, 0, 1 + days);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) throw new Error('to_human_time_from_seconds: the value is beyond year 9999');
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const parts = [date.getUTCFullYear() - 1, date.getUTCDate() - 1, hours, minutes, rest - minutes * 60];
  const first = parts.findIndex((part) => part !== 0);
  if (first < 0) return '0s';
  const units = ['y', 'd', 'h', 'm', 's'];
  const kept = parts.slice(first);
  // StackStorm's layouts: 's', 'm s', 'h m s', 'd h m s', 'y d h m s' (units by how many parts remain).
  return kept.map((part, index) => `${part}${units[units.length - kept.length + index]}`).join('');
}

/** Python's os.path.basename (POSIX): everything after the last '/'. */
export function pythonBasename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Python's os.path.dirname (POSIX): up to the last '/', trailing slashes dropped unless all slashes. */
export function pythonDirname(path: string): string {
  const head = path.slice(0, path.lastIndexOf('/') + 1);
  return head !== '' && !/^\/+$/.test(head) ? head.replace(/\/+$/, '') : head;
}

export const DATA_FILTERS: Record<string, FilterDefinition> = {
  to_json_string: {
    params: ['indent', 'sort_keys', 'separators'],
    apply: (input, [indent, sortKeys, separators], env) =>
      jsonText(input, { indent: indentArg('to_json_string', indent), sortKeys: booleanArg('to_json_string', 'sort_keys', sortKeys), separators: separatorsArg(separators), ensureAscii: true }, env.maxOutput),
  },
  to_complex: {
    params: [],
    apply: (input, _args, env) => jsonText(input, { ensureAscii: true }, env.maxOutput),
  },
  from_json_string: {
    params: [],
    apply: (input) => parseJsonText('from_json_string', input),
  },
  to_yaml_string: {
    params: ['indent', 'allow_unicode'],
    apply: (input, [indent], env) => {
      const spaces = indentArg('to_yaml_string', indent) ?? 2;
      if (!Number.isInteger(spaces) || spaces < 2 || spaces > 9) throw new Error('to_yaml_string: indent must be a whole number from 2 to 9');
      const text = stringifyYaml(input, { indent: spaces, indentSeq: false, lineWidth: 0 });
      if (text.length > env.maxOutput) throw new Error(`to_yaml_string: the YAML text exceeds ${env.maxOutput} characters`);
      return text;
    },
  },
  from_yaml_string: {
    params: [],
    apply: (input) => {
      try {
        return parseYaml(textOf(input), { maxAliasCount: 100, uniqueKeys: false }) as Json;
      } catch (error) {
        const where = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
        throw new Error(`from_yaml_string: the value is not valid YAML${where ? ` (line ${where.line}, column ${where.col})` : ''}`);
      }
    },
  },
  json_escape: {
    params: [],
    apply: (input, _args, env) => jsonText(input, { ensureAscii: true }, env.maxOutput).replace(/^"+|"+$/g, ''),
  },
  jsonpath_query: {
    params: ['query'],
    required: 1,
    apply: (input, [query], env) => {
      const matches = queryJsonPath(input, stringArg('jsonpath_query', 'query', query), env.maxOutput);
      return matches.length === 0 ? null : matches;
    },
  },
  use_none: {
    params: [],
    apply: (input) => (input === null ? NONE_MAGIC_VALUE : input),
  },
  basename: {
    params: [],
    apply: (input) => pythonBasename(stringArg('basename', 'the value', input)),
  },
  dirname: {
    params: [],
    apply: (input) => pythonDirname(stringArg('dirname', 'the value', input)),
  },
  to_human_time_from_seconds: {
    params: [],
    apply: (input) => {
      if (typeof input !== 'number') throw new Error('to_human_time_from_seconds: the value must be a number of seconds');
      return humanTimeFromSeconds(input);
    },
  },
};
