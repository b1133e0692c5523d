/**
 * matchCriteria as a whole: no criteria matches, every criterion must hold,
 * all are evaluated and reported, malformed criteria are false with a reason,
 * and string patterns holding `{{ }}` are rendered (through an injected
 * renderer here; the template engine's own rendering is tested with it).
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { matchCriteria, type PatternRenderer } from '../../../src/rules/criteria/index.js';
import type { KeyStoreView, TemplateContext } from '../../../src/rules/templates/index.js';

const PAYLOAD = { action: 'opened', count: 3, labels: ['urgent'], user: { name: 'stanley' } };

describe('matchCriteria', () => {
  it('is exported from the package', async () => {
    const pkg = await import('../../../src/index.js');
    expect(pkg.matchCriteria).toBe(matchCriteria);
  });

  it.each([undefined, null, {}])('matches every event with no criteria (%j)', (criteria) => {
    expect(matchCriteria(criteria, PAYLOAD)).toEqual({ matched: true, criteria: [] });
    expect(matchCriteria(criteria, {})).toEqual({ matched: true, criteria: [] });
  });

  it('needs every criterion (AND)', () => {
    const both = { 'trigger.action': { type: 'equals', pattern: 'opened' }, 'trigger.count': { type: 'gt', pattern: 2 } };
    expect(matchCriteria(both, PAYLOAD).matched).toBe(true);
    expect(matchCriteria(both, { ...PAYLOAD, count: 1 }).matched).toBe(false);
    expect(matchCriteria(both, { ...PAYLOAD, action: 'closed' }).matched).toBe(false);
  });

  it('evaluates and reports every criterion, even after one fails', () => {
    const result = matchCriteria(
      {
        'trigger.action': { type: 'equals', pattern: 'closed' },
        'trigger.count': { type: 'lessthan', pattern: 'five' },
        'trigger.user.name': { type: 'startswith', pattern: 'stan' },
        'trigger.missing': { type: 'nexists' },
      },
      PAYLOAD,
    );
    expect(result.matched).toBe(false);
    expect(result.criteria).toEqual([
      { key: 'trigger.action', operator: 'equals', pattern: 'closed', value: 'opened', matched: false },
      { key: 'trigger.count', operator: 'lessthan', pattern: 'five', value: 3, matched: false, error: expect.stringMatching(/cannot order a number against a string/) },
      { key: 'trigger.user.name', operator: 'startswith', pattern: 'stan', value: 'stanley', matched: true },
      { key: 'trigger.missing', operator: 'nexists', pattern: null, value: null, matched: true },
    ]);
  });

  it('matches criteria on an empty payload as on any other (nexists holds)', () => {
    expect(matchCriteria({ 'trigger.x': { type: 'nexists' } }, {}).matched).toBe(true);
    expect(matchCriteria({ 'trigger.x': { type: 'nexists' } }, null).matched).toBe(true);
  });

  it.each([
    [{ 'trigger.action': 'opened' }, /a criterion is a mapping \{type, pattern\}, got a string/],
    [{ 'trigger.action': null }, /got a null/],
    [{ 'trigger.action': { pattern: 'opened' } }, /has no 'type'/],
    [{ 'trigger.action': { type: 5, pattern: 'opened' } }, /'type' must be an operator name, got a number/],
    [{ 'trigger.action': { type: 'like', pattern: 'opened' } }, /unknown operator 'like'/],
  ])('makes a malformed criterion %j false with a reason, without throwing', (criteria, message) => {
    const result = matchCriteria(criteria, PAYLOAD);
    expect(result.matched).toBe(false);
    expect(result.criteria[0]!.error).toMatch(message);
  });

  it.each([['opened'], [[{ 'trigger.a': {} }]], [5]])('refuses criteria that are not a mapping (%j)', (criteria) => {
    expect(() => matchCriteria(criteria, PAYLOAD)).toThrow(ValidationError);
    expect(() => matchCriteria(criteria, PAYLOAD)).toThrow(/criteria must be a mapping/);
  });

  it('treats a missing pattern as null, as StackStorm does', () => {
    expect(matchCriteria({ 'trigger.action': { type: 'equals' } }, PAYLOAD).criteria[0]).toMatchObject({ matched: false, pattern: null });
    expect(matchCriteria({ 'trigger.action': { type: 'nequals' } }, PAYLOAD).matched).toBe(true);
  });
});

describe('template patterns', () => {
  const calls: { template: string; context: TemplateContext }[] = [];
  /** A stand-in engine: `{{ trigger.count }}` and `{{ st2kv.system.<name> }}` only, type-preserving. */
  const render: PatternRenderer = (template, context) => {
    calls.push({ template, context });
    const expression = /^\{\{\s*([\w.]+)\s*\}\}$/.exec(template)?.[1];
    if (expression === undefined) throw new Error(`cannot render ${template}`);
    if (expression.startsWith('st2kv.system.')) {
      const entry = context.keyStore?.lookup('system', expression.slice('st2kv.system.'.length));
      return entry && 'value' in entry ? entry.value : '';
    }
    return expression.split('.').reduce<unknown>((value, name) => (value as Record<string, unknown>)?.[name], context.values);
  };

  it('renders a string pattern holding {{ }} and compares the value it keeps', () => {
    const result = matchCriteria({ 'trigger.count': { type: 'equals', pattern: '{{ trigger.count }}' } }, PAYLOAD, { renderPattern: render });
    expect(result.criteria[0]).toMatchObject({ matched: true, pattern: 3 });
    expect(calls.at(-1)!.context.values.trigger).toBe(PAYLOAD);
  });

  it('passes the key store and context extras to the renderer', () => {
    const keys: KeyStoreView = {
      lookup: (scope, name) => (scope === 'system' && name === 'threshold' ? { value: 2 } : undefined),
      decrypt: () => {
        throw new Error('no secrets here');
      },
    };
    const result = matchCriteria({ 'trigger.count': { type: 'gt', pattern: '{{ st2kv.system.threshold }}' } }, PAYLOAD, {
      renderPattern: render,
      keys,
      context: { rule: { ref: 'pack.rule' } },
    });
    expect(result.criteria[0]).toMatchObject({ matched: true, pattern: 2 });
    expect(calls.at(-1)!.context.keyStore).toBe(keys);
    expect(calls.at(-1)!.context.values.rule).toEqual({ ref: 'pack.rule' });
  });

  it('gives search items their own `item` in templates', () => {
    const result = matchCriteria(
      { 'trigger.pairs': { type: 'search', condition: 'any', pattern: { 'item.a': { type: 'equals', pattern: '{{ item.b }}' } } } },
      { pairs: [{ a: 1, b: 2 }, { a: 3, b: 3 }] },
      { renderPattern: render },
    );
    expect(result.matched).toBe(true);
    expect(result.criteria[0]!.items!.map((item) => item.criteria[0]!.pattern)).toEqual([2, 3]);
  });

  it('uses non-string patterns and strings without {{ }} as written', () => {
    const before = calls.length;
    const result = matchCriteria(
      { 'trigger.count': { type: 'equals', pattern: 3 }, 'trigger.action': { type: 'equals', pattern: 'opened' }, 'trigger.labels': { type: 'equals', pattern: ['urgent'] } },
      PAYLOAD,
      { renderPattern: render },
    );
    expect(result.matched).toBe(true);
    expect(calls.length).toBe(before);
  });

  it('makes a pattern that fails to render a false criterion with the reason', () => {
    const result = matchCriteria(
      { 'trigger.action': { type: 'equals', pattern: '{{ oops( }}' }, 'trigger.count': { type: 'equals', pattern: 3 } },
      PAYLOAD,
      { renderPattern: render },
    );
    expect(result.matched).toBe(false);
    expect(result.criteria[0]).toMatchObject({ matched: false, error: 'the pattern could not be rendered: cannot render {{ oops( }}' });
    expect(result.criteria[1]).toMatchObject({ matched: true });
  });
});
