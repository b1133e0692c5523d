import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { createKeyStoreView, renderTemplate, TemplateError, type TemplateContext } from '../../../src/rules/templates/index.js';

const payload = {
  count: 5,
  ratio: 1.5,
  name: 'bob',
  flag: true,
  nothing: null,
  body: { items: [1, 2, 3], 'x-id': 'z', nested: { deep: 'yes' } },
  greeting: 'héllo wörld ✓ 日本',
};
const context: TemplateContext = { values: { trigger: payload, rule: { ref: 'pack.rule' } } };

const render = (template: string, ctx: TemplateContext = context) => renderTemplate(template, ctx);

/** The TemplateError a render throws (fails the test when it renders). */
function failure(template: string, ctx: TemplateContext = context): TemplateError {
  try {
    render(template, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).code).toBe(ErrorCode.TEMPLATE);
    return error as TemplateError;
  }
  throw new Error(`expected ${template} to fail`);
}

describe('type preservation', () => {
  it.each([
    ['{{ trigger.count }}', 5],
    ['{{ trigger.ratio }}', 1.5],
    ['{{ trigger.flag }}', true],
    ['{{ trigger.nothing }}', null],
    ['{{ trigger.body.items }}', [1, 2, 3]],
    ['{{ trigger.body.nested }}', { deep: 'yes' }],
    ['  {{ trigger.count }}\n', 5],
    ['{{- trigger.count -}}', 5],
    ['{{ trigger.count + 1 }}', 6],
    ['{{ trigger.name }}', 'bob'],
    ['{{ [trigger.count, trigger.flag] }}', [5, true]],
  ])('%s keeps its type', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it.each([
    ['n={{ trigger.count }}', 'n=5'],
    ['{{ trigger.count }}{{ trigger.count }}', '55'],
    ['{{ trigger.flag }} and {{ trigger.nothing }}', 'true and null'],
    ['b={{ trigger.body.nested }}', 'b={"deep": "yes"}'],
    ['l={{ trigger.body.items }}', 'l=[1, 2, 3]'],
    ['{{ 2.0 }} ', 2],
    ['x{{ 2.0 }}', 'x2'],
    ['{% if trigger.flag %}{{ trigger.count }}{% endif %}', '5'],
    ['plain text', 'plain text'],
    ['{{ trigger.body.nested ~ "!" }}', '{"deep": "yes"}!'],
    ['{{ trigger.count ~ trigger.flag ~ trigger.nothing }}', '5truenull'],
  ])('%s renders text in JSON spelling', (template, expected) => {
    expect(render(template)).toEqual(expected);
  });

  it('keeps unicode as it is, in text and in values', () => {
    expect(render('{{ trigger.greeting }}')).toBe('héllo wörld ✓ 日本');
    expect(render('<{{ trigger.greeting | upper }}>')).toBe('<HÉLLO WÖRLD ✓ 日本>');
    expect(render('{{ {"k": trigger.greeting} }}-')).toBe('{"k": "héllo wörld ✓ 日本"}-');
    expect(renderTemplate('{{ trigger["ключ"] }}', { values: { trigger: { ключ: 'значение' } } })).toBe('значение');
  });

  it('reads keys with odd characters by subscript, and list items by index', () => {
    expect(render("{{ trigger.body['x-id'] }}")).toBe('z');
    expect(render('{{ trigger.body.items[-1] }}')).toBe(3);
    expect(render('{{ trigger.body.items[1:] }}')).toEqual([2, 3]);
  });

  it('gives data keys precedence over dict methods', () => {
    expect(renderTemplate('{{ trigger.items }}', { values: { trigger: { items: ['a'] } } })).toEqual(['a']);
    expect(render('{{ trigger.body.nested.keys() }}')).toEqual(['deep']);
  });
});

describe('undefined names', () => {
  it('fail naming the missing path', () => {
    expect(failure('{{ trigger.missing }}').message).toBe("'trigger.missing' is undefined: trigger has no key 'missing'");
    expect(failure('x {{ trigger.body.nested.nope }} y').message).toContain("'trigger.body.nested.nope' is undefined");
    expect(failure('{{ trigger.body.items[7] }}').message).toContain('trigger.body.items has no item 7');
    expect(failure('{{ nothing_here }}').message).toBe("'nothing_here' is undefined");
  });

  it('fail when walked further, compared, tested for truth or filtered', () => {
    for (const template of ['{{ trigger.missing.deeper }}', '{{ trigger.missing == 1 }}', '{% if trigger.missing %}x{% endif %}', '{{ trigger.missing | upper }}', '{{ trigger.missing ~ "x" }}']) {
      expect(failure(template).message).toContain("'trigger.missing' is undefined");
    }
  });

  it('may be tested with is defined and replaced with default', () => {
    expect(render('{% if trigger.missing is defined %}y{% else %}n{% endif %}')).toBe('n');
    expect(render('{{ trigger.missing | default("fallback") }}')).toBe('fallback');
    expect(render('{{ trigger.count | default(0) }}')).toBe(5);
  });
});

describe('key store', () => {
  const decrypted: string[] = [];
  const keyStore = createKeyStoreView(
    {
      system: { region: { value: 'eu-west' }, limits: { value: { cpu: 4 } }, password: { secret: true, ciphertext: 'v1:0011223344556677:ciphertext' }, 'a.b': { value: 'dotted' } },
      pack: { token: { value: 'pack-token' } },
    },
    (ciphertext, scope, name) => {
      decrypted.push(`${scope}.${name}`);
      return ciphertext === 'v1:0011223344556677:ciphertext' ? 'plain-secret' : null;
    },
  );
  const withKeys: TemplateContext = { values: { trigger: payload }, keyStore };

  it('reads system keys through st2kv.system and keys, pack keys through keys.pack', () => {
    expect(render('{{ st2kv.system.region }}', withKeys)).toBe('eu-west');
    expect(render('{{ keys.region }}/{{ keys.pack.token }}', withKeys)).toBe('eu-west/pack-token');
    expect(render('{{ st2kv.system.limits.cpu }}', withKeys)).toBe(4);
    expect(render('{{ st2kv.system.a.b }}', withKeys)).toBe('dotted');
  });

  it('renders a missing key as an empty string', () => {
    expect(render('{{ st2kv.system.nope }}', withKeys)).toBe('');
    expect(render('[{{ keys.nope.deeper }}]', withKeys)).toBe('[]');
    expect(render('{{ st2kv.system.nope }}', context)).toBe('');
  });

  it('renders a secret as its ciphertext; only decrypt_kv gives the plaintext', () => {
    decrypted.length = 0;
    expect(render('{{ st2kv.system.password }}', withKeys)).toBe('v1:0011223344556677:ciphertext');
    expect(decrypted).toEqual([]);
    expect(render('{{ st2kv.system.password | decrypt_kv }}', withKeys) === 'plain-secret').toBe(true);
    expect(decrypted).toEqual(['system.password']);
  });

  it('refuses to decrypt a missing key, text that is not one of its secrets, or without a key store', () => {
    expect(failure('{{ st2kv.system.nope | decrypt_kv }}', withKeys).message).toBe('decrypt_kv: the key store item st2kv.system.nope does not exist');
    expect(failure('{{ "v1:ffff:forged" | decrypt_kv }}', withKeys).message).toContain('not a secret of the key store');
    expect(failure('{{ st2kv.system.region | decrypt_kv }}', withKeys).message).toContain('not a secret of the key store');
    expect(failure('{{ "x" | decrypt_kv }}', context).message).toContain('no key store');
  });

  it('refuses user-scoped keys and a context value that would hide the key store', () => {
    expect(failure('{{ st2kv.user.x }}', withKeys).message).toContain('only system keys');
    expect(failure('{{ keys }}', { values: { keys: 1 } }).message).toContain("'keys' names the key store");
  });
});

describe('context', () => {
  it('reads JSON data only', () => {
    expect(failure('{{ trigger }}', { values: { trigger: { f: () => 1 } } }).message).toContain('trigger.f is not JSON data');
    expect(failure('{{ trigger }}', { values: { trigger: new Map() } }).message).toContain('not JSON data');
    expect(render('{{ when }}', { values: { when: new Date('2030-01-02T03:04:05Z') } })).toBe('2030-01-02T03:04:05.000Z');
  });

  it('treats a key named __proto__ as data, in and out', () => {
    const data = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const result = renderTemplate('{{ trigger }}', { values: { trigger: data } }) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(render('{{ {"__proto__": 1} }}')).toEqual(JSON.parse('{"__proto__": 1}'));
  });

  it('reports a template that does not parse with its position', () => {
    expect(failure('ok\n{{ trigger.count + }}').message).toMatch(/does not parse at line 2, column 1/);
  });
});
