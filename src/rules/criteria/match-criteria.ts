/**
 * `matchCriteria`: a rule's criteria against an event payload, the way
 * StackStorm's rules engine evaluates them, reporting every criterion's
 * verdict (for the rules role, and for `attune rule test` to show why a rule
 * did or did not match). Pure: nothing is read or written but the inputs.
 */
import { ValidationError } from '../../errors.js';
import { resolveOperatorName, SEARCH_CONDITIONS, type SearchCondition } from '../operator-names.js';
import { containsTemplate } from '../template-syntax.js';
import { renderTemplate, type KeyStoreView, type SharedValues, type TemplateContext } from '../templates/index.js';
import { criterionValue, parseCriteriaKey, type KeyRoot } from './key-path.js';
import { combineSearch, OPERATOR_FUNCTIONS, type OperatorEnvironment } from './operators.js';
import { jsonTypeName } from './python-values.js';

/** One criterion's verdict. */
export interface CriterionResult {
  /** The key as written in the rule, tag included. */
  key: string;
  /** The operator's canonical name (`eq` is reported as `equals`); as written when unknown. */
  operator: string;
  /** The pattern compared against, after template rendering (null when absent). */
  pattern: unknown;
  /** What the key found in the payload; null when it found nothing. */
  value: unknown;
  matched: boolean;
  /** Why the criterion could not be evaluated (it is then false). */
  error?: string;
  /** For `search`: each list item's verdict on the nested criteria. */
  items?: SearchItemResult[];
}

/** One list item under `search`. */
export interface SearchItemResult {
  matched: boolean;
  criteria: CriterionResult[];
}

/** The verdict on a rule's criteria: `matched` when every criterion holds. */
export interface CriteriaMatch {
  matched: boolean;
  criteria: CriterionResult[];
}

/** What a criterion reports as its pattern when the template decrypted a secret. */
export const MASKED_PATTERN = '********';

/** Renders a criteria pattern holding `{{ }}`; the default is the template engine's `renderTemplate`. */
export type PatternRenderer = (template: string, context: TemplateContext) => unknown;

export interface MatchCriteriaOptions {
  /** The key store behind `st2kv.system.*` / `keys.*` in patterns; without one every key renders ''. */
  keys?: KeyStoreView;
  /** The clock for `timediff_lt` / `timediff_gt`; default the system clock. */
  now?: () => Date | number;
  /** Further names patterns may use (`event`, `rule`, …); `trigger` is always the payload. */
  context?: Readonly<Record<string, unknown>>;
  /**
   * Names converted for templates once and shared by many evaluations (the
   * rules role's, per event: `trigger` and `event`), so a pattern template
   * does not convert the payload again for every rule. `context` hides a
   * name given here too; a shared `trigger` is used only when it is this
   * payload. A `renderPattern` of your own then finds these names in the
   * context's `shared`, not in its `values`.
   */
  shared?: SharedValues;
  /** Replaces the template engine (tests, tools). */
  renderPattern?: PatternRenderer;
}

/** How deep `search` may nest inside `search`. */
export const MAX_SEARCH_DEPTH = 8;

interface Evaluation {
  env: OperatorEnvironment;
  render: PatternRenderer;
  keys: KeyStoreView | undefined;
  extras: Readonly<Record<string, unknown>>;
  shared: SharedValues | undefined;
  payload: unknown;
}

/**
 * Evaluates `criteria` (a rule's `criteria` mapping: key → `{type, pattern,
 * condition?}`) against `payload`. No criteria, or `{}`, matches. Otherwise
 * every criterion must hold; all are evaluated and reported, even after one
 * fails. A criterion that cannot be evaluated (an unknown operator, a bad key,
 * a pattern that fails to render, inputs its operator cannot compare) is
 * false with an `error`; nothing is thrown for it. Throws ValidationError only
 * when `criteria` itself is not a mapping.
 */
export function matchCriteria(criteria: unknown, payload: unknown, options: MatchCriteriaOptions = {}): CriteriaMatch {
  if (criteria === null || criteria === undefined) return { matched: true, criteria: [] };
  if (!isMapping(criteria)) {
    throw new ValidationError(`criteria must be a mapping of key to {type, pattern}, got a ${jsonTypeName(criteria)}`, { entity: 'rule', field: 'criteria' });
  }
  const evaluation: Evaluation = {
    env: { now: options.now ? clockInMillis(options.now) : Date.now },
    render: options.renderPattern ?? renderTemplate,
    keys: options.keys,
    extras: options.context ?? {},
    shared: options.shared,
    payload: payload === undefined ? null : payload,
  };
  const results = evaluateAll(criteria, evaluation, 'trigger', evaluation.payload, 0);
  return { matched: allMatched(results), criteria: results };
}

function clockInMillis(clock: () => Date | number): () => number {
  return () => {
    const now = clock();
    return now instanceof Date ? now.getTime() : now;
  };
}

