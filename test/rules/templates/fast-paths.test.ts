/**
 * The shortcuts the renderer takes for speed give what the template library
 * itself gives: string filters computed without the library's method table,
 * member names read from the syntax, string literals shared between renders.
 * The library's own renderer is the oracle.
 */
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { createKeyStoreView, renderTemplate } from '../../../src/rules/templates/index.js';

const STRINGS = ['', 'plain', 'Mixed Case', 'ß straße', 'ǅemal', 'İstanbul', 'héllo wörld ✓ 日本', '𝒜𝒷𝒸 emoji 🎉', 'tab\tand\nnewline'];

describe('string filters', () => {
  it.each(['upper', 'lower', 'length'])('%s gives what the library gives', (filter) => {
    for (const text of STRINGS) {
      const expected = new Template(`{{ text | ${filter} }}`).render({ text });
      expect(String(renderTemplate(`x{{ trigger.text | ${filter} }}`, { values: { trigger: { text } } }))).toBe(`x${expected}`);
    }
  });

  it('keeps the type of a length and of a case change', () => {
    expect(renderTemplate('{{ trigger.text | length }}', { values: { trigger: { text: 'héllo' } } })).toBe(5);
    expect(renderTemplate('{{ trigger.text | upper }}', { values: { trigger: { text: 'héllo' } } })).toBe('HÉLLO');
    expect(renderTemplate('{{ "abc" | upper | lower | length }}', { values: {} })).toBe(3);
  });

  it('gives a missing key of the key store as an empty string, as before', () => {
    const keyStore = createKeyStoreView({ system: {} }, () => {
      throw new Error('no secrets');
    });
    expect(renderTemplate('{{ st2kv.system.absent | upper }}', { values: {}, keyStore })).toBe('');
    expect(renderTemplate('{{ st2kv.system.absent | length }}', { values: {}, keyStore })).toBe(0);
  });

  it('leaves the other string filters and filters with arguments to the library', () => {
    for (const [template, expected] of [
      ['{{ "hello world" | title }}', 'Hello World'],
      ['{{ "hello" | capitalize }}', 'Hello'],
      ['{{ "  x  " | trim }}', 'x'],
    ]) {
      expect(renderTemplate(template!, { values: {} })).toBe(expected);
    }
  });
});

describe('member names and literals', () => {
  it('reads members by name, by index and by subscript as the library does', () => {
    const trigger = { a: { b: [10, 20, { c: 'deep' }] }, 'x-y': 'dash', list: ['p', 'q'] };
    for (const expression of ['trigger.a.b[0]', 'trigger.a.b[-1].c', "trigger['x-y']", 'trigger.list[1]', "trigger.a['b'][2]['c']"]) {
      const expected = new Template(`{{ ${expression} }}`).render({ trigger });
      expect(String(renderTemplate(`={{ ${expression} }}`, { values: { trigger } }))).toBe(`=${expected}`);
    }
  });

  it('renders the same literal again and again, in every render, unchanged', () => {
    for (let k = 0; k < 3; k++) {
      expect(renderTemplate('{% set s = "lit" %}{{ s ~ "-" ~ s | upper }}{{ "lit" }}', { values: {} })).toBe('lit-LITlit');
      expect(renderTemplate('{{ "lit" }}', { values: {} })).toBe('lit');
    }
  });
});
