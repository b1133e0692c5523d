/**
 * matchCriteria with the event's values shared (the rules role evaluates
 * every rule of an event against one conversion of its payload): pattern
 * templates read them without converting the payload again, and give what
 * they give without sharing.
 */
import { describe, expect, it } from 'vitest';
import { matchCriteria } from '../../../src/rules/criteria/index.js';
import { SharedValues } from '../../../src/rules/templates/index.js';

/** A payload whose `limit` counts how often it is read: converting the payload for templates reads it once. */
function countingPayload(): { payload: Record<string, unknown>; reads: () => number } {
  let reads = 0;
  const payload: Record<string, unknown> = { count: 3, pairs: [{ a: 1, b: 1 }] };
  Object.defineProperty(payload, 'limit', {
    enumerable: true,
    get: () => {
      reads += 1;
      return 5;
    },
  });
  return { payload, reads: () => reads };
}

const CRITERIA = { 'trigger.count': { type: 'lessthan', pattern: '{{ trigger.limit }}' }, 'trigger.count#2': { type: 'equals', pattern: '{{ event.id }}' } };

describe('matchCriteria with shared values', () => {
  it('converts the payload once for the pattern templates of many rules', () => {
    const { payload, reads } = countingPayload();
    const shared = new SharedValues({ trigger: payload, event: { id: 3 } });
    for (let rule = 0; rule < 5; rule++) {
      const result = matchCriteria(CRITERIA, payload, { shared, context: { rule: { ref: `p.r${rule}` } } });
      expect(result.matched).toBe(true);
      expect(result.criteria.map((c) => c.pattern)).toEqual([5, 3]);
    }
    expect(reads()).toBe(1);
  });

  it('gives what the same names give without sharing', () => {
    const { payload } = countingPayload();
    const shared = matchCriteria(CRITERIA, payload, { shared: new SharedValues({ trigger: payload, event: { id: 3 } }) });
    const unshared = matchCriteria(CRITERIA, payload, { context: { event: { id: 3 } } });
    expect(shared).toEqual(unshared);
  });

  it('reads `trigger` from the payload it is given when the shared one is another object', () => {
    const shared = new SharedValues({ trigger: { limit: 1 }, event: { id: 3 } });
    const result = matchCriteria({ 'trigger.count': { type: 'lessthan', pattern: '{{ trigger.limit }}' } }, { count: 3, limit: 5 }, { shared });
    expect(result.criteria[0]).toMatchObject({ matched: true, pattern: 5 });
  });

  it('lets the context hide a shared name, and gives search items `item`', () => {
    const { payload } = countingPayload();
    const shared = new SharedValues({ trigger: payload, event: { id: 99 } });
    expect(matchCriteria({ 'trigger.count': { type: 'equals', pattern: '{{ event.id }}' } }, payload, { shared, context: { event: { id: 3 } } }).matched).toBe(true);
    const search = matchCriteria({ 'trigger.pairs': { type: 'search', condition: 'all', pattern: { 'item.a': { type: 'equals', pattern: '{{ item.b }}' } } } }, payload, { shared });
    expect(search.matched).toBe(true);
  });
});
