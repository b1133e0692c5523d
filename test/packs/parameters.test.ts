/** StackStorm's per-parameter form → draft-07 JSON Schema, runner overrides, and full JSON Schemas. */
import { describe, expect, it } from 'vitest';
import { normalizeJsonSchema, type Report } from '../../src/packs/json-schema.js';
import { parameterSchema, propertiesSchema } from '../../src/packs/parameters.js';
import type { RunnerParameter } from '../../src/packs/runner-types.js';

function convert(input: unknown, runnerParameters?: Record<string, RunnerParameter>) {
  const problems: { path: string; message: string; severity: string }[] = [];
  const report: Report = (path, message, severity = 'error') => problems.push({ path: path.join('.'), message, severity });
  const schema = parameterSchema(input, ['parameters'], report, { owner: "action 'demo.a'", runnerParameters });
  return { schema, errors: problems.filter((problem) => problem.severity === 'error'), warnings: problems.filter((problem) => problem.severity === 'warning') };
}

const RUNNER: Record<string, RunnerParameter> = {
  cmd: { type: 'string', description: 'command' },
  sudo: { type: 'boolean', default: false, description: 'sudo' },
  timeout: { type: 'integer', default: 60, description: 'timeout' },
  fixed: { type: 'boolean', default: true, immutable: true, description: 'fixed' },
  token: { type: 'string', description: 'token' },
};

describe('per-parameter form', () => {
  it('turns each StackStorm attribute into draft 07, keeping secret, immutable and position as annotations', () => {
    const { schema, errors } = convert({
      name: { type: 'string', description: 'who', required: true, position: 0 },
      count: { type: 'integer', default: 3, minimum: 1, maximum: 10, exclusiveMaximum: true, position: 1 },
      password: { type: 'string', secret: true },
      mode: { type: 'string', enum: ['a', 'b'], default: 'a', immutable: true },
      raw: { type: 'raw_string' },
      anything: {},
      nested: { type: 'object', properties: { inner: { type: 'string', required: true } } },
    });
    expect(errors).toEqual([]);
    expect(schema).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', description: 'who', position: 0 },
        count: { type: 'integer', default: 3, minimum: 1, exclusiveMaximum: 10, position: 1 },
        password: { type: 'string', secret: true },
        mode: { type: 'string', enum: ['a', 'b'], default: 'a', immutable: true },
        raw: { type: 'string', rawString: true },
        anything: { anyOf: [{ type: 'array' }, { type: 'boolean' }, { type: 'integer' }, { type: 'number' }, { type: 'object' }, { type: 'string' }] },
        nested: { type: 'object', properties: { inner: { type: 'string' } }, required: ['inner'] },
      },
      required: ['name'],
      additionalProperties: false,
    });
  });

  it('gives {} for no parameters, and refuses bad attributes naming each', () => {
    expect(convert(undefined).schema).toEqual({});
    expect(convert({}).schema).toEqual({});
    const { errors } = convert({
      a: { type: 'text' },
      b: { required: 'yes' },
      c: { position: -1 },
      d: { colour: 'red' },
      'e-f': { type: 'string' },
      g: 'string',
      h: { enum: [] },
    });
    expect(errors.map((error) => `${error.path}: ${error.message}`)).toEqual([
      'parameters.g: parameter \'g\' must be a mapping of attributes (type, description, default, ...), got "string"',
      'parameters.a.type: must be one of array, boolean, integer, null, number, object, string, raw_string, got "text"',
      'parameters.b.required: must be true or false, got "yes"',
      'parameters.c.position: must be a whole number from 0, got -1',
      "parameters.d.colour: unknown parameter attribute 'colour'",
      `parameters.e-f: parameter name "e-f" may hold only letters, digits and '_'`,
      'parameters.h.enum: must be a non-empty list of the allowed values',
    ]);
  });

  it('requires positions to be unique and contiguous, and immutable parameters to have a default', () => {
    expect(convert({ a: { position: 0 }, b: { position: 0 } }).errors.map((error) => error.message)).toEqual(["parameters 'a' and 'b' both have position 0; positions must be unique"]);
    expect(convert({ a: { position: 0 }, b: { position: 2 } }).errors.map((error) => error.message)).toEqual(['positions 0, 2 are not contiguous; positional parameters must be numbered without gaps']);
    expect(convert({ a: { position: 1 }, b: { position: 2 } }).errors).toEqual([]);
    expect(convert({ a: { type: 'string', immutable: true } }).errors.map((error) => error.message)).toEqual(["parameter 'a' is immutable and so needs a default"]);
  });
});

