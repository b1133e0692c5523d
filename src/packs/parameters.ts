/**
 * Action (and sensor, and pack config) parameters: StackStorm's per-parameter
 * form, or a full JSON Schema, merged with the runner's own parameters under
 * StackStorm's override rules, and turned into one draft-07 JSON Schema:
 *
 *   cmd: {type: string, required: true, immutable: true, default: "echo hi"}
 *   → {type: object, properties: {cmd: {type: string, immutable: true,
 *      default: "echo hi"}}, required: [cmd], additionalProperties: false}
 *
 * `secret`, `immutable` and `position` stay on each property as annotations;
 * later parts (execution parameters, masking, script arguments) read them.
 */
import type { RunnerParameter } from './runner-types.js';
import { checkSchemaCompiles, isPlainObject, normalizeJsonSchema, type JsonSchema, type Report } from './json-schema.js';
import type { FieldPath } from './yaml.js';

/** Parameter names StackStorm accepts (`^\w+$`). */
export const PARAMETER_NAME_PATTERN = /^\w+$/;

/** The attributes a parameter may have in the per-parameter form: StackStorm's list, plus draft-07 `format`, `const`, `examples`. */
export const PARAMETER_ATTRIBUTES = new Set([
  'title', 'description', 'default', 'type', 'enum', 'required', 'secret', 'immutable', 'position',
  'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern',
  'additionalItems', 'items', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
  'additionalProperties', 'definitions', 'properties', 'patternProperties', 'dependencies',
  'allOf', 'anyOf', 'oneOf', 'not', 'format', 'const', 'examples', 'id', '$schema',
]);

/** StackStorm's parameter types; `raw_string` is a string that is never rendered as a template. */
export const PARAMETER_TYPES = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string', 'raw_string']);

/** Attributes of a runner parameter an action may change (StackStorm's rule). */
const OVERRIDABLE = new Set(['default', 'description', 'enum', 'immutable', 'required']);

/** StackStorm's schema for a parameter declared with no attributes: any JSON value but null. */
const ANY_TYPE: JsonSchema = { anyOf: [{ type: 'array' }, { type: 'boolean' }, { type: 'integer' }, { type: 'number' }, { type: 'object' }, { type: 'string' }] };

export interface ParameterSchemaOptions {
  /** The runner's parameters, merged in; an action overrides only what StackStorm allows. */
  runnerParameters?: Readonly<Record<string, RunnerParameter>> | undefined;
  /** Whether values for undeclared parameters are accepted. Default false (as StackStorm, for actions). */
  additionalProperties?: boolean;
  /** Who owns the parameters, for messages (`action 'core.local'`). */
  owner: string;
}

/**
 * The JSON Schema of a parameter map (per-parameter form or full schema) at
 * `path`. Problems are reported; the result is `{}` (anything goes) when
 * there is nothing to declare.
 */
export function parameterSchema(input: unknown, path: FieldPath, report: Report, options: ParameterSchemaOptions): JsonSchema {
  const declared = declaredParameters(input, path, report);
  if (declared === null) return {};
  const runner = options.runnerParameters ?? {};
  const merged: Record<string, Record<string, unknown>> = {};
  for (const [name, meta] of Object.entries(runner)) merged[name] = { ...(meta as unknown as Record<string, unknown>) };
  const positions = new Map<number, string>();
  for (const [name, meta] of Object.entries(declared.parameters)) {
    const at = [...path, ...declared.prefix, name];
    if (!PARAMETER_NAME_PATTERN.test(name)) {
      report(at, `parameter name ${JSON.stringify(name)} may hold only letters, digits and '_'`);
      continue;
    }
    if (!checkAttributes(meta, at, report)) continue;
    const runnerMeta = runner[name] as unknown as Record<string, unknown> | undefined;
    if (runnerMeta !== undefined) checkOverride(name, meta, runnerMeta, at, report, options.owner);
    else if (meta.immutable === true && !('default' in meta)) report([...at, 'immutable'], `parameter '${name}' is immutable and so needs a default`);
    if (typeof meta.position === 'number') {
      const other = positions.get(meta.position);
      if (other !== undefined) report([...at, 'position'], `parameters '${other}' and '${name}' both have position ${meta.position}; positions must be unique`);
      else positions.set(meta.position, name);
    }
    merged[name] = { ...(runnerMeta ?? {}), ...meta };
  }
  checkPositionsContiguous(positions, path, report);
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, meta] of Object.entries(merged)) {
    const { required: isRequired, ...rest } = meta;
    if (isRequired === true) required.push(name);
    properties[name] = Object.keys(rest).length === 0 ? { ...ANY_TYPE } : normalizeJsonSchema(rest, [...path, ...declared.prefix, name], report);
  }
  if (Object.keys(properties).length === 0 && declared.additionalProperties === undefined) return {};
  const schema: JsonSchema = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  schema.additionalProperties = declared.additionalProperties ?? options.additionalProperties ?? false;
  checkSchemaCompiles(schema, path, report);
  return schema;
}

interface Declared {
  parameters: Record<string, Record<string, unknown>>;
  /** Path from the input to the parameter map (`['properties']` for a full schema). */
  prefix: FieldPath;
  additionalProperties?: unknown;
}

