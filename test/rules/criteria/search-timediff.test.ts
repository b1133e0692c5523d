/**
 * `search` (nested item criteria over a list, conditions any / all /
 * any2any / all2any, as StackStorm's documentation and operator definitions
 * describe them) and `timediff_lt` / `timediff_gt` with a fixed clock.
 */
import { describe, expect, it } from 'vitest';
import { matchCriteria, parseTimestamp } from '../../../src/rules/criteria/index.js';
import { check, MISSING } from './helpers.js';

const ISSUE_FIELDS = [
  { field_type: 'Custom', field_name: 'Status', to_value: 'Approved' },
  { field_type: 'Custom', field_name: 'Signed off by', to_value: 'Stanley' },
];

function search(condition: unknown, pattern: unknown, list: unknown) {
  return matchCriteria({ 'trigger.fields': { type: 'search', condition, pattern } }, { fields: list }).criteria[0]!;
}

describe('search', () => {
  const statusApproved = {
    'item.field_name': { type: 'equals', pattern: 'Status' },
    'item.to_value': { type: 'equals', pattern: 'Approved' },
  };

  it('any: some item meets every nested criterion', () => {
    expect(search('any', statusApproved, ISSUE_FIELDS).matched).toBe(true);
    const denied = [{ ...ISSUE_FIELDS[0], to_value: 'Denied' }, ISSUE_FIELDS[1]];
    expect(search('any', statusApproved, denied).matched).toBe(false);
  });

  it('all: every item meets every nested criterion', () => {
    const custom = { 'item.field_type': { type: 'equals', pattern: 'Custom' } };
    expect(search('all', custom, ISSUE_FIELDS).matched).toBe(true);
    expect(search('all', custom, [{ field_type: 'Built-in', field_name: 'Summary' }, ...ISSUE_FIELDS]).matched).toBe(false);
    expect(search('all', statusApproved, ISSUE_FIELDS).matched).toBe(false);
  });

  // Tags let several criteria look at the same field of an item.
  const levels = (items: number[]) => items.map((level) => ({ field_name: 'waterLevel', to_value: level }));

  it('any2any: some item meets some nested criterion', () => {
    const pattern = {
      'item.to_value#low': { type: 'lessthan', pattern: 40 },
      'item.to_value#high': { type: 'greaterthan', pattern: 50 },
    };
    expect(search('any2any', pattern, levels([30, 45])).matched).toBe(true);
    expect(search('any2any', pattern, levels([44, 45])).matched).toBe(false);
  });

  it('all2any: every item meets some nested criterion', () => {
    const pattern = {
      'item.to_value#1': { type: 'greaterthan', pattern: 40 },
      'item.to_value#2': { type: 'lessthan', pattern: 50 },
      'item.to_value#3': { type: 'equals', pattern: 46 },
    };
    expect(search('all2any', pattern, levels([45, 20])).matched).toBe(true);
    expect(search('all2any', { ...pattern, 'item.to_value#2': { type: 'greaterthan', pattern: 50 } }, levels([45, 20])).matched).toBe(false);
    // The same list under any: no single item is above 40, below 50 and equal to 46.
    expect(search('any', pattern, levels([45, 20])).matched).toBe(false);
    expect(search('any', pattern, levels([46, 20])).matched).toBe(true);
  });

  it('takes an object as a one-item list, and follows Python over an empty list', () => {
    const pattern = { 'item.to_value': { type: 'greaterthan', pattern: 40 } };
    expect(search('all', pattern, { field_name: 'waterLevel', to_value: 45 }).matched).toBe(true);
    expect(search('all', pattern, { field_name: 'waterLevel', to_value: 30 }).matched).toBe(false);
    expect(search('all', pattern, []).matched).toBe(true);
    expect(search('all2any', pattern, []).matched).toBe(true);
    expect(search('any', pattern, []).matched).toBe(false);
    expect(search('any2any', pattern, []).matched).toBe(false);
  });

  it('reports each item with its nested verdicts', () => {
    const result = search('any', statusApproved, ISSUE_FIELDS);
    expect(result.operator).toBe('search');
    expect(result.value).toEqual(ISSUE_FIELDS);
    expect(result.items).toHaveLength(2);
    expect(result.items![0]).toMatchObject({ matched: true, criteria: [{ key: 'item.field_name', value: 'Status', matched: true }, { matched: true }] });
    expect(result.items![1]).toMatchObject({ matched: false, criteria: [{ value: 'Signed off by', matched: false }, { value: 'Stanley', matched: false }] });
  });

  it('nests: search inside search', () => {
    const pattern = {
      'item.tags': { type: 'search', condition: 'any', pattern: { 'item.name': { type: 'equals', pattern: 'prod' } } },
    };
    expect(search('any', pattern, [{ tags: [{ name: 'dev' }] }, { tags: [{ name: 'prod' }] }]).matched).toBe(true);
    expect(search('all', pattern, [{ tags: [{ name: 'dev' }] }, { tags: [{ name: 'prod' }] }]).matched).toBe(false);
  });

  it.each([
    ['weird', { 'item.a': { type: 'exists' } }, [1], /condition' any, all, any2any, all2any; got "weird"/],
    [undefined, { 'item.a': { type: 'exists' } }, [1], /condition.*got none/],
    ['any', 'item.a', [1], /pattern of search is a mapping/],
    ['any', { 'item.a': { type: 'exists' } }, 'abc', /needs a list .* got a string/],
    ['any', { 'item.a': { type: 'exists' } }, MISSING, /needs a list .* got a null/],
  ])('condition %j, pattern %j over %j: false with an error', (condition, pattern, list, message) => {
    const result = list === MISSING ? matchCriteria({ 'trigger.fields': { type: 'search', condition, pattern } }, {}).criteria[0]! : search(condition, pattern, list);
    expect(result.matched).toBe(false);
    expect(result.error).toMatch(message);
  });

  it('gives a nested criterion that fails its own error, and the item is false', () => {
    const result = search('any', { 'trigger.a': { type: 'exists' }, 'item.n': { type: 'lessthan', pattern: 5 } }, [{ n: 'x' }]);
    expect(result.matched).toBe(false);
    expect(result.items![0]!.criteria[0]!.error).toMatch(/must start with 'item\.'/);
    expect(result.items![0]!.criteria[1]!.error).toMatch(/lessthan/);
  });

  it('refuses nesting deeper than the limit', () => {
    let pattern: Record<string, unknown> = { 'item.x': { type: 'exists' } };
    let list: unknown = { x: 1 };
    for (let depth = 0; depth < 9; depth++) {
      pattern = { 'item.inner': { type: 'search', condition: 'all', pattern } };
      list = { inner: list };
    }
    const result = search('all', pattern, list);
    expect(result.matched).toBe(false);
    expect(JSON.stringify(result)).toMatch(/nests more than 8 levels deep/);
  });
});

describe('timediff_lt / timediff_gt', () => {
  const now = () => new Date('2024-01-31T12:00:00Z');

  it.each([
    // value, seconds, lt, gt
    ['2024-01-31T11:59:30Z', 60, true, false],
    ['2024-01-31T11:58:00Z', 60, false, true],
    ['2024-01-31T11:59:00Z', 60, false, false], // exactly 60 s: neither
    ['2024-01-31T11:59:30.500Z', 29.5, false, false],
    ['2024-01-31 11:59:30', 60, true, false], // a naive time is UTC
    ['2024-01-31T11:59:30', 60, true, false],
    ['2024-01-31T13:59:30+02:00', 60, true, false],
    ['2024-01-31T06:59:30-0500', 60, true, false],
    ['2024-01-31T14:59:30+03', 60, true, false],
    ['2024-01-31T11:59:30 UTC', 60, true, false],
    ['20240131T115930Z', 60, true, false],
    ['Wed, 31 Jan 2024 11:59:30 GMT', 60, true, false],
    ['31 Jan 2024 12:59:30 +0100', 60, true, false],
    ['2024-01-30', 86_400, false, true], // a date is midnight UTC: 36 hours ago
    ['2024-02-01T00:00:00Z', 60, true, false], // in the future: a negative difference
  ])('%s against %d s', (value, seconds, lt, gt) => {
    expect(check('timediff_lt', value, seconds, { now })).toMatchObject({ matched: lt });
    expect(check('td_lt', value, seconds, { now })).toMatchObject({ matched: lt });
    expect(check('timediff_gt', value, seconds, { now })).toMatchObject({ matched: gt });
    expect(check('td_gt', value, seconds, { now: () => now().getTime() })).toMatchObject({ matched: gt });
  });

  it.each([
    ['yesterday', 60, /cannot read "yesterday" as a timestamp/],
    ['2024-02-30T00:00:00Z', 60, /as a timestamp/],
    ['2024-01-31T25:00:00Z', 60, /as a timestamp/],
    ['2024-01-31T12:00:00+25:00', 60, /as a timestamp/],
    [1706702400, 60, /needs a string value, got a number/],
    [MISSING, 60, /needs a string value, got a null/],
    ['2024-01-31T11:59:30Z', '60', /number of seconds .* got a string/],
  ])('%j against %j: false with an error', (value, seconds, message) => {
    for (const operator of ['timediff_lt', 'timediff_gt']) {
      const result = check(operator, value, seconds, { now });
      expect(result.matched).toBe(false);
      expect(result.error).toMatch(message);
    }
  });

  it('is false without an error for a null pattern, as StackStorm', () => {
    expect(check('timediff_lt', '2024-01-31T11:59:30Z', null, { now })).toEqual(expect.objectContaining({ matched: false }));
    expect(check('timediff_lt', '2024-01-31T11:59:30Z', null, { now }).error).toBeUndefined();
  });

  it('parses timestamps exactly', () => {
    // Microseconds are kept, as Python's datetime keeps them.
    expect(parseTimestamp('2024-01-31T12:00:00.123456Z')).toBeCloseTo(Date.UTC(2024, 0, 31, 12, 0, 0, 123) + 0.456, 6);
    expect(parseTimestamp('0050-06-01T00:00:00Z')).toBe(new Date('0050-06-01T00:00:00Z').getTime());
    expect(parseTimestamp('2024-01-31T12:00')).toBe(Date.UTC(2024, 0, 31, 12, 0));
    expect(parseTimestamp('31 Foo 2024 12:00:00')).toBeNull();
    expect(parseTimestamp('')).toBeNull();
  });
});
