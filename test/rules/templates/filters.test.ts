import { describe, expect, it } from 'vitest';
import { NONE_MAGIC_VALUE, renderTemplate, STACKSTORM_FILTER_NAMES, TemplateError } from '../../../src/rules/templates/index.js';

const data = {
  input: { a: { b: { c: 1234 } } },
  zoo: { animals: ['bird', 'rabbit', 'cat', 'dog', 'sheep'] },
  people: { people: [{ first: 'James', last: 'd' }, { first: 'Jacob', last: 'e' }, { first: 'Jayden', last: 'f' }] },
  doc: { a: 1, b: ['x', 'y'] },
  secretish: 'p@ss "w0rd"',
};

const render = (template: string) => renderTemplate(template, { values: data });

function error(template: string): string {
  try {
    render(template);
  } catch (caught) {
    expect(caught).toBeInstanceOf(TemplateError);
    return (caught as Error).message;
  }
  throw new Error(`expected ${template} to fail`);
}

describe("StackStorm's filters", () => {
  it('are all there', () => {
    expect(STACKSTORM_FILTER_NAMES).toEqual(
      [
        'basename', 'decrypt_kv', 'dirname', 'from_json_string', 'from_yaml_string', 'json_escape', 'jsonpath_query',
        'regex_match', 'regex_replace', 'regex_search', 'regex_substring', 'to_complex', 'to_human_time_from_seconds',
        'to_json_string', 'to_yaml_string', 'use_none', 'version_bump_major', 'version_bump_minor', 'version_bump_patch',
        'version_compare', 'version_equal', 'version_less_than', 'version_match', 'version_more_than', 'version_strip_patch',
      ].sort(),
    );
  });
});

describe('JSON and YAML', () => {
  it.each([
    ['{{ doc | to_json_string }}', '{"a": 1,"b": ["x","y"]}'],
    ['{{ doc | to_json_string(indent=2) }}', '{\n  "a": 1,\n  "b": [\n    "x",\n    "y"\n  ]\n}'],
    ['{{ {"b": 1, "a": 2} | to_json_string(sort_keys=true) }}', '{"a": 2,"b": 1}'],
    ['{{ {"a": 1, "b": 2} | to_json_string(separators=[",", ":"]) }}', '{"a":1,"b":2}'],
    ['{{ "é✓" | to_json_string }}', '"\\u00e9\\u2713"'],
    ['{{ doc | to_complex }}', '{"a": 1, "b": ["x", "y"]}'],
    ['{{ doc | to_yaml_string }}', 'a: 1\nb:\n- x\n- y\n'],
    ['{{ \'{"k": [1, true, null]}\' | from_json_string }}', { k: [1, true, null] }],
    ['{{ "a: 1\\nb: [x, y]" | from_yaml_string }}', { a: 1, b: ['x', 'y'] }],
    ['{{ (doc | to_json_string) | from_json_string }}', data.doc],
    // Python strips every quote at either end, so an escaped quote at the end loses its quote (StackStorm's output).
    ['{{ secretish | json_escape }}', 'p@ss \\"w0rd\\'],
    ['{{ "line1\\nline2\\ttab é" | json_escape }}', 'line1\\nline2\\ttab \\u00e9'],
  ])('%s', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('never quotes the value in a parse error (it may be a decrypted secret)', () => {
    const message = error('{{ secretish | from_json_string }}');
    expect(message).toBe('from_json_string: the value is not valid JSON');
    expect(message.includes('w0rd')).toBe(false);
    expect(error('{{ "a: [" | from_yaml_string }}')).toMatch(/^from_yaml_string: the value is not valid YAML/);
  });

  it('bounds YAML aliases', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\\n');
    expect(error(`{{ "${bomb}" | from_yaml_string }}`)).toMatch(/from_yaml_string|larger than|budget/);
  });
});

