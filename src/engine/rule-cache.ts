/**
 * The rules role's cache of what matching reads on every event: the enabled
 * rules of active pack versions per trigger ref, and actions by ref. Rules
 * and actions change rarely and events arrive often, so each process keeps
 * them and drops everything when PostgreSQL says something changed (NOTIFY
 * on `attune_rules_changed`, sent per statement by triggers on rules,
 * actions, triggers and packs) or when the listener reconnects (a
 * notification may have been missed).
 */
import type { Executor } from '../db/pool.js';
import type { NotificationListener } from '../db/listener.js';
import { ActionRepository, type Action } from '../repositories/actions.js';
import { RuleRepository, type Rule } from '../repositories/rules.js';

/** The channel the schema notifies when rules, actions, triggers or packs change. */
export const RULES_CHANGED_CHANNEL = 'attune_rules_changed';

/** Rules per trigger ref and actions per ref, dropped on any change. */
export class RuleCache {
  #rules = new Map<string, readonly Rule[]>();
  #actions = new Map<string, Action | null>();
  /** Bumped by every invalidation: a load that started before one is not kept. */
  #generation = 0;
  #invalidations = 0;

  /** How many times the cache was dropped (for logs and tests). */
  get invalidations(): number {
    return this.#invalidations;
  }

  /** Drops everything; the next lookups read the database again. */
  invalidate(): void {
    this.#generation += 1;
    this.#invalidations += 1;
    this.#rules = new Map();
    this.#actions = new Map();
  }

  /** Listens for changes on `listener`; returns the function that stops listening. */
  async attach(listener: NotificationListener): Promise<() => Promise<void>> {
    return listener.listen(RULES_CHANGED_CHANNEL, () => this.invalidate());
  }

  /** The enabled rules of active pack versions on each of `triggerRefs`, in id order. */
  async rulesFor(db: Executor, triggerRefs: Iterable<string>): Promise<Map<string, readonly Rule[]>> {
    const found = new Map<string, readonly Rule[]>();
    const generation = this.#generation;
    for (const ref of new Set(triggerRefs)) {
      let rules = this.#rules.get(ref);
      if (rules === undefined) {
        rules = Object.freeze(await RuleRepository.listEnabledForTrigger(db, ref));
        if (generation === this.#generation) this.#rules.set(ref, rules);
      }
      found.set(ref, rules);
    }
    return found;
  }

  /** The action with each ref in the active version of its pack, or null when there is none. */
  async actionsFor(db: Executor, actionRefs: Iterable<string>): Promise<Map<string, Action | null>> {
    const found = new Map<string, Action | null>();
    const generation = this.#generation;
    for (const ref of new Set(actionRefs)) {
      let action = this.#actions.get(ref);
      if (action === undefined) {
        action = await ActionRepository.findByRef(db, ref);
        if (generation === this.#generation) this.#actions.set(ref, action);
      }
      found.set(ref, action);
    }
    return found;
  }
}
