import { describe, expect, it } from 'vitest';
import { OPERATORS, OPERATOR_SPELLINGS, SEARCH_CONDITIONS, resolveOperatorName } from '../../src/rules/operator-names.js';

describe('criteria operator names', () => {
  it('lists StackStorm 24 operators, each once', () => {
    expect(OPERATORS).toHaveLength(24);
    expect(new Set(OPERATORS.map((operator) => operator.name)).size).toBe(24);
  });

  it.each([
    ['eq', 'equals'],
    ['neq', 'nequals'],
    ['ieq', 'iequals'],
    ['lt', 'lessthan'],
    ['gt', 'greaterthan'],
    ['td_lt', 'timediff_lt'],
    ['td_gt', 'timediff_gt'],
    ['in', 'inside'],
    ['nin', 'ninside'],
  ])('resolves the alias %s to %s', (alias, name) => {
    expect(resolveOperatorName(alias)?.name).toBe(name);
  });

  it('resolves names in any case, as StackStorm lowercases them', () => {
    expect(resolveOperatorName('Equals')?.name).toBe('equals');
    expect(resolveOperatorName('MATCHREGEX')?.name).toBe('matchregex');
  });

  it('knows every canonical name and nothing else', () => {
    for (const operator of OPERATORS) expect(resolveOperatorName(operator.name)).toBe(operator);
    expect(resolveOperatorName('like')).toBeUndefined();
    expect(resolveOperatorName('')).toBeUndefined();
    expect(resolveOperatorName('equals ')).toBeUndefined();
    expect(OPERATOR_SPELLINGS).toHaveLength(24 + 9);
  });

  it('says which operators take no pattern, a regex, or nested criteria', () => {
    expect(OPERATORS.filter((operator) => operator.pattern === 'none').map((operator) => operator.name)).toEqual(['exists', 'nexists']);
    expect(OPERATORS.filter((operator) => operator.pattern === 'regex').map((operator) => operator.name)).toEqual(['regex', 'iregex', 'matchregex']);
    expect(resolveOperatorName('search')?.pattern).toBe('criteria');
    expect(SEARCH_CONDITIONS).toEqual(['any', 'all', 'any2any', 'all2any']);
  });
});