describe('jsonpath_query (StackStorm documentation examples)', () => {
  it.each([
    ["{{ input | jsonpath_query('a.b.c') }}", [1234]],
    ["{{ zoo | jsonpath_query('animals[1]') }}", ['rabbit']],
    ["{{ zoo | jsonpath_query('animals[*]') }}", data.zoo.animals],
    ["{{ zoo | jsonpath_query('animals[1:3]') }}", ['rabbit', 'cat']],
    ["{{ zoo | jsonpath_query('animals[:2]') }}", ['bird', 'rabbit']],
    ["{{ zoo | jsonpath_query('animals[2:]') }}", ['cat', 'dog', 'sheep']],
    ["{{ people | jsonpath_query('people[*].first') }}", ['James', 'Jacob', 'Jayden']],
    ["{{ people | jsonpath_query('$..last') }}", ['d', 'e', 'f']],
    ["{{ zoo | jsonpath_query('$.animals[-1]') }}", ['sheep']],
    ["{{ zoo | jsonpath_query('animals[0,2]') }}", ['bird', 'cat']],
    ["{{ people | jsonpath_query(\"people[0]['first']\") }}", ['James']],
    ["{{ input | jsonpath_query('a.*') }}", [{ c: 1234 }]],
    ["{{ input | jsonpath_query('a.nothing') }}", null],
  ])('%s', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('refuses filter expressions and broken queries with the position', () => {
    expect(error("{{ zoo | jsonpath_query('animals[?(@ == 1)]') }}")).toContain('filter expressions are not supported');
    expect(error("{{ zoo | jsonpath_query('animals[1') }}")).toMatch(/']' expected at position/);
    expect(error('{{ zoo | jsonpath_query }}')).toContain("needs its 'query' argument");
  });
});

describe('regex filters (Python syntax)', () => {
  it.each([
    [String.raw`{{ "v1.2.3" | regex_match("^v(\\d+\\.)?(\\d+\\.)?(\\*|\\d+)$") }}`, true],
    ['{{ "xv1" | regex_match("v") }}', false],
    ['{{ "xv1" | regex_search("v") }}', true],
    ['{{ "ABC" | regex_search("abc") }}', false],
    ['{{ "ABC" | regex_search("abc", ignorecase=true) }}', true],
    ['{{ "ABC" | regex_match("abc", true) }}', true],
    [String.raw`{{ "Hello\nWorld" | regex_search("Hello\\Z") }}`, false],
    [String.raw`{{ "white" | regex_replace("(blue|white|red)", "beautiful color \\1") }}`, 'beautiful color white'],
    [String.raw`{{ "a1b22" | regex_replace("\\d", "#") }}`, 'a#b##'],
    [String.raw`{{ "john smith" | regex_replace("(?P<first>\\w+) (?P<last>\\w+)", "\\g<last>, \\g<first>") }}`, 'smith, john'],
    [String.raw`{{ "My address is 123 Somewhere Ave. See, Somewhere Out There" | regex_substring("([0-9]{3} \\w+ (?:Ave|St|Dr))") }}`, '123 Somewhere Ave'],
    [String.raw`{{ "a1 b2 c3" | regex_substring("[a-z]\\d", 2) }}`, 'c3'],
    [String.raw`{{ "a1 b2 c3" | regex_substring("([a-z])(\\d)", -1) }}`, ['c', '3']],
    ['{{ 12345 | regex_search("234") }}', true],
  ])('%s', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('names what is wrong', () => {
    expect(error(String.raw`{{ "abc" | regex_substring("\\d") }}`)).toBe('regex_substring: no match at index 0 (0 found)');
    expect(error('{{ "abc" | regex_search("(?i:a)") }}')).toMatch(/^regex_search: /);
    expect(error(String.raw`{{ "abc" | regex_replace("b", "\\q") }}`)).toContain('bad escape \\q');
    expect(error('{{ "abc" | regex_match }}')).toContain("needs its 'pattern' argument");
    expect(error('{{ "abc" | regex_match("a", nope=1) }}')).toContain("has no argument 'nope'");
  });
});

describe('version filters', () => {
  it.each([
    ['{{ "0.10.0" | version_compare("0.10.1") }}', -1],
    ['{{ "0.10.1" | version_compare("0.10.0") }}', 1],
    ['{{ "0.10.0" | version_compare("0.10.0+build.5") }}', 0],
    ['{{ "1.0.0-alpha" | version_compare("1.0.0") }}', -1],
    ['{{ "1.0.0-alpha.1" | version_compare("1.0.0-alpha.beta") }}', -1],
    ['{{ "1.0.0-rc.1" | version_compare("1.0.0-beta.11") }}', 1],
    ['{{ "1.6.0" | version_more_than("1.7.0") }}', false],
    ['{{ "1.6.0" | version_less_than("1.7.0") }}', true],
    ['{{ "0.10.0" | version_equal("0.10.0") }}', true],
    ['{{ "2.0.0" | version_match(">=1.0.0") }}', true],
    ['{{ "0.10.0" | version_match(">0.10.0") }}', false],
    ['{{ "0.9.0" | version_match("<0.10.0") }}', true],
    ['{{ "0.10.0" | version_match("==0.10.0") }}', true],
    ['{{ "0.10.0" | version_match("!=0.10.0") }}', false],
    ['{{ "0.10.1" | version_bump_major }}', '1.0.0'],
    ['{{ "0.10.1" | version_bump_minor }}', '0.11.0'],
    ['{{ "0.10.1" | version_bump_patch }}', '0.10.2'],
    ['{{ "0.10.1" | version_strip_patch }}', '0.10'],
  ])('%s', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('refuses what is not a semantic version', () => {
    expect(error('{{ "1.0" | version_bump_major }}')).toBe('version_bump_major: not a semantic version (MAJOR.MINOR.PATCH)');
    expect(error('{{ "1.0.0" | version_match("~1.0.0") }}')).toContain('must start with one of');
  });
});

describe('other filters', () => {
  it.each([
    ['{{ none | use_none }}', NONE_MAGIC_VALUE],
    ['{{ "x" | use_none }}', 'x'],
    ['{{ "/tmp/a/b.txt" | basename }}', 'b.txt'],
    ['{{ "/tmp/a/" | basename }}', ''],
    ['{{ "/tmp/a/b.txt" | dirname }}', '/tmp/a'],
    ['{{ "/tmp/a/" | dirname }}', '/tmp/a'],
    ['{{ "b.txt" | dirname }}', ''],
    ['{{ "//x" | dirname }}', '//'],
    ['{{ 0 | to_human_time_from_seconds }}', '0s'],
    ['{{ 0.5 | to_human_time_from_seconds }}', '0.5\u03bcs'],
    ['{{ 1 | to_human_time_from_seconds }}', '1s'],
    ['{{ 56 | to_human_time_from_seconds }}', '56s'],
    ['{{ 60 | to_human_time_from_seconds }}', '1m0s'],
    ['{{ 3725 | to_human_time_from_seconds }}', '1h2m5s'],
    ['{{ 86400 | to_human_time_from_seconds }}', '1d0h0m0s'],
    ['{{ 90061 | to_human_time_from_seconds }}', '1d1h1m1s'],
    ['{{ 31536000 | to_human_time_from_seconds }}', '1y0d0h0m0s'],
    ['{{ 2.5 | to_human_time_from_seconds }}', '2s'],
    ['{{ 3.5 | to_human_time_from_seconds }}', '4s'],
    // StackStorm reads the day of the month: 40 days is February 10th of year 1, so "9d".
    ['{{ 3456000 | to_human_time_from_seconds }}', '9d0h0m0s'],
  ])('%s', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('keeps the library built-ins, with JSON spelling and bounds', () => {
    expect(render('{{ [1, "a", {"k": true}] | join(", ") }}')).toBe('1, a, {"k": true}');
    expect(render('{{ {"a": [1, 2]} | tojson }}')).toBe('{"a": [1, 2]}');
    expect(render('{{ {"b": 1, "a": 2} | tojson(indent=2, sort_keys=true) }}')).toBe('{\n  "a": 2,\n  "b": 1\n}');
    expect(render('{{ true | string }}-')).toBe('true-');
    expect(render('{{ "a\\nb" | indent(2, true) }}')).toBe('  a\n  b');
    expect(render('{{ "aaa" | replace("a", "b", 2) }}')).toBe('bba');
    expect(render('{{ ["b", "a"] | sort | first }}')).toBe('a');
    expect(render('{{ "Hello" | lower }}')).toBe('hello');
    expect(render('{{ zoo.animals | length }}')).toBe(5);
  });
});
