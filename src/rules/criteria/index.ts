/**
 * Rule criteria: `matchCriteria` evaluates a rule's criteria against an event
 * payload with StackStorm's operators and reports each criterion's verdict.
 */
export { matchCriteria, MAX_SEARCH_DEPTH } from './match-criteria.js';
export type { CriteriaMatch, CriterionResult, SearchItemResult, MatchCriteriaOptions, PatternRenderer } from './match-criteria.js';
export { parseCriteriaKey, lookupPath, criterionValue, CRITERIA_KEY_LIMITS } from './key-path.js';
export type { CriteriaKeyPath, PathSegment, KeyRoot } from './key-path.js';
export { OPERATOR_FUNCTIONS, combineSearch } from './operators.js';
export type { OperatorFunction, OperatorEnvironment } from './operators.js';
export { OperatorInputError, pythonEquals, pythonCompare, pythonContains } from './python-values.js';
export { matchWildcard, wildcardToRegExp } from './wildcard.js';
export { parseTimestamp } from './dates.js';
