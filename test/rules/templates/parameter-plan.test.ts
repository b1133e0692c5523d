/**
 * prepareActionParameters: a rule's parameters prepared once and rendered
 * against many contexts (the rules role renders each rule for every event of
 * a batch) give what renderActionParameters gives for each context, errors
 * included, however the contexts differ.
 */
import { describe, expect, it } from 'vitest';
import {
  prepareActionParameters,
  renderActionParameters,
  SharedValues,
  TemplateError,
  type ActionParameterSchema,
  type TemplateContext,
} from '../../../src/rules/templates/index.js';

const schema: ActionParameterSchema = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    host: { type: 'string' },
    count: { type: 'integer', default: 1 },
    cmd: { type: 'string', default: 'echo {{ message }}' },
  },
};

/** What a render does: its parameters, or the TemplateError's message and field. */
function outcome(run: () => { params: Record<string, unknown> }): unknown {
  try {
    return { params: run().params };
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return { error: (error as TemplateError).message, field: (error as TemplateError).field };
  }
}

describe('prepareActionParameters', () => {
  it('renders like renderActionParameters for every context it is given', () => {
    const ruleParams = { message: '{{ trigger.host }} is {{ trigger.level }}', host: '{{ trigger.host }}', count: '{{ trigger.n }}' };
    const plan = prepareActionParameters(ruleParams, schema);
    for (let n = 0; n < 5; n++) {
      const context: TemplateContext = { values: { rule: { ref: 'p.r' } }, shared: new SharedValues({ trigger: { host: `web-${n}`, level: 'high', n: String(n) } }) };
      const expected = renderActionParameters(ruleParams, schema, context);
      expect(plan.render(context)).toEqual(expected);
      expect(expected.params).toEqual({ count: n, cmd: `echo web-${n} is high`, message: `web-${n} is high`, host: `web-${n}` });
    }
  });

  it('follows the names of each context: a parameter named like a context value reads the context, and the order changes with it', () => {
    const ruleParams = { message: 'hi {{ host }}', host: '{{ trigger.host }}' };
    const plan = prepareActionParameters(ruleParams, schema);
    const plain: TemplateContext = { values: { trigger: { host: 'web-1' } } };
    const hiding: TemplateContext = { values: { trigger: { host: 'web-1' }, host: 'from-context' } };
    for (const context of [plain, hiding, plain, hiding]) {
      expect(plan.render(context)).toEqual(renderActionParameters(ruleParams, schema, context));
    }
    expect(plan.render(plain).params.message).toBe('hi web-1');
    expect(plan.render(hiding).params.message).toBe('hi from-context');
  });

  it('throws at every render what renderActionParameters throws, and renders again once the context allows it', () => {
    const plan = prepareActionParameters({ message: '{{ nowhere }}' }, schema);
    const missing: TemplateContext = { values: { trigger: {} } };
    const present: TemplateContext = { values: { trigger: {}, nowhere: 'here' } };
    for (let k = 0; k < 2; k++) {
      expect(outcome(() => plan.render(missing))).toEqual(outcome(() => renderActionParameters({ message: '{{ nowhere }}' }, schema, missing)));
      expect(outcome(() => plan.render(missing))).toMatchObject({ field: 'message', error: expect.stringMatching(/refers to 'nowhere'/) });
    }
    expect(plan.render(present).params.message).toBe('here');
  });

  it('reports an immutable parameter and a cycle at render time, never when preparing', () => {
    const immutable: ActionParameterSchema = { properties: { level: { type: 'string', immutable: true, default: 'low' } } };
    const fixed = prepareActionParameters({ level: 'high' }, immutable);
    expect(outcome(() => fixed.render({ values: {} }))).toEqual({ error: "parameter 'level' is immutable: the rule cannot set it", field: 'level' });
    const cycle = prepareActionParameters({ message: '{{ host }}', host: '{{ message }}' }, schema);
    expect(outcome(() => cycle.render({ values: {} }))).toMatchObject({ error: expect.stringMatching(/refer to each other in a cycle/) });
    expect(outcome(() => cycle.render({ values: {} }))).toEqual(outcome(() => renderActionParameters({ message: '{{ host }}', host: '{{ message }}' }, schema, { values: {} })));
  });

  it('gives each render its own result objects', () => {
    const plan = prepareActionParameters({ message: 'x', host: '{{ trigger.host }}', extra: { list: ['{{ trigger.host }}'] } }, { properties: {} });
    const first = plan.render({ values: { trigger: { host: 'a' } } }).params;
    const second = plan.render({ values: { trigger: { host: 'b' } } }).params;
    (first.extra as { list: string[] }).list.push('changed');
    expect(second).toEqual({ message: 'x', host: 'b', extra: { list: ['b'] } });
  });

  it('keeps parameters and object keys named like Object.prototype members as own data', () => {
    const ruleParams = JSON.parse('{"__proto__": "{{ trigger.host }}", "constructor": "c", "toString": {"__proto__": 1, "valueOf": "{{ trigger.host }}"}}') as Record<string, unknown>;
    const { params } = prepareActionParameters(ruleParams, { properties: {} }).render({ values: { trigger: { host: 'web-1' } } });
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.keys(params)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')).toMatchObject({ value: 'web-1', enumerable: true, writable: true });
    expect(params.constructor).toBe('c');
    const nested = params.toString as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(nested, '__proto__')?.value).toBe(1);
    expect(nested.valueOf).toBe('web-1');
  });
});
