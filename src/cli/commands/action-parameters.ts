/**
 * `key=value` arguments of `attune run` / `action execute` typed by the
 * action's parameter schema, as st2 does: integers and numbers parsed,
 * booleans from true/false/yes/no/1/0, arrays from JSON or a comma list,
 * objects from JSON; strings as they are. A name the action does not take
 * is refused, naming the ones it does.
 */
import { ValidationError } from '../../errors.js';

interface PropertySchema {
  type?: string | string[];
  items?: PropertySchema;
}

/** The action's parameter schema as the API returns it (draft-07, properties per parameter). */
export interface ParamSchema {
  properties?: Record<string, PropertySchema>;
  additionalProperties?: unknown;
}

/** Turns `key=value` arguments into typed parameters for `actionRef`, on top of `base` (from --params-json). */
export function typeParameters(actionRef: string, schema: ParamSchema, pairs: readonly string[], base: Record<string, unknown> = {}): Record<string, unknown> {
  const properties = schema.properties ?? {};
  const params: Record<string, unknown> = { ...base };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ValidationError(`'${pair}' is not key=value: parameters are given as name=value (e.g. cmd=date)`, { entity: 'parameter', field: pair });
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    const property = properties[name];
    if (property === undefined && schema.additionalProperties === false) {
      const known = Object.keys(properties);
      throw new ValidationError(`action ${actionRef} has no parameter ${name}${known.length ? ` (it takes: ${known.sort().join(', ')})` : ' (it takes none)'}`, { entity: 'parameter', field: name });
    }
    params[name] = typeValue(name, text, property ?? {});
  }
  return params;
}

function typeValue(name: string, text: string, property: PropertySchema): unknown {
  const types = Array.isArray(property.type) ? property.type : property.type === undefined ? [] : [property.type];
  const main = types.find((t) => t !== 'null') ?? 'string';
  if (types.includes('null') && text === 'null') return null;
  switch (main) {
    case 'integer':
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || (main === 'integer' && !Number.isInteger(value))) {
        throw new ValidationError(`parameter ${name} must be ${main === 'integer' ? 'an integer' : 'a number'}, got '${text}'`, { entity: 'parameter', field: name });
      }
      return value;
    }
    case 'boolean': {
      const lowered = text.toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(lowered)) return true;
      if (['false', 'no', '0', 'off'].includes(lowered)) return false;
      throw new ValidationError(`parameter ${name} must be true or false, got '${text}'`, { entity: 'parameter', field: name });
    }
    case 'array': {
      if (text.trim().startsWith('[')) return parseJson(name, text, 'a JSON array');
      const itemType = property.items ?? {};
      return text === '' ? [] : text.split(',').map((item) => typeValue(name, item.trim(), itemType));
    }
    case 'object':
      return parseJson(name, text, 'a JSON object');
    default:
      return text;
  }
}

function parseJson(name: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(`parameter ${name} must be ${what}, got '${text}'`, { entity: 'parameter', field: name });
  }
}

/** Parses `--params-json`: a JSON object of parameters. */
export function parseParamsJson(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`--params-json is not valid JSON (${(error as Error).message})`, { entity: 'parameter', field: '--params-json' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('--params-json must be a JSON object of parameters', { entity: 'parameter', field: '--params-json' });
  return value as Record<string, unknown>;
}
