/**
 * Criteria patterns rendered by the template engine itself: a pattern that is
 * exactly one expression keeps its type, text renders as text, the key store
 * answers `st2kv.system.*` and `keys.*` (an absent key renders ''), search
 * items see `item`, and a template error or escape attempt is a false
 * criterion with the engine's message, never a throw.
 */
import { describe, expect, it } from 'vitest';
import { matchCriteria } from '../../../src/rules/criteria/index.js';
import { MASKED_PATTERN } from '../../../src/rules/criteria/match-criteria.js';
import { createKeyStoreView, type KeyStoreView } from '../../../src/rules/templates/index.js';

const KEYS: KeyStoreView = {
  lookup: (scope, name) => {
    if (scope !== 'system') return undefined;
    if (name === 'build_number') return { value: 42 };
    if (name === 'branch') return { value: 'main' };
    return undefined;
  },
  decrypt: () => {
    throw new Error('no secrets in this view');
  },
};

const PAYLOAD = { count: 3, limit: 5, build: { number: 42, branch: 'main' }, tags: ['a', 'b'], pairs: [{ a: 1, b: 2 }, { a: 3, b: 3 }] };

function one(pattern: unknown, type: string, key = 'trigger.count') {
  return matchCriteria({ [key]: { type, pattern } }, PAYLOAD, { keys: KEYS, context: { rule: { ref: 'examples.rule' } } }).criteria[0]!;
}

describe('criteria patterns through the template engine', () => {
  it('keeps the type of a single-expression pattern', () => {
    expect(one('{{ trigger.limit }}', 'lessthan')).toMatchObject({ matched: true, pattern: 5 });
    expect(one('{{ trigger.count }}', 'equals')).toMatchObject({ matched: true, pattern: 3 });
    expect(one('{{ trigger.tags }}', 'equals', 'trigger.tags')).toMatchObject({ matched: true, pattern: ['a', 'b'] });
  });

  it('renders text around expressions as a string', () => {
    expect(one('build-{{ trigger.count }}', 'equals')).toMatchObject({ matched: false, pattern: 'build-3' });
    expect(one('ma{{ "in" }}', 'equals', 'trigger.build.branch')).toMatchObject({ matched: true, pattern: 'main' });
  });

  it('reads the key store (the StackStorm example: a build number from st2kv)', () => {
    expect(one('{{ st2kv.system.build_number }}', 'equals', 'trigger.build.number')).toMatchObject({ matched: true, pattern: 42 });
    expect(one('{{ keys.branch }}', 'equals', 'trigger.build.branch')).toMatchObject({ matched: true, pattern: 'main' });
    expect(one('{{ st2kv.system.absent }}', 'equals', 'trigger.build.branch')).toMatchObject({ matched: false, pattern: '' });
  });

  it('sees context extras', () => {
    expect(one('{{ rule.ref }}', 'equals', 'trigger.build.branch')).toMatchObject({ matched: false, pattern: 'examples.rule' });
  });

  it('gives search items `item`', () => {
    const result = matchCriteria(
      { 'trigger.pairs': { type: 'search', condition: 'any', pattern: { 'item.a': { type: 'equals', pattern: '{{ item.b }}' } } } },
      PAYLOAD,
    );
    expect(result.matched).toBe(true);
    expect(result.criteria[0]!.items!.map((item) => item.criteria[0]!.pattern)).toEqual([2, 3]);
  });

  it.each([
    ['{{ trigger.missing }}', /trigger has no key 'missing'/],
    ["{{ ''.constructor.constructor('return process')() }}", /has no key 'constructor'/],
    ['{% for i in range(10**9) %}x{% endfor %}', /budget/],
  ])('makes %s a false criterion with the reason, and evaluates the rest', (pattern, reason) => {
    const result = matchCriteria({ 'trigger.count': { type: 'equals', pattern }, 'trigger.limit': { type: 'equals', pattern: 5 } }, PAYLOAD);
    expect(result.matched).toBe(false);
    expect(result.criteria[0]).toMatchObject({ matched: false, error: expect.stringMatching(/^the pattern could not be rendered: /) });
    expect(result.criteria[0]!.error).toMatch(reason);
    expect(result.criteria[1]).toMatchObject({ matched: true });
  });
});

describe('criteria patterns that decrypt a secret', () => {
  const secretKeys = createKeyStoreView({ system: { token: { secret: true, ciphertext: 'cipher:token' } } }, () => 's3cr3t-value');
  const payload = { token: 's3cr3t-value', other: 'x' };

  it('compare with the plaintext but report the pattern masked', () => {
    const match = matchCriteria({ 'trigger.token': { type: 'equals', pattern: '{{ st2kv.system.token | decrypt_kv }}' } }, payload, { keys: secretKeys });
    expect(match.matched).toBe(true);
    expect(match.criteria[0]).toMatchObject({ matched: true, pattern: MASKED_PATTERN });
    expect(match.criteria[0]!.pattern).not.toContain('s3cr3t');
  });

  it('mask the pattern of a criterion that fails too', () => {
    const match = matchCriteria({ 'trigger.other': { type: 'equals', pattern: '{{ st2kv.system.token | decrypt_kv }}' } }, payload, { keys: secretKeys });
    expect(match.criteria[0]).toMatchObject({ matched: false, pattern: MASKED_PATTERN });
  });

  it('mask the pattern of a criterion whose operator refuses its inputs, and keep the secret out of the reason', () => {
    const ordering = matchCriteria({ 'trigger.count': { type: 'lessthan', pattern: '{{ st2kv.system.token | decrypt_kv }}' } }, { count: 3 }, { keys: secretKeys });
    const badRegex = createKeyStoreView({ system: { token: { secret: true, ciphertext: 'cipher:token' } } }, () => 's3cr3t(value');
    const regex = matchCriteria({ 'trigger.token': { type: 'regex', pattern: '{{ st2kv.system.token | decrypt_kv }}' } }, { token: 'abc' }, { keys: badRegex });
    // Compared without printing: a failing assertion must not show the secret.
    for (const [match, operator] of [[ordering, 'lessthan'], [regex, 'regex']] as const) {
      const criterion = match.criteria[0]!;
      expect(JSON.stringify(match).includes('s3cr3t')).toBe(false);
      expect(criterion.matched).toBe(false);
      expect(criterion.pattern === MASKED_PATTERN).toBe(true);
      expect(criterion.error?.startsWith(`${operator} `)).toBe(true);
    }
  });

  it('leave a secret rendered without decrypt_kv as its ciphertext', () => {
    const match = matchCriteria({ 'trigger.other': { type: 'equals', pattern: '{{ st2kv.system.token }}' } }, payload, { keys: secretKeys });
    expect(match.criteria[0]).toMatchObject({ matched: false, pattern: 'cipher:token' });
  });
});
