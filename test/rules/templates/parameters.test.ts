import { describe, expect, it } from 'vitest';
import { castToDeclaredType, NONE_MAGIC_VALUE, renderActionParameters, TemplateError, type ActionParameterSchema, type TemplateContext } from '../../../src/rules/templates/index.js';

const context: TemplateContext = {
  values: { trigger: { count: '5', ratio: 1.5, message: 'hi there', tags: ['a', 'b'], on: 'TRUE', spec: '{"x": 1}' }, rule: { ref: 'p.r' } },
};

const schema = (properties: ActionParameterSchema['properties']): ActionParameterSchema => ({ type: 'object', properties });

/** The TemplateError renderActionParameters throws (fails the test when it succeeds). */
function failure(run: () => unknown): TemplateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error('expected the parameters to fail');
}

describe('castToDeclaredType', () => {
  it.each([
    ['integer', '5', 5],
    ['integer', ' -12 ', -12],
    ['integer', 7, 7],
    ['number', '1.5', 1.5],
    ['number', '2', 2],
    ['number', '1e3', 1000],
    ['number', 3, 3],
    ['boolean', 'true', true],
    ['boolean', 'False', false],
    ['boolean', 'TRUE', true],
    ['boolean', false, false],
    ['object', '{"a": [1]}', { a: [1] }],
    ['object', { a: 1 }, { a: 1 }],
    ['array', '[1, "x"]', [1, 'x']],
    ['array', ['y'], ['y']],
    ['string', 'text', 'text'],
    ['string', 5, '5'],
    ['string', true, 'true'],
    ['string', { a: 1 }, '{"a":1}'],
    ['integer', null, null],
    ['string', NONE_MAGIC_VALUE, null],
    ['integer', NONE_MAGIC_VALUE, null],
  ])('%s from %j is %j', (type, value, expected) => {
    expect(castToDeclaredType(value, { type }, 'p')).toEqual(expected);
  });

  it.each([
    ['integer', '1.5'],
    ['integer', 1.5],
    ['integer', 'five'],
    ['integer', true],
    ['number', 'abc'],
    ['number', ''],
    ['boolean', 'yes'],
    ['boolean', 1],
    ['object', '[1]'],
    ['object', 'not json'],
    ['array', '{"a": 1}'],
    ['null', 'x'],
  ])('%s from %j is an error naming the parameter', (type, value) => {
    const error = failure(() => castToDeclaredType(value, { type }, 'limit'));
    expect(error.field).toBe('limit');
    expect(error.message).toContain(`parameter 'limit' is declared ${type}`);
  });

  it('tries each type of a list, and leaves undeclared types alone', () => {
    expect(castToDeclaredType('5', { type: ['integer', 'string'] }, 'p')).toBe('5');
    expect(castToDeclaredType('5', { type: ['boolean', 'integer'] }, 'p')).toBe(5);
    expect(castToDeclaredType('5', {}, 'p')).toBe('5');
    expect(castToDeclaredType('5', undefined, 'p')).toBe('5');
  });
});

