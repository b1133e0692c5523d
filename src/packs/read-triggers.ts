/** triggers/*.yaml: trigger types with their parameters and payload schemas. */
import { checkPackField, metadataFiles, readFields, type ReadContext } from './context.js';
import type { Fields } from './fields.js';
import { checkSchemaCompiles, normalizeJsonSchema, type JsonSchema } from './json-schema.js';
import type { TriggerModel } from './model.js';
import { componentNameProblem } from './names.js';
import type { FieldPath } from './yaml.js';

const KNOWN = new Set(['name', 'description', 'parameters_schema', 'payload_schema', 'tags', 'pack']);
const IGNORED = new Set(['id', 'uid', 'ref', 'metadata_file']);

export function readTriggers(context: ReadContext): TriggerModel[] {
  const triggers: TriggerModel[] = [];
  for (const file of metadataFiles(context, 'triggers')) {
    const fields = readFields(context, file);
    if (fields === null) continue;
    fields.checkKnown(KNOWN, IGNORED, 'trigger');
    checkPackField(fields, context);
    const trigger = readTriggerType(fields, fields.values, [], context, null);
    if (trigger !== null) triggers.push(trigger);
  }
  return triggers;
}

/**
 * One trigger type from `values` (a trigger file's root, or an item of a
 * sensor's `trigger_types`, at `path`).
 */
export function readTriggerType(fields: Fields, values: Record<string, unknown>, path: FieldPath, context: ReadContext, sensor: string | null): TriggerModel | null {
  const name = values.name;
  const nameProblem = componentNameProblem(name);
  if (name === undefined || name === null) fields.error([...path, 'name'], `'name' is required`);
  else if (nameProblem !== null) fields.error([...path, 'name'], `trigger name ${nameProblem}`);
  const paramSchema = schemaField(values.parameters_schema, [...path, 'parameters_schema'], fields);
  const payloadSchema = schemaField(values.payload_schema, [...path, 'payload_schema'], fields);
  if (typeof name !== 'string' || nameProblem !== null) return null;
  const description = values.description;
  return {
    name,
    ref: `${context.packRef}.${name}`,
    description: typeof description === 'string' ? description : null,
    file: fields.file,
    paramSchema,
    payloadSchema,
    tags: path.length === 0 ? fields.tags() : [],
    declaredBySensor: sensor,
  };
}

function schemaField(value: unknown, path: FieldPath, fields: Fields): JsonSchema {
  if (value === undefined || value === null) return {};
  const schema = normalizeJsonSchema(value, path, fields.report);
  if (Object.keys(schema).length > 0) checkSchemaCompiles(schema, path, fields.report);
  return schema;
}
