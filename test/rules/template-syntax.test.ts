import { describe, expect, it } from 'vitest';
import { checkTemplateSyntax, containsTemplate } from '../../src/rules/template-syntax.js';

describe('checkTemplateSyntax', () => {
  it.each([
    'echo "{{trigger.body}}" >> ~/st2.webhook_sample.out ; sync',
    '{{ trigger.t1_p | use_none }}',
    "{{ trigger['X-Header'] }}",
    '{% if trigger.ok %}yes{% elif trigger.maybe %}maybe{% else %}no{% endif %}',
    '{% for item in trigger.items %}{{ item }}{% else %}none{% endfor %}',
    '{%- if a -%} x {%- endif -%}',
    '{% set x = 1 %}{{ x }}',
    '{{ "}}" }} and {# a comment #}',
    'no template at all',
  ])('accepts %s', (text) => {
    expect(checkTemplateSyntax(text)).toBeNull();
  });

  it('gives line and column of a broken expression', () => {
    expect(checkTemplateSyntax('first line\n  x {{ a + }}')).toMatchObject({ line: 2, column: 5, offset: 15 });
    expect(checkTemplateSyntax('first line\n  x {{ a + }}')?.message).toContain('{{ a + }}');
  });

  it('reports an unclosed tag at its start', () => {
    expect(checkTemplateSyntax('ab {{ a }')).toEqual({ message: "'{{' is never closed with '}}'", offset: 3, line: 1, column: 4 });
    expect(checkTemplateSyntax('{% if a')?.message).toBe("'{%' is never closed with '%}'");
  });

  it('matches blocks and names the one left open or closed wrongly', () => {
    expect(checkTemplateSyntax('x\n{% if a %}y')).toMatchObject({ message: "'if' is never closed with 'endif'", line: 2, column: 1 });
    expect(checkTemplateSyntax('{% if a %}y{% endfor %}')).toMatchObject({ line: 1, column: 12 });
    expect(checkTemplateSyntax('{% if a %}y{% endfor %}')?.message).toContain("expected 'endif'");
    expect(checkTemplateSyntax('{% endif %}')?.message).toBe("'endif' has no opening block");
    expect(checkTemplateSyntax('{% else %}')?.message).toContain('outside');
  });

  it('refuses an unknown statement and a broken statement', () => {
    expect(checkTemplateSyntax('{% include "x" %}')?.message).toBe("unknown statement 'include'");
    expect(checkTemplateSyntax('{% if a %}{% elif %}{% endif %}')).toMatchObject({ column: 11 });
    expect(checkTemplateSyntax('{% for in x %}{% endfor %}')).not.toBeNull();
  });

  it('detects template syntax', () => {
    expect(containsTemplate('a {{ b }}')).toBe(true);
    expect(containsTemplate('{% if %}')).toBe(true);
    expect(containsTemplate('{ not: a template }')).toBe(false);
  });
});
