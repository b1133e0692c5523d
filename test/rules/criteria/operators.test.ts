/**
 * Every criteria operator, table-driven, from StackStorm's rules
 * documentation and its operator definitions (Python 3 semantics): matches,
 * non-matches, type mismatches (false with an error, never a throw), missing
 * fields (null), null patterns.
 */
import { describe, expect, it } from 'vitest';
import { OPERATORS } from '../../../src/rules/operator-names.js';
import { OPERATOR_FUNCTIONS } from '../../../src/rules/criteria/index.js';
import { check, MISSING } from './helpers.js';

type Case = [value: unknown, pattern: unknown, expected: boolean | 'error'];

const CASES: Record<string, Case[]> = {
  equals: [
    ['opened', 'opened', true],
    ['opened', 'closed', false],
    ['Opened', 'opened', false],
    ['', '', true],
    [1, 1, true],
    [1, 1.0, true],
    ['1', 1, false], // never converts between strings and numbers
    [1, '1', false],
    [true, 'true', false],
    [true, 1, true], // Python: True == 1
    [false, 0, true],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [{ a: 1, b: [2] }, { b: [2], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [null, null, false], // a null pattern never matches
    [MISSING, 'x', false],
  ],
  nequals: [
    ['foo', 'bar', true],
    ['foo', 'FOO', true],
    ['True', true, true],
    ['None', null, true],
    ['x', 'x', false],
    [1, '1', true],
    [MISSING, 'x', true], // a missing field satisfies nequals
    [MISSING, null, false], // None != None is false
    [null, null, false],
  ],
  iequals: [
    ['ABC', 'abc', true],
    ['AbC', 'aBc', true],
    ['ABC', 'BCA', false],
    ['1', null, false],
    [1, '1', 'error'],
    ['1', 1, 'error'],
    [MISSING, 'x', 'error'],
  ],
  lessthan: [
    [3, 5, true],
    [5, 5, false],
    [7, 5, false],
    [2.5, 3, true],
    [-1, 0, true],
    [true, 2, true],
    ['a', 'b', true], // strings compare lexicographically
    ['10', '9', true], // … so '10' sorts before '9'
    [[1, 2], [1, 3], true],
    [[1], [1, 0], true],
    [5, '9', 'error'],
    ['5', 9, 'error'],
    [{ a: 1 }, { a: 2 }, 'error'],
    [MISSING, 5, 'error'],
    [5, null, false],
  ],
  greaterthan: [
    [7, 5, true],
    [5, 5, false],
    [3, 5, false],
    [5.5, 5, true],
    ['b', 'a', true],
    ['\u{1F600}', '\uFFFF', true], // by code point, as Python (UTF-16 units would say otherwise)
    [[2], [1, 9], true],
    [5, '1', 'error'],
    [null, 1, 'error'],
    [5, null, false],
  ],
  matchwildcard: [
    ['v1', 'v1', true],
    ['test foo test', 'foo', false], // the whole string must match
    ['test foo test', '*foo*', true],
    ['bar', 'b*r', true],
    ['bar', 'b?r', true],
    ['Bar', 'b*', false], // case-sensitive, as fnmatch on POSIX
    ['a\nb', 'a*b', true], // * spans newlines
    ['file.txt', '*.txt', true],
    ['filetxt', '*.txt', false],
    ['b', '[abc]', true],
    ['d', '[abc]', false],
    ['d', '[!abc]', true],
    ['a', '[!abc]', false],
    ['b', '[a-c]', true],
    ['-', '[a-]', true],
    [']', '[]]', true],
    ['[x', '[x', true], // an unclosed [ is literal
    ['a\\b', 'a\\b', true], // no escape character
    ['a.b', 'a\\.b', false],
    ['m', '[z-a]', false], // a reversed range matches nothing
    ['m', '[!z-a]', true],
    ['^', '[^a]', true], // ^ is no negation in fnmatch
    ['b', '[^a]', false],
    ['1', null, false],
    [5, '5', 'error'],
    ['x', 5, 'error'],
    [MISSING, '*', 'error'],
  ],
  regex: [
    ['v1', 'v1$', true],
    ['fooponiesbarfooooo', 'ponies', true], // searches anywhere
    ['fooPONIESbar', 'ponies', false],
    ['apple unicorns oranges', '(ponies|unicorns)', true],
    ['apple unicorns oranges', '(pikachu|snorlax)', false],
    ['v1_foo', 'v1$', false],
    ['foo\n', 'foo$', true], // Python's $ also matches before a final newline
    ['abc', '(?P<x>b)(?P=x)?', true],
    ['ab', '\\Aab\\Z', true],
    ['ab\n', '\\Aab\\Z', false],
    ['a\nb', 'a.b', false], // . stops at newline without DOTALL
    ['x1', '\\d', true],
    ['x', 'a++', 'error'], // cannot be translated faithfully
    ['x', '(', 'error'],
    ['1', null, false],
    [5, '5', 'error'],
    ['5', 5, 'error'],
    [MISSING, '.*', 'error'],
  ],
  iregex: [
    ['V1', 'v1$', true],
    ['fooPONIESbarfooooo', 'ponies', true],
    ['V1_foo', 'v1$', false],
    ['1', null, false],
    [1, '1', 'error'],
  ],
  matchregex: [
    ['v1', 'v1$', true],
    ['xv1', 'v1', false], // anchored at the start
    ['v1x', 'v1', true], // … but not at the end
    ['ponies\n  moar\n  foo\n  bar\n  yeah!\n', '.*bar.*', true], // DOTALL
    ['foo\r\nponies\nbar\nfooooo', '.*ponies.*', true],
    ['V1', 'v1', false],
    ['b\na', 'a', false],
    ['1', null, false],
    [1, '1', 'error'],
  ],
  contains: [
    ['hasystack needle haystack', 'needle', true],
    ['needle', 'needle', true],
    ['needla', 'needle', false],
    ['abc', '', true],
    [['a', 'b'], 'b', true],
    [['a', 'b'], 'c', false],
    [[1, 2], '1', false],
    [[1, 2], 1, true],
    [[[1, 2], 3], [1, 2], true],
    [{ urgent: true }, 'urgent', true], // an object: its keys
    [{ label: 'urgent' }, 'urgent', false], // … not its values
    [{ '1': 1 }, 1, false],
    [{ a: 1 }, ['a'], 'error'],
    ['abc', 1, 'error'],
    [5, '5', 'error'],
    [MISSING, 'x', 'error'],
    ['1', null, false],
  ],
  ncontains: [
    ['hasystack needle haystack', 'foo', true],
    ['needle', 'needle', false],
    [['a'], 'b', true],
    [['a'], 'a', false],
    [{ a: 1 }, 'a', false],
    [{ a: 1 }, 'b', true],
    [MISSING, 'x', 'error'], // Python cannot iterate None
    ['1', null, false],
  ],
  icontains: [
    ['hasystack nEEdle haystack', 'needle', true],
    ['neeDle', 'NeedlE', true],
    ['needla', 'needle', false],
    [['A'], 'a', 'error'], // strings only
    [MISSING, 'x', 'error'],
    ['1', null, false],
  ],
  incontains: [
    ['haystack', 'NEEDLE', true],
    ['NEEDLE x', 'needle', false],
    [1, 'x', 'error'],
    ['1', null, false],
  ],
  startswith: [
    ['foobar', 'foo', true],
    ['foobar', 'bar', false],
    ['Foobar', 'foo', false],
    ['x', '', true],
    [['foo'], 'foo', 'error'],
    ['x', 1, 'error'],
    ['1', null, false],
  ],
  istartswith: [
    ['FOObar', 'foo', true],
    ['barfoo', 'FOO', false],
    [MISSING, 'x', 'error'],
  ],
  endswith: [
    ['foobar', 'bar', true],
    ['foobar', 'Bar', false],
    [1, '1', 'error'],
  ],
  iendswith: [
    ['fooBAR', 'bar', true],
    ['barfoo', 'bar', false],
    [1, '1', 'error'],
  ],
  exists: [
    ['x', undefined, true],
    [0, undefined, true],
    ['', undefined, true],
    [false, undefined, true],
    [[], undefined, true],
    [MISSING, undefined, false],
    [null, undefined, false], // a JSON null is the same as a missing field
  ],
  nexists: [
    [MISSING, undefined, true],
    [null, undefined, true],
    [0, undefined, false],
    ['', undefined, false],
  ],
  inside: [
    ['b', ['a', 'b'], true],
    ['c', ['a', 'b'], false],
    ['ell', 'hello', true], // a string pattern: substring test
    ['x', 'hello', false],
    [1, [1, 2], true],
    ['1', [1, 2], false],
    ['a', { a: 1 }, true],
    [MISSING, ['a', null], true],
    [MISSING, ['a'], false],
    [5, 'hello', 'error'],
    ['a', 5, 'error'],
    [['a'], { a: 1 }, 'error'],
    ['a', null, false],
  ],
  ninside: [
    ['c', ['a', 'b'], true],
    ['a', ['a', 'b'], false],
    ['x', 'hello', true],
    ['ell', 'hello', false],
    [MISSING, ['a', 'b'], true], // a missing field satisfies ninside …
    [MISSING, 'hello', true], // … whatever the pattern (StackStorm's Python raises on a string pattern)
    ['a', null, false],
  ],
};

describe('criteria operators', () => {
  it('covers every operator but search (tested on its own)', () => {
    expect(Object.keys(CASES).sort()).toEqual(
      OPERATORS.map((o) => o.name)
        .filter((name) => name !== 'search' && !name.startsWith('timediff'))
        .sort(),
    );
    expect(Object.keys(OPERATOR_FUNCTIONS).sort()).toEqual(OPERATORS.map((o) => o.name).filter((name) => name !== 'search').sort());
  });

  for (const [operator, cases] of Object.entries(CASES)) {
    describe(operator, () => {
      it.each(cases.map(([value, pattern, expected]) => ({ value, pattern, expected })))(
        'value $value, pattern $pattern → $expected',
        ({ value, pattern, expected }) => {
          const result = check(operator, value, pattern);
          if (expected === 'error') {
            expect(result.matched).toBe(false);
            expect(result.error).toMatch(/\w/);
          } else {
            expect(result.error).toBeUndefined();
            expect(result.matched).toBe(expected);
          }
        },
      );
    });
  }

  it('reports the value found (null when missing) and the pattern', () => {
    expect(check('equals', 'a', 'a')).toEqual({ key: 'trigger.v', operator: 'equals', pattern: 'a', value: 'a', matched: true });
    expect(check('nexists', MISSING)).toEqual({ key: 'trigger.v', operator: 'nexists', pattern: null, value: null, matched: true });
  });

  it('explains type mismatches by naming the operator and the types', () => {
    expect(check('lessthan', 5, '9').error).toMatch(/lessthan.*number.*string/);
    expect(check('contains', 5, '5').error).toMatch(/contains.*number/);
    expect(check('iequals', null, 'x').error).toMatch(/iequals needs a string value, got a null/);
    expect(check('regex', 'x', 'a++').error).toMatch(/possessive/);
  });
});

describe('operator aliases and spelling', () => {
  const aliases = OPERATORS.flatMap((operator) => operator.aliases.map((alias) => [alias, operator.name] as const));

  it('has the aliases StackStorm defines', () => {
    expect(Object.fromEntries(aliases)).toEqual({
      eq: 'equals',
      neq: 'nequals',
      ieq: 'iequals',
      lt: 'lessthan',
      gt: 'greaterthan',
      td_lt: 'timediff_lt',
      td_gt: 'timediff_gt',
      in: 'inside',
      nin: 'ninside',
    });
  });

  it.each(aliases)('%s behaves as %s and is reported by its canonical name', (alias, name) => {
    const cases = CASES[name] ?? [
      ['2020-01-01T00:00:00Z', 60, name === 'timediff_gt'],
      ['2020-01-01T00:00:00Z', 'x', 'error'],
    ];
    for (const [value, pattern, expected] of cases) {
      const viaAlias = check(alias, value, pattern);
      const viaName = check(name, value, pattern);
      expect(viaAlias.operator).toBe(name);
      expect({ matched: viaAlias.matched, error: viaAlias.error }).toEqual({ matched: viaName.matched, error: viaName.error });
      if (expected !== 'error') expect(viaAlias.matched).toBe(expected);
    }
  });

  it('takes operator names in any case, as StackStorm does', () => {
    expect(check('MATCHREGEX', 'v1', 'v1$').matched).toBe(true);
    expect(check('MatchRegex', 'v1', 'v1$').operator).toBe('matchregex');
    expect(check('EQ', 1, 1).matched).toBe(true);
  });

  it('makes an unknown operator a false criterion with an error', () => {
    const result = check('similar', 'a', 'a');
    expect(result).toMatchObject({ matched: false, operator: 'similar', error: "unknown operator 'similar'" });
  });
});
