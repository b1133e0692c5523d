/**
 * The match step of the rules role: a claimed batch of events against the
 * enabled rules of active packs on their triggers, turned into the
 * enforcement records `writeEnforcements` writes. It loads what the rules
 * need once per batch: rules and actions from the cache, the key store only
 * when some rule's templates name it, each action pack's configuration only
 * when some template reads it.
 */
import type { SecretCipher } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import type { Action } from '../repositories/actions.js';
import type { Event } from '../repositories/events.js';
import type { JsonObject } from '../repositories/packs.js';
import type { Rule } from '../repositories/rules.js';
import { resolvePackConfig } from '../packs/pack-config.js';
import type { KeyStoreView } from '../rules/templates/index.js';
import { evaluateRule, eventTemplateValues, readsKeyStore, readsPackConfig, type ParameterPlans, type RuleOutcome } from './evaluate-rule.js';
import { loadKeyStoreViews } from './key-store-loader.js';
import type { RuleCache } from './rule-cache.js';
import type { EnforcementRecord } from './write-enforcements.js';

/** What matching needs besides the events. */
export interface MatchDependencies {
  cache: RuleCache;
  cipher?: SecretCipher | undefined;
  now?: () => Date | number;
}

/** A rule that matched an event but could not run, for the log. */
export interface RuleFailure {
  ruleRef: string;
  eventId: number;
  status: 'failed' | 'disabled';
  error: string;
}

/** The records to write and what they mean. */
export interface MatchResult {
  records: EnforcementRecord[];
  failures: RuleFailure[];
}

/** Matches every event of the batch against its trigger's rules. */
export async function matchEvents(db: Executor, events: readonly Event[], deps: MatchDependencies): Promise<MatchResult> {
  const rulesByTrigger = await deps.cache.rulesFor(db, events.map((event) => event.triggerRef));
  const rules = [...new Map([...rulesByTrigger.values()].flat().map((rule) => [rule.id, rule])).values()];
  if (rules.length === 0) return { records: [], failures: [] };
  const actions = await deps.cache.actionsFor(db, rules.map((rule) => rule.actionRef));
  const actionOf = (rule: Rule): Action | null => actions.get(rule.actionRef) ?? null;

  const keyPacks = rules.filter((rule) => readsKeyStore(rule, actionOf(rule))).map((rule) => rule.packRef);
  const keyViews = keyPacks.length > 0 ? await loadKeyStoreViews(db, keyPacks, deps.cipher) : new Map<string, KeyStoreView>();
  const configs = await loadPackConfigs(db, rules, actionOf, deps.cipher);

  const records: EnforcementRecord[] = [];
  const failures: RuleFailure[] = [];
  // Each rule's parameters prepared once for the batch, rendered for every event.
  const parameterPlans: ParameterPlans = new Map();
  for (const event of events) {
    // Converted for templates once, read by every rule of the event.
    const eventValues = eventTemplateValues(event);
    for (const rule of rulesByTrigger.get(event.triggerRef) ?? []) {
      const action = actionOf(rule);
      const config = action ? configs.get(action.packRef) : undefined;
      let outcome: RuleOutcome = evaluateRule(rule, event, {
        action,
        keys: keyViews.get(rule.packRef),
        packConfig: config instanceof Error || config === undefined ? {} : config,
        cipher: deps.cipher,
        eventValues,
        parameterPlans,
        now: deps.now,
      });
      if (config instanceof Error && (outcome.kind === 'request' || outcome.kind === 'failed')) {
        outcome = { kind: 'failed', criteria: outcome.criteria, error: `the configuration of pack '${action!.packRef}' cannot be read: ${config.message}` };
      }
      const record = recordOf(rule, event, outcome);
      if (record === null) continue;
      records.push(record);
      if (record.status !== 'processed') failures.push({ ruleRef: rule.ref, eventId: event.id, status: record.status, error: record.error ?? '' });
    }
  }
  return { records, failures };
}

function recordOf(rule: Rule, event: Event, outcome: RuleOutcome): EnforcementRecord | null {
  // Each record written out whole, one shape for all (no spread of a shared part): one per rule and event.
  switch (outcome.kind) {
    case 'other-trigger-params':
    case 'no-match':
      return null;
    case 'request':
      return {
        ruleId: rule.id,
        ruleRef: rule.ref,
        eventId: event.id,
        status: 'processed',
        resolvedParams: outcome.params.masked,
        error: null,
        execution: { actionId: outcome.action.id, params: outcome.params.params, traceId: event.traceId },
      };
    case 'disabled':
    case 'failed':
      return { ruleId: rule.id, ruleRef: rule.ref, eventId: event.id, status: outcome.kind, resolvedParams: {}, error: outcome.error };
  }
}

/**
 * The configuration of each action pack a rule's templates read (an Error in
 * place of one that cannot be read: that pack's rules fail, not the batch).
 */
async function loadPackConfigs(
  db: Executor,
  rules: readonly Rule[],
  actionOf: (rule: Rule) => Action | null,
  cipher: SecretCipher | undefined,
): Promise<Map<string, JsonObject | Error>> {
  const configs = new Map<string, JsonObject | Error>();
  for (const rule of rules) {
    const action = actionOf(rule);
    if (action === null || configs.has(action.packRef) || !readsPackConfig(rule, action)) continue;
    try {
      // In a savepoint: a failed read must not abort the batch's transaction.
      configs.set(action.packRef, await withTransaction(db, (tx) => resolvePackConfig(tx, action.packRef, { cipher })));
    } catch (error) {
      configs.set(action.packRef, error instanceof Error ? error : new Error(String(error)));
    }
  }
  return configs;
}