// Loops rather than callbacks here and below: this runs for every rule and event.
function allMatched(results: readonly CriterionResult[]): boolean {
  for (const result of results) if (!result.matched) return false;
  return true;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function evaluateAll(criteria: Record<string, unknown>, evaluation: Evaluation, root: KeyRoot, rootValue: unknown, depth: number): CriterionResult[] {
  const results: CriterionResult[] = [];
  for (const key of Object.keys(criteria)) results.push(evaluateOne(key, criteria[key], evaluation, root, rootValue, depth));
  return results;
}

/** `result` as a criterion that could not be evaluated. */
function failedWith(result: CriterionResult, error: string): CriterionResult {
  return { ...result, matched: false, error };
}

function evaluateOne(key: string, spec: unknown, evaluation: Evaluation, root: KeyRoot, rootValue: unknown, depth: number): CriterionResult {
  const result: CriterionResult = { key, operator: '', pattern: null, value: null, matched: false };
  if (!isMapping(spec)) return failedWith(result, `a criterion is a mapping {type, pattern}, got a ${jsonTypeName(spec)}`);
  const type = spec.type;
  result.operator = typeof type === 'string' ? type : '';
  if (typeof type !== 'string') return failedWith(result, type === undefined ? "the criterion has no 'type' (its operator)" : `'type' must be an operator name, got a ${jsonTypeName(type)}`);
  const operator = resolveOperatorName(type);
  if (operator === undefined) return failedWith(result, `unknown operator '${type}'`);
  result.operator = operator.name;

  try {
    result.value = criterionValue(parseCriteriaKey(key, root), rootValue);
  } catch (error) {
    return failedWith(result, (error as Error).message);
  }

  if (operator.name === 'search') {
    result.pattern = spec.pattern ?? null;
    return search(result, spec, evaluation, depth);
  }

  try {
    result.pattern = renderPattern(spec.pattern, evaluation, root, rootValue);
  } catch (error) {
    return failedWith(result, `the pattern could not be rendered: ${(error as Error).message}`);
  }

  let refusal: string | undefined;
  try {
    result.matched = OPERATOR_FUNCTIONS[operator.name]!(result.value, result.pattern, evaluation.env);
  } catch (error) {
    refusal = (error as Error).message;
  }
  // The verdict used the real value; the report must not show a decrypted secret, in the pattern or in a reason quoting it.
  if (typeof spec.pattern === 'string' && spec.pattern.includes('decrypt_kv')) {
    result.pattern = MASKED_PATTERN;
    if (refusal !== undefined) refusal = `${operator.name} cannot compare the value with the decrypted pattern (the reason is withheld: it could show the secret)`;
  }
  return refusal === undefined ? result : failedWith(result, refusal);
}

/**
 * A string pattern holding template syntax is rendered (one expression keeps
 * its type); anything else is used as written, as StackStorm does.
 */
function renderPattern(pattern: unknown, evaluation: Evaluation, root: KeyRoot, rootValue: unknown): unknown {
  if (pattern === undefined || pattern === null) return null;
  if (typeof pattern !== 'string' || !containsTemplate(pattern)) return pattern;
  const { extras, shared, payload } = evaluation;
  const values: Record<string, unknown> = { ...extras };
  // The shared conversion of the payload serves when it is this payload; otherwise the payload is `trigger` here.
  if (shared === undefined || shared.values.trigger !== payload || Object.hasOwn(extras, 'trigger')) values.trigger = payload;
  if (root === 'item') values.item = rootValue;
  const context: TemplateContext = { values, keyStore: evaluation.keys, shared };
  const rendered = evaluation.render(pattern, context);
  return rendered === undefined ? null : rendered;
}

/**
 * `search`: the nested criteria (keys under `item`) applied to each item of
 * the list the key found; an object is taken as a one-item list, as
 * StackStorm does. Every item and criterion is evaluated, for the report.
 */
function search(result: CriterionResult, spec: Record<string, unknown>, evaluation: Evaluation, depth: number): CriterionResult {
  const failed = (error: string): CriterionResult => ({ ...result, matched: false, error });
  const condition = spec.condition;
  if (typeof condition !== 'string' || !(SEARCH_CONDITIONS as readonly string[]).includes(condition)) {
    return failed(`search needs 'condition' ${SEARCH_CONDITIONS.join(', ')}; got ${condition === undefined ? 'none' : JSON.stringify(condition)}`);
  }
  if (!isMapping(spec.pattern)) return failed(`the pattern of search is a mapping of item criteria (item.<path>: {type, pattern}), got a ${jsonTypeName(spec.pattern)}`);
  if (depth >= MAX_SEARCH_DEPTH) return failed(`search nests more than ${MAX_SEARCH_DEPTH} levels deep`);
  const list = Array.isArray(result.value) ? result.value : isMapping(result.value) ? [result.value] : null;
  if (list === null) return failed(`search needs a list (or an object, taken as a one-item list), got a ${jsonTypeName(result.value)}`);

  const pattern = spec.pattern;
  const perCriterion = condition === 'any' || condition === 'all' ? 'every' : 'some';
  const items: SearchItemResult[] = list.map((item) => {
    const criteria = evaluateAll(pattern, evaluation, 'item', item, depth + 1);
    const matched = perCriterion === 'every' ? criteria.every((c) => c.matched) : criteria.some((c) => c.matched);
    return { matched, criteria };
  });
  const verdicts = items.map((item) => item.criteria.map((c) => c.matched));
  return { ...result, matched: combineSearch(condition as SearchCondition, verdicts), items };
}
