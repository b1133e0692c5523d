import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError, type TemplateContext } from '../../../src/rules/templates/index.js';

const context: TemplateContext = { values: { trigger: { name: 'bob', items: [1, 2] } } };

/** The outcome of a render: its value, or the TemplateError's message (anything else fails the test). */
function outcome(template: string, options = {}): { value: unknown } | { error: string } {
  try {
    return { value: renderTemplate(template, context, options) };
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return { error: (error as Error).message };
  }
}

/** True when a rendered result or error message shows something JavaScript-side: source, a process, a prototype. */
function leaksJavaScript(result: { value: unknown } | { error: string }): boolean {
  const text = 'value' in result ? JSON.stringify(result.value) ?? '' : result.error;
  return /native code|function\s*\(|\[object|=>|\bPATH\b|argv|execPath|Symbol\(/.test(text);
}

describe('the sandbox', () => {
  it.each([
    "{{ ''.constructor.constructor('return process')() }}",
    "{{ ''.constructor }}",
    "{{ range.constructor('return process')() }}",
    '{{ range.constructor }}',
    '{{ trigger.__proto__ }}',
    '{{ trigger.__proto__.constructor }}',
    "{{ trigger['__proto__'] }}",
    '{{ trigger.constructor }}',
    '{{ [].constructor }}',
    "{{ [].constructor.constructor('return process')() }}",
    '{{ {}.constructor }}',
    '{{ cycler.__init__.__globals__ }}',
    '{{ self }}',
    '{{ self._TemplateReference__context }}',
    '{{ x.toString.call }}',
    '{{ trigger.name.toString }}',
    '{{ trigger.name.__class__.__mro__ }}',
    '{{ joiner }}',
    '{{ lipsum }}',
    '{{ namespace.constructor }}',
    "{{ namespace().constructor }}",
    '{{ process }}',
    '{{ globalThis }}',
    '{{ require }}',
    '{{ raise_exception("x") }}',
    '{{ strftime_now("%Y") }}',
    '{{ trigger.items.length.constructor }}',
    "{{ trigger.name.split.constructor('return process')() }}",
    '{% macro m() %}{% endmacro %}{{ m.constructor }}',
    "{% set c = ''.constructor %}{{ c }}",
    "{{ trigger.items | map(attribute='constructor') | list }}",
    "{{ (trigger.name | attr('constructor')) }}",
    '{{ range }}',
    '{{ namespace }}',
  ])('%s reaches nothing of JavaScript', (template) => {
    const result = outcome(template);
    expect('error' in result).toBe(true);
    expect(leaksJavaScript(result)).toBe(false);
  });

  it('never mutates Object.prototype', () => {
    outcome("{% set ns = namespace() %}{% set ns.__proto__ = 1 %}{{ ns }}");
    outcome('{{ {"__proto__": {"polluted": 1}} }}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('budgets', () => {
  it.each([
    ['{% for i in range(10**9) %}x{% endfor %}', /budget of 100000 steps/],
    ['{{ range(10**9) | length }}', /budget of 100000 steps/],
    ['{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /budget of 100000 steps/],
    ['{% for i in range(99999) %}{% for j in range(5) %}{{ j }}{% endfor %}{% endfor %}', /budget|output exceeds/],
    ['{% set s = "xxxxxxxxxx" %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}', /string longer than 1048576 characters|budget/],
    ['{% set s = "xxxxxxxxxx" %}{% for i in range(40) %}{% set s = s + s %}{% endfor %}', /string longer than|budget/],
    ['{% set a = [1] %}{% for i in range(40) %}{% set a = a + a %}{% endfor %}{{ a | length }}', /budget|larger than/],
    ['{% set ns = namespace(a=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% endfor %}{{ ns.a }}', /larger than 1048576 characters|exceeds/],
    ['{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}', /nests deeper than/],
    ['{% for i in range(5000) %}{{ "x" | indent(64, true) }}{{ trigger.name | replace("", "abcdefghij") }}{% endfor %}{% for i in range(100000) %}{% endfor %}', /budget|exceeds/],
    ['{{ "abc" | indent(10**9) }}', /width must be a whole number from 0 to 64/],
    ['{% set s = "0123456789" %}{% for i in range(3) %}{% set s = s.replace("", s) %}{% endfor %}{{ s | length }}', /replace: the result exceeds 1048576 characters/],
    ['{% set s = "0123456789" %}{% for i in range(3) %}{% set s = s | replace("", s) %}{% endfor %}{{ s | length }}', /replace: the result exceeds 1048576 characters/],
    ['{{ trigger | tojson(indent=10**6) }}', /indent must be a whole number/],
  ])('%s fails fast with a clear error', (template, message) => {
    const result = outcome(template);
    expect('error' in result ? result.error : JSON.stringify(result)).toMatch(message);
  });

  it("refuses string and list repetition ('x' * n), which Jinja would build", () => {
    expect(outcome("{{ 'x' * 10**9 }}")).toEqual({ error: expect.stringContaining('Unknown operator "*"') });
    expect(outcome('{{ [1] * 10**9 }}')).toEqual({ error: expect.stringContaining('Unknown operator "*"') });
  });

  it('caps the output', () => {
    const hundred = '0123456789'.repeat(10);
    const result = outcome(`{% for i in range(200) %}{{ "${hundred}" }}{% endfor %}`, { maxOutput: 10_000 });
    expect(result).toEqual({ error: 'the template output exceeds 10000 characters' });
    expect(outcome(`{% for i in range(99) %}{{ "${hundred}" }}{% endfor %}`, { maxOutput: 10_000 })).toEqual({ value: hundred.repeat(99) });
  });

  it('takes its step budget from the options', () => {
    expect(outcome('{% for i in range(50) %}{{ i }}{% endfor %}', { maxSteps: 100 })).toEqual({ error: expect.stringContaining('budget of 100 steps') });
    expect(outcome('{% for i in range(50) %}{{ i }}{% endfor %}', { maxSteps: 1000 })).toEqual({ value: Array.from({ length: 50 }, (_, i) => i).join('') });
  });

  it('renders ordinary loops, macros and namespaces', () => {
    expect(outcome('{% for x in trigger.items %}{{ loop.index }}:{{ x }};{% endfor %}')).toEqual({ value: '1:1;2:2;' });
    expect(outcome('{% macro hi(n) %}hi {{ n }}{% endmacro %}{{ hi(trigger.name) }}')).toEqual({ value: 'hi bob' });
    expect(outcome('{% set ns = namespace(total=0) %}{% for x in trigger.items %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}')).toEqual({ value: '3' });
    expect(outcome('{{ range(3) }}')).toEqual({ value: [0, 1, 2] });
    expect(outcome('{{ range(5, 0, -2) }}')).toEqual({ value: [5, 3, 1] });
    expect(outcome('{{ "a-b-c".replace("-", "+", 1) }}')).toEqual({ value: 'a+b-c' });
    expect(outcome('{{ "a-b".replace(old="-", new="/") }}')).toEqual({ value: 'a/b' });
  });
});
