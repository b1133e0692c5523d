import { describe, expect, it } from 'vitest';
import {
  createKeyStoreView,
  PreparedContext,
  renderActionParameters,
  renderTemplate,
  SharedValues,
  TemplateError,
  type TemplateContext,
} from '../../../src/rules/templates/index.js';

/** A payload whose `host` counts how often it is read: converting it for templates reads it once. */
function countingPayload(): { payload: Record<string, unknown>; reads: () => number } {
  let reads = 0;
  const payload: Record<string, unknown> = { level: 'high', items: [1, 2] };
  Object.defineProperty(payload, 'host', {
    enumerable: true,
    get: () => {
      reads += 1;
      return 'web-1';
    },
  });
  return { payload, reads: () => reads };
}

/** The TemplateError `run` throws (fails the test when it succeeds). */
function failure(run: () => unknown): TemplateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

describe('SharedValues: context data converted once for many renders', () => {
  it('converts a shared value once, whatever the number of renders and contexts reading it', () => {
    const { payload, reads } = countingPayload();
    const shared = new SharedValues({ trigger: payload });
    for (let rule = 0; rule < 5; rule++) {
      const context: TemplateContext = { values: { rule: { ref: `p.r${rule}` } }, shared };
      expect(renderTemplate('{{ trigger.host }} for {{ rule.ref }}', context)).toBe(`web-1 for p.r${rule}`);
      expect(renderTemplate('{{ trigger.host }}', context)).toBe('web-1');
    }
    expect(reads()).toBe(1);
  });

  it('converts a value of the context itself again for every new context (only shared values are kept)', () => {
    const { payload, reads } = countingPayload();
    for (let rule = 0; rule < 3; rule++) renderTemplate('{{ trigger.host }}', { values: { trigger: payload } });
    expect(reads()).toBe(3);
  });

  it('lets a name of the context hide the same shared name', () => {
    const shared = new SharedValues({ trigger: { host: 'shared' }, event: { id: 7 } });
    expect(renderTemplate('{{ trigger.host }}/{{ event.id }}', { values: { trigger: { host: 'own' } }, shared })).toBe('own/7');
  });

  it('keeps what one render sets out of every other render sharing the values', () => {
    const shared = new SharedValues({ trigger: { host: 'web-1', count: 1 } });
    const context: TemplateContext = { values: {}, shared };
    expect(renderTemplate('{% set trigger = 5 %}{% set true = "no" %}{% set range = 1 %}{{ trigger }}{{ true }}', context)).toBe('5no');
    expect(renderTemplate('{{ trigger.host }} {{ true }} {{ range(2) }}', context)).toBe('web-1 true [0, 1]');
    expect(renderTemplate('{% set ns = namespace(n=trigger.count) %}{% set ns.n = ns.n + 1 %}{{ ns.n }}', context)).toBe('2');
    expect(renderTemplate('{% set ns = namespace(n=trigger.count) %}{{ ns.n }}', context)).toBe('1');
    expect(renderTemplate('{% set ns = namespace() %}{{ ns.n is defined }}', context)).toBe('false');
  });

  it('gives every render its own budget', () => {
    const shared = new SharedValues({ trigger: { items: [1, 2, 3] } });
    const context: TemplateContext = { values: {}, shared };
    for (let k = 0; k < 3; k++) {
      expect(renderTemplate('{% for i in range(40) %}{{ i }}{% endfor %}', context, { maxSteps: 400 })).toHaveLength(70);
    }
    expect(failure(() => renderTemplate('{% for i in range(400) %}{{ i }}{% endfor %}', context, { maxSteps: 400 })).message).toMatch(/budget of 400 steps/);
  });

  it('reaches nothing of JavaScript through shared values', () => {
    const shared = new SharedValues({ trigger: { name: 'bob', items: [1] } });
    const context: TemplateContext = { values: {}, shared };
    for (const template of ['{{ trigger.constructor }}', '{{ trigger.__proto__ }}', "{{ trigger.name.constructor.constructor('return process')() }}", '{{ trigger.items.constructor }}']) {
      expect(() => renderTemplate(template, context)).toThrow(TemplateError);
    }
  });

  it('refuses data that is not JSON when it is read, every time, naming it', () => {
    const shared = new SharedValues({ trigger: { when: new Map() } });
    const context: TemplateContext = { values: {}, shared };
    for (let k = 0; k < 2; k++) expect(failure(() => renderTemplate('{{ trigger }}', context)).message).toMatch(/trigger\.when is not JSON data/);
    expect(renderTemplate('{{ 1 }}', context)).toBe(1);
  });

  it('refuses a shared value that would hide the key store', () => {
    const shared = new SharedValues({ st2kv: { system: 'x' } });
    expect(failure(() => renderTemplate('{{ 1 }}', { values: {}, shared })).message).toMatch(/'st2kv' names the key store/);
  });

  it('reads the key store of the context, not of another render sharing the values', () => {
    const shared = new SharedValues({ trigger: { host: 'web-1' } });
    const noSecrets = () => {
      throw new Error('no secrets here');
    };
    const mine = createKeyStoreView({ system: { region: { value: 'eu' } } }, noSecrets);
    const theirs = createKeyStoreView({ system: { region: { value: 'us' } } }, noSecrets);
    expect(renderTemplate('{{ st2kv.system.region }}-{{ trigger.host }}', { values: {}, shared, keyStore: mine })).toBe('eu-web-1');
    expect(renderTemplate('{{ st2kv.system.region }}-{{ trigger.host }}', { values: {}, shared, keyStore: theirs })).toBe('us-web-1');
  });

  it('is read by PreparedContext through the context it prepares', () => {
    const shared = new SharedValues({ trigger: { host: 'web-1' } });
    const prepared = new PreparedContext({ values: { rule: { ref: 'p.r' } }, shared }).with('extra', 3);
    expect(prepared.has('trigger')).toBe(true);
    expect(prepared.has('missing')).toBe(false);
    expect(renderTemplate('{{ trigger.host }} {{ rule.ref }} {{ extra }}', prepared)).toBe('web-1 p.r 3');
  });
});

describe('renderActionParameters with shared values', () => {
  const schema = { type: 'object', properties: { message: { type: 'string' }, count: { type: 'integer' } } };

  it('takes the shared names as names templates can read, not as missing parameters', () => {
    const { payload, reads } = countingPayload();
    const shared = new SharedValues({ trigger: payload, event: { id: 9 } });
    for (let rule = 0; rule < 4; rule++) {
      const { params } = renderActionParameters(
        { message: 'rule {{ rule.ref }}: {{ trigger.host }} #{{ event.id }}', count: '{{ trigger.items | length }}' },
        schema,
        { values: { rule: { ref: `p.r${rule}` } }, shared },
      );
      expect(params).toEqual({ message: `rule p.r${rule}: web-1 #9`, count: 2 });
    }
    expect(reads()).toBe(1);
  });

  it('still names a reference that is neither a parameter nor a shared or context name', () => {
    const shared = new SharedValues({ trigger: { host: 'web-1' } });
    const error = failure(() => renderActionParameters({ message: '{{ trigger.host }} {{ nowhere }}' }, schema, { values: {}, shared }));
    expect(error.field).toBe('message');
    expect(error.message).toMatch(/refers to 'nowhere'/);
  });
});
