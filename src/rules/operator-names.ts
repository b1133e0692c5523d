/**
 * The criteria operators of StackStorm rules (rules.md), as data: each
 * canonical name with its aliases and what its `pattern` must be. Names are
 * matched case-insensitively, as StackStorm does. The pack reader checks
 * names with this; the rule engine builds evaluation on the same list.
 */

/** What a criterion's `pattern` is for an operator. */
export type PatternKind =
  /** Any value; compared as written (or rendered when a template). */
  | 'value'
  /** A regular expression in Python syntax. */
  | 'regex'
  /** A shell-style wildcard. */
  | 'wildcard'
  /** A number of seconds. */
  | 'seconds'
  /** No pattern: `exists` / `nexists`. */
  | 'none'
  /** Nested criteria applied to each item of a list (`search`). */
  | 'criteria';

export interface OperatorName {
  /** The canonical, long name. */
  name: string;
  aliases: readonly string[];
  pattern: PatternKind;
}

/** StackStorm's 24 operators, in the order rules.md lists them. */
export const OPERATORS: readonly OperatorName[] = [
  { name: 'equals', aliases: ['eq'], pattern: 'value' },
  { name: 'nequals', aliases: ['neq'], pattern: 'value' },
  { name: 'iequals', aliases: ['ieq'], pattern: 'value' },
  { name: 'lessthan', aliases: ['lt'], pattern: 'value' },
  { name: 'greaterthan', aliases: ['gt'], pattern: 'value' },
  { name: 'matchwildcard', aliases: [], pattern: 'wildcard' },
  { name: 'regex', aliases: [], pattern: 'regex' },
  { name: 'iregex', aliases: [], pattern: 'regex' },
  { name: 'matchregex', aliases: [], pattern: 'regex' },
  { name: 'contains', aliases: [], pattern: 'value' },
  { name: 'ncontains', aliases: [], pattern: 'value' },
  { name: 'icontains', aliases: [], pattern: 'value' },
  { name: 'incontains', aliases: [], pattern: 'value' },
  { name: 'startswith', aliases: [], pattern: 'value' },
  { name: 'istartswith', aliases: [], pattern: 'value' },
  { name: 'endswith', aliases: [], pattern: 'value' },
  { name: 'iendswith', aliases: [], pattern: 'value' },
  { name: 'timediff_lt', aliases: ['td_lt'], pattern: 'seconds' },
  { name: 'timediff_gt', aliases: ['td_gt'], pattern: 'seconds' },
  { name: 'exists', aliases: [], pattern: 'none' },
  { name: 'nexists', aliases: [], pattern: 'none' },
  { name: 'inside', aliases: ['in'], pattern: 'value' },
  { name: 'ninside', aliases: ['nin'], pattern: 'value' },
  { name: 'search', aliases: [], pattern: 'criteria' },
];

/** The conditions of `search`: how item matches combine. */
export const SEARCH_CONDITIONS = ['any', 'all', 'any2any', 'all2any'] as const;
export type SearchCondition = (typeof SEARCH_CONDITIONS)[number];

const BY_NAME = new Map<string, OperatorName>();
for (const operator of OPERATORS) {
  BY_NAME.set(operator.name, operator);
  for (const alias of operator.aliases) BY_NAME.set(alias, operator);
}

/** Every accepted spelling (canonical names and aliases), lower case. */
export const OPERATOR_SPELLINGS: readonly string[] = [...BY_NAME.keys()].sort();

/** The operator a name (or alias, any case) stands for, or undefined when there is none. */
export function resolveOperatorName(name: string): OperatorName | undefined {
  return typeof name === 'string' ? BY_NAME.get(name.toLowerCase()) : undefined;
}