describe('runner parameters', () => {
  it('merges them in, with the overridable attributes of an action winning', () => {
    const { schema, errors } = convert({ cmd: { required: true, default: 'echo hi', immutable: true }, sudo: { immutable: true }, extra: { type: 'number' } }, RUNNER);
    expect(errors).toEqual([]);
    expect(schema.required).toEqual(['cmd']);
    expect(schema.properties).toMatchObject({
      cmd: { type: 'string', description: 'command', default: 'echo hi', immutable: true },
      sudo: { type: 'boolean', default: false, immutable: true },
      timeout: { type: 'integer', default: 60 },
      fixed: { immutable: true },
      extra: { type: 'number' },
    });
  });

  it('refuses what StackStorm refuses: other attributes changed, immutable overridden, immutable without a default', () => {
    const { errors } = convert({ timeout: { type: 'number' }, sudo: { type: 'boolean', secret: true }, fixed: { immutable: false }, token: { immutable: true } }, RUNNER);
    expect(errors.map((error) => `${error.path}: ${error.message}`)).toEqual([
      "parameters.timeout.type: action 'demo.a' cannot change 'type' of the runner parameter 'timeout' (only default, description, enum, immutable, required may be overridden)",
      "parameters.sudo.secret: action 'demo.a' cannot change 'secret' of the runner parameter 'sudo' (only default, description, enum, immutable, required may be overridden)",
      "parameters.fixed.immutable: the runner declares 'fixed' immutable; action 'demo.a' cannot override it",
      "parameters.token.immutable: parameter 'token' is immutable and so needs a default (neither the action nor the runner gives one)",
    ]);
    // The same value as the runner's is not a change.
    expect(convert({ timeout: { type: 'integer' } }, RUNNER).errors).toEqual([]);
  });
});

describe('full JSON Schema form', () => {
  it('is accepted, with its required list, merged with the runner parameters', () => {
    const { schema, errors } = convert({ type: 'object', properties: { url: { type: 'string', format: 'uri' }, n: { type: 'integer' } }, required: ['url'] }, RUNNER);
    expect(errors).toEqual([]);
    expect(schema).toMatchObject({ type: 'object', required: ['url'], additionalProperties: false, properties: { url: { type: 'string', format: 'uri' }, sudo: { default: false } } });
  });

  it('keeps an explicit additionalProperties and refuses a required name that is not a property', () => {
    expect(convert({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true }).schema.additionalProperties).toBe(true);
    expect(convert({ type: 'object', properties: {}, required: ['ghost'] }).errors.map((error) => error.message)).toEqual(["names 'ghost', which is not among the properties"]);
    expect(convert({ type: 'array' }).errors.map((error) => error.message)).toEqual(["a parameters JSON Schema must have type 'object', got \"array\""]);
  });

  it('refuses a schema ajv cannot compile, and reports strict-mode remarks as warnings', () => {
    expect(convert({ a: { type: 'string', minLength: 'two' } }).errors[0]?.message).toMatch(/^is not a valid JSON Schema: /);
    const { errors, warnings } = convert({ a: { type: 'object', properties: { b: { type: 'string', madeUpKeyword: 1 } } } });
    expect(errors).toEqual([]);
    expect(warnings.some((warning) => warning.message.includes('madeUpKeyword'))).toBe(true);
  });
});

describe('schemas written for StackStorm', () => {
  it('move draft 3 required flags into lists at every level and drop $schema', () => {
    const report: Report = () => undefined;
    expect(
      normalizeJsonSchema(
        { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', properties: { a: { type: 'string', required: true }, b: { type: 'array', items: { type: 'object', properties: { c: { required: true } } } } } },
        [],
        report,
      ),
    ).toEqual({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'object', properties: { c: {} }, required: ['c'] } } }, required: ['a'] });
  });

  it('reads an output schema as a properties map that allows other keys', () => {
    const report: Report = () => undefined;
    expect(propertiesSchema({ status_code: { type: 'integer' } }, [], report, 'x')).toEqual({ type: 'object', properties: { status_code: { type: 'integer' } }, additionalProperties: true });
  });
});
