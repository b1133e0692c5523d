/**
 * One rule against one event, as the rules role and `attune rule test` both
 * need it: trigger parameters, criteria, then (when they match) the action,
 * the rendered parameters and their validation. Pure: everything it reads
 * (the action, the key store, the pack configuration) is loaded beforehand.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SecretCipher } from '../crypto/secrets.js';
import { isAttuneError } from '../errors.js';
import type { Action } from '../repositories/actions.js';
import type { JsonObject } from '../repositories/packs.js';
import type { Rule } from '../repositories/rules.js';
import { matchCriteria, type CriteriaMatch, type MatchCriteriaOptions } from '../rules/criteria/index.js';
import { prepareActionParameters, SharedValues, type ActionParameterPlan, type ActionParameterSchema, type KeyStoreView } from '../rules/templates/index.js';
import { prepareExecutionParams, type PreparedParams } from './request-execution.js';

/** The user StackStorm's rule enforcements run as, in `action_context.user`. */
export const RULES_ENGINE_USER = 'attune';

/** The event as a rule sees it. */
export interface EvaluatedEvent {
  /** Null for a payload tested by hand (`attune rule test --payload`). */
  id: number | null;
  triggerRef: string;
  payload: JsonObject;
  triggerParams: JsonObject;
  createdAt: Date;
}

/** What evaluating a rule needs besides the rule and the event. */
export interface RuleEnvironment {
  /** The rule's action in the active version of its pack, or null when there is none. */
  action: Action | null;
  /** System keys and the rule's pack's keys. */
  keys?: KeyStoreView | undefined;
  /** The action's pack configuration (`config`, `config_context`); {} when not loaded. */
  packConfig?: JsonObject;
  cipher?: SecretCipher | undefined;
  now?: () => Date | number;
  /**
   * The event's template values (`eventTemplateValues(event)`), made once
   * per event and shared by every rule evaluated against it, so the payload
   * is converted for templates once rather than once per rule. Made here
   * when absent.
   */
  eventValues?: SharedValues | undefined;
  /**
   * Where the rule's parameters, prepared for rendering against this
   * `action` (prepareActionParameters), are kept between evaluations: the
   * rules role keeps one per batch, so each rule is prepared once and
   * rendered for every event. Without one they are prepared every time.
   */
  parameterPlans?: ParameterPlans | undefined;
}

/** Prepared rule parameters by rule, for the actions the rules were evaluated with (RuleEnvironment.parameterPlans). */
export type ParameterPlans = Map<Rule, { action: Action; plan: ActionParameterPlan }>;

/** How a rule fared against an event. */
export type RuleOutcome =
  /** The rule's trigger parameters differ from the event's: the rule is not about this event. */
  | { kind: 'other-trigger-params' }
  /** The criteria did not hold. */
  | { kind: 'no-match'; criteria: CriteriaMatch }
  /** Matched; an execution is to be requested with these parameters. */
  | { kind: 'request'; criteria: CriteriaMatch; action: Action; params: PreparedParams }
  /** Matched, but the action is disabled: an enforcement `disabled` with the reason. */
  | { kind: 'disabled'; criteria: CriteriaMatch; error: string }
  /** Matched, but the action is missing or its parameters failed: an enforcement `failed` with the reason. */
  | { kind: 'failed'; criteria: CriteriaMatch; error: string; field?: string | undefined };

/**
 * Triggers whose parameters are the trigger itself: a timer's parameters are
 * its schedule, so a rule matches only the ticks of a schedule with exactly
 * its parameters (as in StackStorm, where each parameter set is a trigger of
 * its own), not those of another timer that has the same ones and more (a
 * time zone, catch_up).
 */
const EXACT_PARAMS_TRIGGERS: ReadonlySet<string> = new Set(['core.st2.IntervalTimer', 'core.st2.CronTimer', 'core.st2.DateTimer']);

/**
 * True when every trigger parameter the rule gives equals the event's
 * (a webhook rule's `url`, say); a rule with none matches every event of its
 * trigger. With `exact`, the event may hold no parameter the rule lacks.
 */
export function triggerParamsMatch(ruleParams: JsonObject, eventParams: JsonObject, exact = false): boolean {
  if (exact && Object.keys(eventParams).some((name) => !Object.hasOwn(ruleParams, name))) return false;
  for (const [name, value] of Object.entries(ruleParams)) {
    if (!Object.hasOwn(eventParams, name) || !isDeepStrictEqual(value, eventParams[name])) return false;
  }
  return true;
}

