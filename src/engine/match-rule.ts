/**
 * `matchRule`, behind `attune rule test`: a rule against a payload or a
 * stored event, evaluated exactly as the rules role would (trigger
 * parameters, criteria, the action, the rendered parameters and their
 * validation), with nothing written.
 */
import type { SecretCipher } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { ValidationError } from '../errors.js';
import { resolvePackConfig } from '../packs/pack-config.js';
import { ActionRepository } from '../repositories/actions.js';
import { EventRepository } from '../repositories/events.js';
import type { JsonObject } from '../repositories/packs.js';
import { RuleRepository, type Rule } from '../repositories/rules.js';
import type { CriterionResult } from '../rules/criteria/index.js';
import { evaluateRule, readsPackConfig, type EvaluatedEvent } from './evaluate-rule.js';
import { loadKeyStoreView } from './key-store-loader.js';

/** What to test the rule against: a payload (and the trigger parameters it fired with), or a stored event. */
export type RuleTestSubject = { payload: JsonObject; triggerParams?: JsonObject } | { eventId: number };

export interface MatchRuleOptions {
  /** Decrypts secret keys for `decrypt_kv` and encrypts secret parameters, as the engine would. */
  cipher?: SecretCipher | undefined;
  /** The clock for `timediff_*`. */
  now?: () => Date | number;
}

/** The verdict of `matchRule`. */
export interface RuleTestResult {
  rule: string;
  /** A disabled rule is evaluated all the same; the engine would skip it. */
  enabled: boolean;
  /** The stored event tested, or null for a payload. */
  eventId: number | null;
  /** False when the rule's trigger parameters differ from the event's (the criteria are then not evaluated). */
  triggerParamsMatched: boolean;
  /** True when the engine would write an enforcement (trigger parameters and criteria hold). */
  matched: boolean;
  /** Each criterion's verdict (matchCriteria's result). */
  criteria: CriterionResult[];
  action: string;
  /** The parameters the execution would get, secrets masked; absent when not matched or when they fail. */
  params?: JsonObject;
  /** Why the matched rule could not request its action: a missing or disabled action, a template, a cast, a parameter. */
  error?: string;
  /** What the enforcement would be: processed (an execution requested), failed or disabled; absent when not matched. */
  enforcementStatus?: 'processed' | 'failed' | 'disabled';
}

/**
 * Evaluates `rule` (a ref, through the active version of its pack, or a
 * rule) against `subject`. Reads only: keys, pack configuration, the action,
 * the event. NotFoundError for a ref or event id that names nothing;
 * ValidationError when the stored event fired another trigger.
 */
export async function matchRule(db: Executor, rule: string | Rule, subject: RuleTestSubject, options: MatchRuleOptions = {}): Promise<RuleTestResult> {
  const theRule = typeof rule === 'string' ? await RuleRepository.getByRef(db, rule) : rule;
  const event = await subjectEvent(db, theRule, subject);
  const action = await ActionRepository.findByRef(db, theRule.actionRef);
  const keys = await loadKeyStoreView(db, theRule.packRef, options.cipher);
  let packConfig: JsonObject = {};
  let configError: string | undefined;
  if (action !== null && readsPackConfig(theRule, action)) {
    try {
      packConfig = await withTransaction(db, (tx) => resolvePackConfig(tx, action.packRef, { cipher: options.cipher }));
    } catch (error) {
      configError = `the configuration of pack '${action.packRef}' cannot be read: ${(error as Error).message}`;
    }
  }
  const outcome = evaluateRule(theRule, event, { action, keys, packConfig, cipher: options.cipher, ...(options.now ? { now: options.now } : {}) });
  const result: RuleTestResult = {
    rule: theRule.ref,
    enabled: theRule.enabled,
    eventId: event.id,
    triggerParamsMatched: outcome.kind !== 'other-trigger-params',
    matched: outcome.kind !== 'other-trigger-params' && outcome.kind !== 'no-match',
    criteria: outcome.kind === 'other-trigger-params' ? [] : outcome.criteria.criteria,
    action: theRule.actionRef,
  };
  if (configError !== undefined && (outcome.kind === 'request' || outcome.kind === 'failed')) {
    return { ...result, error: configError, enforcementStatus: 'failed' };
  }
  if (outcome.kind === 'request') return { ...result, params: outcome.params.masked, enforcementStatus: 'processed' };
  if (outcome.kind === 'failed' || outcome.kind === 'disabled') return { ...result, error: outcome.error, enforcementStatus: outcome.kind };
  return result;
}

async function subjectEvent(db: Executor, rule: Rule, subject: RuleTestSubject): Promise<EvaluatedEvent> {
  if (subject === null || typeof subject !== 'object') throw new ValidationError('rule test needs { payload } or { eventId }', { entity: 'ruleTest', field: 'payload' });
  if ('eventId' in subject) {
    const event = await EventRepository.getById(db, subject.eventId);
    if (event.triggerRef !== rule.triggerRef) {
      throw new ValidationError(`event ${event.id} fired ${event.triggerRef}, but rule ${rule.ref} listens to ${rule.triggerRef}`, {
        entity: 'ruleTest',
        field: 'eventId',
        value: event.id,
      });
    }
    return event;
  }
  const payload = subject.payload;
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ValidationError('rule test payload must be an object', { entity: 'ruleTest', field: 'payload' });
  }
  const triggerParams = subject.triggerParams ?? rule.triggerParams;
  return { id: null, triggerRef: rule.triggerRef, payload, triggerParams, createdAt: new Date() };
}
