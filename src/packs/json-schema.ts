/**
 * JSON Schemas as StackStorm packs write them (draft 4, with draft 3's
 * `required: true` on a property and `exclusiveMaximum: true` beside
 * `maximum`) brought to draft 07 for ajv, and proved to compile. StackStorm's
 * annotations (`secret`, `immutable`, `position`) are kept; ajv knows them as
 * annotation keywords.
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldPath } from './yaml.js';

export type JsonSchema = Record<string, unknown>;

/** Reports a problem at a field path; `warning` does not stop the pack. */
export type Report = (path: FieldPath, message: string, severity?: 'error' | 'warning') => void;

/** Keywords Attune keeps on schemas as annotations: validation ignores them. */
export const ANNOTATION_KEYWORDS = ['secret', 'immutable', 'position', 'rawString'] as const;

const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf'];
const SCHEMA_SINGLES = ['not', 'additionalProperties', 'additionalItems', 'contains', 'propertyNames', 'if', 'then', 'else'];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A draft-07 copy of a StackStorm-style schema. Converts, at every level:
 * boolean `required` on a property → the parent's `required` list; boolean
 * `exclusiveMaximum` / `exclusiveMinimum` → the numeric form; `raw_string` →
 * `string` with `rawString: true`; drops `$schema` and draft-4 `id`.
 */
export function normalizeJsonSchema(schema: unknown, path: FieldPath, report: Report): JsonSchema {
  if (!isPlainObject(schema)) {
    report(path, `must be a JSON Schema (a mapping), got ${schema === null ? 'nothing' : Array.isArray(schema) ? 'a list' : typeof schema}`);
    return {};
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || key === 'id') continue;
    if (SCHEMA_MAPS.includes(key) && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, normalizeJsonSchema(child, [...path, key, name], report)]));
    } else if (SCHEMA_LISTS.includes(key) && Array.isArray(value)) {
      out[key] = value.map((child, index) => normalizeJsonSchema(child, [...path, key, index], report));
    } else if (SCHEMA_SINGLES.includes(key) && isPlainObject(value)) {
      out[key] = normalizeJsonSchema(value, [...path, key], report);
    } else if (key === 'items' && (isPlainObject(value) || Array.isArray(value))) {
      out[key] = Array.isArray(value) ? value.map((child, index) => normalizeJsonSchema(child, [...path, key, index], report)) : normalizeJsonSchema(value, [...path, key], report);
    } else if (key === 'dependencies' && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, Array.isArray(child) ? child : normalizeJsonSchema(child, [...path, key, name], report)]));
    } else {
      out[key] = value;
    }
  }
  if (out.type === 'raw_string') {
    out.type = 'string';
    out.rawString = true;
  }
  for (const [bound, exclusive] of [['maximum', 'exclusiveMaximum'], ['minimum', 'exclusiveMinimum']] as const) {
    if (typeof out[exclusive] !== 'boolean') continue;
    if (out[exclusive] === true && typeof out[bound] === 'number') {
      out[exclusive] = out[bound];
      delete out[bound];
    } else {
      delete out[exclusive];
    }
  }
  // Draft 3: `required: true` on each property, rather than a list on the object.
  if (isPlainObject(schema.properties)) {
    const required = new Set<string>(Array.isArray(out.required) ? (out.required as unknown[]).filter((name): name is string => typeof name === 'string') : []);
    // Read from the input: each normalised property has already dropped its boolean flag.
    for (const [name, property] of Object.entries(schema.properties)) {
      if (!isPlainObject(property) || !('required' in property) || Array.isArray(property.required)) continue;
      if (typeof property.required !== 'boolean') {
        report([...path, 'properties', name, 'required'], `must be true or false, got ${JSON.stringify(property.required)}`);
      } else if (property.required) {
        required.add(name);
      }
    }
    if (required.size > 0) out.required = [...required];
    else if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  }
  // Draft 3's flag belongs to the parent's list (handled above, one level up); never to this schema.
  if (!Array.isArray(out.required)) delete out.required;
  return out;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Messages ajv's strict mode produced during the current compile. */
let strictMessages: string[] = [];
const collect = (...args: unknown[]): void => {
  strictMessages.push(args.map(String).join(' '));
};

const ajv = new Ajv({ strict: 'log', allErrors: true, logger: { log: collect, warn: collect, error: collect } });
addFormats(ajv);
ajv.addVocabulary([...ANNOTATION_KEYWORDS]);

/**
 * Compiles `schema` with ajv 8 (draft 07) and the common formats, to prove it
 * is a schema. Errors are reported at `path`; ajv's strict-mode remarks
 * (unknown keywords, types left implicit) become warnings.
 */
export function checkSchemaCompiles(schema: JsonSchema, path: FieldPath, report: Report): boolean {
  strictMessages = [];
  try {
    ajv.compile(schema);
    return true;
  } catch (error) {
    const errors = (error as { errors?: ErrorObject[] }).errors;
    const message = errors?.length ? errors.map((item) => `${item.instancePath || '/'} ${item.message ?? ''}`.trim()).join('; ') : (error as Error).message;
    report(path, `is not a valid JSON Schema: ${message}`);
    return false;
  } finally {
    ajv.removeSchema(schema);
    for (const message of new Set(strictMessages)) report(path, `JSON Schema remark: ${message.replace(/^strict mode: /, '')}`, 'warning');
    strictMessages = [];
  }
}