/** The template context of a rule firing on an event (rules.md: what a template sees). */
export function templateValues(rule: Rule, event: EvaluatedEvent, packConfig: JsonObject): Record<string, unknown> {
  return { ...eventValuesOf(event), ...ruleValues(rule, event, packConfig) };
}

/** The part of the template context that is the event's own, the same for every rule: `trigger` and `event`. */
function eventValuesOf(event: EvaluatedEvent): Record<string, unknown> {
  return {
    trigger: event.payload,
    event: {
      id: event.id,
      trigger: event.triggerRef,
      payload: event.payload,
      trigger_params: event.triggerParams,
      created_at: event.createdAt.toISOString(),
    },
  };
}

/** The event's template values, to be converted once and shared by every rule evaluated against it (RuleEnvironment.eventValues). */
export function eventTemplateValues(event: EvaluatedEvent): SharedValues {
  return new SharedValues(eventValuesOf(event));
}

/** The part of the template context that is the rule's: `rule`, the pack configuration and `action_context`. */
function ruleValues(rule: Rule, event: EvaluatedEvent, packConfig: JsonObject): Record<string, unknown> {
  return {
    rule: { ref: rule.ref, name: rule.name, pack: rule.packRef },
    config: packConfig,
    config_context: packConfig,
    action_context: { user: RULES_ENGINE_USER, rule: rule.ref, trigger_instance: event.id === null ? null : String(event.id) },
  };
}

/** Evaluates `rule` against `event` (see RuleOutcome). Never throws for a rule's own faults. */
export function evaluateRule(rule: Rule, event: EvaluatedEvent, env: RuleEnvironment): RuleOutcome {
  if (!triggerParamsMatch(rule.triggerParams, event.triggerParams, EXACT_PARAMS_TRIGGERS.has(rule.triggerRef))) return { kind: 'other-trigger-params' };
  const shared = env.eventValues ?? eventTemplateValues(event);
  const values = ruleValues(rule, event, env.packConfig ?? {});
  // Options set one by one, not spread: this runs for every rule and event.
  const criteriaOptions: MatchCriteriaOptions = { context: { rule: values.rule }, shared };
  if (env.keys) criteriaOptions.keys = env.keys;
  if (env.now) criteriaOptions.now = env.now;
  const criteria = matchCriteria(rule.criteria, event.payload, criteriaOptions);
  if (!criteria.matched) return { kind: 'no-match', criteria };
  const action = env.action;
  if (action === null) return { kind: 'failed', criteria, error: `action '${rule.actionRef}' names no action in the active version of its pack`, field: 'actionRef' };
  if (!action.enabled) {
    return { kind: 'disabled', criteria, error: `action '${action.ref}' is disabled${action.disabledReason ? `: ${action.disabledReason}` : ''}` };
  }
  try {
    const { params } = parameterPlan(rule, action, env.parameterPlans).render({ values, shared, keyStore: env.keys });
    return { kind: 'request', criteria, action, params: prepareExecutionParams(action, params, env.cipher) };
  } catch (error) {
    // Whatever went wrong is this rule's failure, recorded on its enforcement; the other rules still fire.
    if (isAttuneError(error)) return { kind: 'failed', criteria, error: error.message, field: error.field };
    return { kind: 'failed', criteria, error: error instanceof Error ? error.message || error.name : String(error) };
  }
}

/** The rule's parameters prepared for `action`: kept in `plans` when given (and reused while the action is the same object). */
function parameterPlan(rule: Rule, action: Action, plans: ParameterPlans | undefined): ActionParameterPlan {
  const kept = plans?.get(rule);
  if (kept !== undefined && kept.action === action) return kept.plan;
  const plan = prepareActionParameters(rule.actionParams, action.paramSchema as ActionParameterSchema);
  plans?.set(rule, { action, plan });
  return plan;
}

/** Whether a rule's templates (its parameters, or its action's defaults) read the pack configuration. */
export function readsPackConfig(rule: Rule, action: Action | null): boolean {
  const text = JSON.stringify(rule.actionParams) + (action ? JSON.stringify(action.paramSchema) : '');
  return /\bconfig(_context)?\b/.test(text) && /\{[{%]/.test(text);
}

/** Whether a rule's templates could read the key store (`st2kv`, `keys`). */
export function readsKeyStore(rule: Rule, action: Action | null): boolean {
  const text = JSON.stringify(rule.criteria) + JSON.stringify(rule.actionParams) + (action ? JSON.stringify(action.paramSchema) : '');
  return /\b(st2kv|keys)\b/.test(text);
}
