/**
 * Criteria keys: StackStorm's JSONPath subset (dots, indexes, quoted names,
 * [*]), the `#` tag, the `trigger.` root and its `event.payload.` alias,
 * what a path that finds nothing yields, and the limits.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { CRITERIA_KEY_LIMITS, criterionValue, lookupPath, matchCriteria, parseCriteriaKey } from '../../../src/rules/criteria/index.js';

const PAYLOAD = {
  body: { action: 'opened', labels: ['urgent', 'p1'], 'x-y': 'hyphen', count: 0, empty: null },
  headers: { 'X-Custom-Header': 'customvalue', 'a.b': 'dotted', "it's": 'quote' },
  items: [{ id: 1 }, { id: 2 }, { id: 3 }],
  matrix: [
    [1, 2],
    [3, 4],
  ],
};

const value = (key: string) => criterionValue(parseCriteriaKey(key), PAYLOAD);

describe('criteria key lookup', () => {
  it.each([
    ['trigger.body.action', 'opened'],
    ['event.payload.body.action', 'opened'],
    ['trigger.body.labels[0]', 'urgent'],
    ['trigger.body.labels[-1]', 'p1'],
    ['trigger.body.labels[ 1 ]', 'p1'],
    ['trigger.body.x-y', 'hyphen'],
    ["trigger.headers['X-Custom-Header']", 'customvalue'],
    ['trigger.headers["a.b"]', 'dotted'],
    ["trigger.headers['it\\'s']", 'quote'],
    ["trigger['body']['action']", 'opened'],
    ['trigger.items[1].id', 2],
    ['trigger.items[*].id', 1], // several values: the first is compared
    ['trigger.matrix[1][0]', 3],
    ['trigger.body.count', 0],
  ])('%s → %j', (key, expected) => {
    expect(value(key)).toEqual(expected);
  });

  it('yields the whole payload for the bare root', () => {
    expect(value('trigger')).toBe(PAYLOAD);
    expect(value('event.payload')).toBe(PAYLOAD);
  });

  it.each([
    'trigger.nothing',
    'trigger.body.action.deeper',
    'trigger.body.labels[2]',
    'trigger.body.labels[-3]',
    'trigger.body.labels.first',
    'trigger.body[0]',
    'trigger.items[*].missing',
    'trigger.body.empty',
    'trigger.body.constructor',
    'trigger.body.__proto__',
    'trigger.body.toString',
  ])('%s finds nothing: null, like a JSON null', (key) => {
    expect(value(key)).toBeNull();
  });

  it('fans out with [*] over lists and .* over objects', () => {
    expect(lookupPath(parseCriteriaKey('trigger.items[*].id'), PAYLOAD)).toEqual([1, 2, 3]);
    expect(lookupPath(parseCriteriaKey('trigger.headers.*'), PAYLOAD)).toEqual(['customvalue', 'dotted', 'quote']);
    expect(lookupPath(parseCriteriaKey('trigger.matrix[*][1]'), PAYLOAD)).toEqual([2, 4]);
  });

  it('strips everything from the first # as a tag, so one field takes two criteria', () => {
    expect(parseCriteriaKey('trigger.body.labels#urgent')).toMatchObject({ tag: 'urgent', segments: [{ name: 'body' }, { name: 'labels' }] });
    expect(parseCriteriaKey('trigger.a#b#c').tag).toBe('b#c');
    expect(parseCriteriaKey('trigger.a').tag).toBeNull();
    const result = matchCriteria(
      {
        'trigger.body.labels#urgent': { type: 'contains', pattern: 'urgent' },
        'trigger.body.labels#p1': { type: 'contains', pattern: 'p1' },
        'trigger.body.labels#p2': { type: 'ncontains', pattern: 'p2' },
      },
      PAYLOAD,
    );
    expect(result.matched).toBe(true);
    expect(result.criteria.map((c) => c.key)).toEqual(['trigger.body.labels#urgent', 'trigger.body.labels#p1', 'trigger.body.labels#p2']);
  });

  it('reads item keys under search with the item root', () => {
    expect(criterionValue(parseCriteriaKey('item.id', 'item'), { id: 7 })).toBe(7);
    expect(() => parseCriteriaKey('trigger.id', 'item')).toThrow(/must start with 'item\.'/);
    expect(() => parseCriteriaKey('trigger.id', 'event' as never)).toThrow(/unknown key root "event"/);
  });
});

describe('criteria key errors', () => {
  it.each([
    ['body.action', /must start with 'trigger\.' or 'event\.payload\.'/],
    ['payload.x', /must start with 'trigger\.'/],
    ['triggers.x', /must start with 'trigger\.'/],
    ['', /must start with/],
    ['#tag', /must start with/],
    ['trigger.', /ends with a dot/],
    ['trigger..x', /recursive descent/],
    ['trigger.a b', /unexpected " " at position 9/],
    ['trigger.a.$x', /unexpected "\$"/],
    ['trigger.a[0', /never closed/],
    ["trigger.a['x]", /quoted name .* never closed/],
    ["trigger.a['x'", /expected '\]'/],
    ['trigger.a[x]', /\[x\] .* is not an index/],
    ['trigger.a[1:2]', /is not an index/],
    ['trigger.a)', /unexpected "\)"/],
  ])('%j is refused: %s', (key, message) => {
    let thrown: unknown;
    try {
      parseCriteriaKey(key);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).message).toMatch(message);
    expect((thrown as ValidationError).field).toBe('criteria');
  });

  it('bounds the key length and the number of steps', () => {
    expect(() => parseCriteriaKey(`trigger.${'a'.repeat(CRITERIA_KEY_LIMITS.maxLength)}`)).toThrow(/characters long; the limit is 1024/);
    expect(() => parseCriteriaKey(`trigger${'.a'.repeat(CRITERIA_KEY_LIMITS.maxSegments)}`)).not.toThrow();
    expect(() => parseCriteriaKey(`trigger${'.a'.repeat(CRITERIA_KEY_LIMITS.maxSegments + 1)}`)).toThrow(/more than 64 steps/);
  });

  it('makes a bad key a false criterion with the reason, and goes on with the others', () => {
    const result = matchCriteria({ 'body.action': { type: 'exists' }, 'trigger.body.action': { type: 'eq', pattern: 'opened' } }, PAYLOAD);
    expect(result.matched).toBe(false);
    expect(result.criteria[0]).toMatchObject({ matched: false, error: expect.stringMatching(/must start with 'trigger\.'/) });
    expect(result.criteria[1]).toMatchObject({ matched: true });
  });
});
