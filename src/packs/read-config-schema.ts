/**
 * config.schema.yaml: the pack's configuration, one key per setting in the
 * per-parameter form (type, description, default, secret, required, ...).
 * Becomes a JSON Schema that accepts keys it does not declare, as StackStorm's does.
 */
import { Fields } from './fields.js';
import type { JsonSchema } from './json-schema.js';
import { parameterSchema } from './parameters.js';
import type { ProblemList } from './problems.js';
import { parseYaml } from './yaml.js';

export function readConfigSchema(file: string, content: Buffer, problems: ProblemList): JsonSchema {
  const doc = parseYaml(file, content, problems);
  if (doc === null) return {};
  if (doc.value === null) return {};
  const fields = Fields.of(file, doc, problems);
  if (fields === null) return {};
  return parameterSchema(fields.values, [], fields.report, { owner: 'the pack configuration', additionalProperties: true });
}
