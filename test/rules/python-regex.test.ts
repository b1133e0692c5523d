import { describe, expect, it } from 'vitest';
import { compilePythonRegex, translatePythonRegex } from '../../src/rules/python-regex.js';

function matches(pattern: string, text: string, options = {}): boolean {
  return compilePythonRegex(pattern, options).test(text);
}

describe('Python regex translation', () => {
  it('translates named groups and their backreferences', () => {
    const regex = compilePythonRegex('(?P<word>ab)-(?P=word)');
    expect(regex.exec('xab-ab')?.groups?.word).toBe('ab');
    expect(regex.test('ab-ac')).toBe(false);
  });

  it('translates \\A and \\Z as string anchors, and $ as Python does (before a final newline)', () => {
    expect(matches('\\Afoo\\Z', 'foo')).toBe(true);
    expect(matches('\\Afoo\\Z', 'foo\n')).toBe(false);
    expect(matches('foo$', 'foo\n')).toBe(true);
    expect(matches('foo$', 'foo\nbar')).toBe(false);
    expect(matches('(?m)^bar$', 'foo\nbar\nbaz')).toBe(true);
    expect(matches('^bar', 'foo\nbar')).toBe(false);
  });

  it('keeps . from matching only \\n, unless DOTALL (matchregex) is on', () => {
    expect(matches('a.b', 'a\rb')).toBe(true);
    expect(matches('a.b', 'a\nb')).toBe(false);
    expect(matches('a.b', 'a\nb', { dotAll: true })).toBe(true);
    expect(matches('(?s)a.b', 'a\nb')).toBe(true);
  });

  it('makes \\d, \\w and \\b Unicode-aware as in Python 3, and ASCII under (?a)', () => {
    expect(matches('^\\d+$', '١٢٣')).toBe(true);
    expect(matches('^\\w+$', 'héllo_wörld')).toBe(true);
    expect(matches('\\bwörld\\b', 'héllo wörld')).toBe(true);
    expect(matches('(?a)^\\w+$', 'héllo')).toBe(false);
  });

  it('takes leading flags, {,n}, literal braces, a leading ] in a class and escaped punctuation', () => {
    expect(matches('(?i)ABC', 'xabc')).toBe(true);
    expect(translatePythonRegex('a{,3}')).toMatchObject({ ok: true, source: 'a{0,3}' });
    expect(matches('^a{x}$', 'a{x}')).toBe(true);
    expect(matches('^[]a]+$', ']a]')).toBe(true);
    expect(matches('^\\-\\:\\#$', '-:#')).toBe(true);
    expect(matches('^\\x41\\u00e9\\U0001F600$', 'Aé😀')).toBe(true);
    expect(matches('(a)\\1', 'aa')).toBe(true);
    expect(matches('^a(?#comment)b$', 'ab')).toBe(true);
    expect(matches('(?<=a)b(?!c)', 'ab')).toBe(true);
  });

  it.each([
    ['a(?i)b', 'inline flags are allowed only at the start', 1],
    ['(?i:a)', 'scoped inline flags', 0],
    ['a++', 'possessive', 1],
    ['a{2}+', 'possessive', 1],
    ['(?>a)', 'atomic groups', 0],
    ['(a)(?(1)b|c)', 'conditional groups', 3],
    ['(?x) a b', 'verbose mode', 0],
    ['\\N{EM DASH}', 'named characters', 0],
    ['[\\W]', 'inside a character class', 1],
    ['\\q', 'unknown escape', 0],
    ['[abc', 'unterminated character class', 0],
    ['abc\\', 'lone backslash', 3],
  ])('refuses %s with a reason and its position', (pattern, reason, position) => {
    const result = translatePythonRegex(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toContain(reason);
      expect(result.position).toBe(position);
    }
  });

  it('refuses a pattern that is invalid in both languages', () => {
    const result = translatePythonRegex('(ab');
    expect(result.ok).toBe(false);
    expect(() => compilePythonRegex('(ab')).toThrow(/invalid regular expression/);
  });
});