/** The declared parameters as a per-parameter map, whichever form the input used. */
function declaredParameters(input: unknown, path: FieldPath, report: Report): Declared | null {
  if (input === undefined || input === null) return { parameters: {}, prefix: [] };
  if (!isPlainObject(input)) {
    report(path, `must be a mapping of parameter name to its attributes, or a JSON Schema; got ${Array.isArray(input) ? 'a list' : typeof input}`);
    return null;
  }
  // A full JSON Schema says `type: object`; in the per-parameter form every value is a mapping.
  if (typeof input.type !== 'string') {
    const parameters: Record<string, Record<string, unknown>> = {};
    for (const [name, meta] of Object.entries(input)) {
      if (meta === null || meta === undefined) parameters[name] = {};
      else if (isPlainObject(meta)) parameters[name] = meta;
      else report([...path, name], `parameter '${name}' must be a mapping of attributes (type, description, default, ...), got ${JSON.stringify(meta)}`);
    }
    return { parameters, prefix: [] };
  }
  if (input.type !== 'object') {
    report([...path, 'type'], `a parameters JSON Schema must have type 'object', got ${JSON.stringify(input.type)}`);
    return null;
  }
  const known = new Set(['type', 'properties', 'required', 'additionalProperties', 'title', 'description', '$schema']);
  for (const key of Object.keys(input)) if (!known.has(key)) report([...path, key], `is ignored in a parameters JSON Schema`, 'warning');
  const properties = input.properties ?? {};
  if (!isPlainObject(properties)) {
    report([...path, 'properties'], 'must be a mapping of parameter name to its schema');
    return null;
  }
  const requiredList = input.required ?? [];
  if (!Array.isArray(requiredList) || requiredList.some((name) => typeof name !== 'string')) {
    report([...path, 'required'], 'must be a list of parameter names');
    return null;
  }
  const parameters: Record<string, Record<string, unknown>> = {};
  for (const [name, meta] of Object.entries(properties)) {
    if (!isPlainObject(meta)) {
      report([...path, 'properties', name], `must be a JSON Schema (a mapping)`);
      continue;
    }
    parameters[name] = requiredList.includes(name) ? { ...meta, required: true } : meta;
  }
  for (const name of requiredList as string[]) {
    if (!(name in properties)) report([...path, 'required'], `names '${name}', which is not among the properties`);
  }
  const declared: Declared = { parameters, prefix: ['properties'] };
  if ('additionalProperties' in input) declared.additionalProperties = input.additionalProperties;
  return declared;
}

function checkAttributes(meta: Record<string, unknown>, at: FieldPath, report: Report): boolean {
  let ok = true;
  for (const [attribute, value] of Object.entries(meta)) {
    const field = [...at, attribute];
    if (!PARAMETER_ATTRIBUTES.has(attribute)) {
      report(field, `unknown parameter attribute '${attribute}'`);
      ok = false;
    } else if (attribute === 'type' && (typeof value !== 'string' || !PARAMETER_TYPES.has(value))) {
      report(field, `must be one of ${[...PARAMETER_TYPES].join(', ')}, got ${JSON.stringify(value)}`);
      ok = false;
    } else if ((attribute === 'required' || attribute === 'secret' || attribute === 'immutable') && typeof value !== 'boolean') {
      report(field, `must be true or false, got ${JSON.stringify(value)}`);
      ok = false;
    } else if (attribute === 'position' && !(Number.isInteger(value) && (value as number) >= 0)) {
      report(field, `must be a whole number from 0, got ${JSON.stringify(value)}`);
      ok = false;
    } else if (attribute === 'enum' && (!Array.isArray(value) || value.length === 0)) {
      report(field, 'must be a non-empty list of the allowed values');
      ok = false;
    }
  }
  return ok;
}

/** StackStorm's rules for an action parameter that shares its name with a runner parameter. */
function checkOverride(name: string, meta: Record<string, unknown>, runnerMeta: Record<string, unknown>, at: FieldPath, report: Report, owner: string): void {
  for (const [attribute, value] of Object.entries(meta)) {
    if (!OVERRIDABLE.has(attribute) && JSON.stringify(value) !== JSON.stringify(runnerMeta[attribute])) {
      report(
        [...at, attribute],
        `${owner} cannot change '${attribute}' of the runner parameter '${name}' (only ${[...OVERRIDABLE].join(', ')} may be overridden)`,
      );
    }
  }
  if ('immutable' in meta && runnerMeta.immutable === true) {
    report([...at, 'immutable'], `the runner declares '${name}' immutable; ${owner} cannot override it`);
  }
  if (meta.immutable === true && !('default' in meta) && !('default' in runnerMeta)) {
    report([...at, 'immutable'], `parameter '${name}' is immutable and so needs a default (neither the action nor the runner gives one)`);
  }
}

function checkPositionsContiguous(positions: Map<number, string>, path: FieldPath, report: Report): void {
  if (positions.size === 0) return;
  const sorted = [...positions.keys()].sort((a, b) => a - b);
  const first = sorted[0]!;
  if (sorted.some((position, index) => position !== first + index)) {
    report(path, `positions ${sorted.join(', ')} are not contiguous; positional parameters must be numbered without gaps`);
  }
}

/**
 * An action's `output_schema`, or a pack's `config.schema.yaml`: StackStorm
 * writes these as a map of property name to schema (or, for outputs, a full
 * JSON Schema). Returns a draft-07 object schema that accepts extra keys.
 */
export function propertiesSchema(input: unknown, path: FieldPath, report: Report, owner: string): JsonSchema {
  if (input === undefined || input === null) return {};
  if (isPlainObject(input) && typeof input.type === 'string') {
    const schema = normalizeJsonSchema(input, path, report);
    checkSchemaCompiles(schema, path, report);
    return schema;
  }
  return parameterSchema(input, path, report, { owner, additionalProperties: true });
}