describe('renderActionParameters', () => {
  it('renders and casts each parameter to its declared type', () => {
    const { params } = renderActionParameters(
      { count: '{{ trigger.count }}', ratio: '{{ trigger.ratio }}', on: '{{ trigger.on }}', spec: '{{ trigger.spec }}', tags: '{{ trigger.tags }}', text: 'n={{ trigger.count }}' },
      schema({ count: { type: 'integer' }, ratio: { type: 'number' }, on: { type: 'boolean' }, spec: { type: 'object' }, tags: { type: 'array' }, text: { type: 'string' } }),
      context,
    );
    expect(params).toEqual({ count: 5, ratio: 1.5, on: true, spec: { x: 1 }, tags: ['a', 'b'], text: 'n=5' });
  });

  it('renders in dependency order, a parameter reading others after they are cast', () => {
    const { params } = renderActionParameters(
      { cmd: 'echo "{{ message }}" {{ times + 1 }}', message: '{{ trigger.message | upper }}', times: '{{ trigger.count }}' },
      schema({ cmd: { type: 'string' }, message: { type: 'string' }, times: { type: 'integer' } }),
      context,
    );
    expect(params).toEqual({ cmd: 'echo "HI THERE" 6', message: 'HI THERE', times: 5 });
    expect(Object.keys(params)).toEqual(['cmd', 'message', 'times']);
  });

  it('applies defaults, rendering the templates they hold, and leaves out parameters with neither value nor default', () => {
    const { params } = renderActionParameters(
      { message: 'hello' },
      schema({ message: { type: 'string' }, cmd: { type: 'string', default: 'say {{ message }} to {{ rule.ref }}' }, retries: { type: 'integer', default: 3 }, optional: { type: 'string' } }),
      context,
    );
    expect(params).toEqual({ message: 'hello', cmd: 'say hello to p.r', retries: 3 });
  });

  it('renders templates inside objects and lists', () => {
    const { params } = renderActionParameters({ body: { text: '{{ trigger.message }}', list: ['{{ trigger.ratio }}', 'x'] } }, schema({ body: { type: 'object' } }), context);
    expect(params).toEqual({ body: { text: 'hi there', list: [1.5, 'x'] } });
  });

  it('does not render a raw_string parameter', () => {
    const { params } = renderActionParameters({ script: 'echo {{ not_a_name }}' }, schema({ script: { type: 'string', rawString: true } }), context);
    expect(params).toEqual({ script: 'echo {{ not_a_name }}' });
  });

  it('refuses a cycle, naming the parameters in it', () => {
    const error = failure(() => renderActionParameters({ a: '{{ b }}', b: '{{ c }}', c: '{{ a }}', d: '{{ a }}' }, schema({}), context));
    expect(error.message).toBe("parameters 'a' → 'b' → 'c' → 'a' refer to each other in a cycle");
    expect(failure(() => renderActionParameters({ a: 'x{{ a }}' }, schema({}), context)).message).toBe("parameters 'a' → 'a' refer to each other in a cycle");
  });

  it('refuses a reference to nothing, naming both', () => {
    const error = failure(() => renderActionParameters({ cmd: 'echo {{ mesage }}', message: 'x' }, schema({}), context));
    expect(error.field).toBe('cmd');
    expect(error.message).toBe("parameter 'cmd' refers to 'mesage', which is neither a parameter of the action nor a name templates can read");
  });

  it('does not count names the template binds itself as references', () => {
    const { params } = renderActionParameters(
      { out: '{% for t in trigger.tags %}{{ t }}{% endfor %}{% set n = 2 %}{{ n }}{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}{{ loop is defined }}' },
      schema({}),
      context,
    );
    expect(params).toEqual({ out: 'ab21false' });
  });

  it('refuses an immutable parameter set by the rule', () => {
    const error = failure(() => renderActionParameters({ cmd: 'rm -rf /' }, schema({ cmd: { type: 'string', immutable: true, default: 'ls' } }), context));
    expect(error.field).toBe('cmd');
    expect(error.message).toBe("parameter 'cmd' is immutable: the rule cannot set it");
    expect(renderActionParameters({}, schema({ cmd: { type: 'string', immutable: true, default: 'ls' } }), context).params).toEqual({ cmd: 'ls' });
  });

  it('names the parameter whose template fails', () => {
    const error = failure(() => renderActionParameters({ to: '{{ trigger.missing }}' }, schema({ to: { type: 'string' } }), context));
    expect(error.field).toBe('to');
    expect(error.message).toBe("parameter 'to': 'trigger.missing' is undefined: trigger has no key 'missing'");
    expect(failure(() => renderActionParameters({ n: '{{ trigger.message }}' }, schema({ n: { type: 'integer' } }), context)).field).toBe('n');
  });
});
