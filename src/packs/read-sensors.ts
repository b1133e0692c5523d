/**
 * sensors/*.yaml: sensor metadata. A sensor's `trigger_types` either declare
 * trigger types inline (mappings, which become triggers of this pack) or name
 * existing ones by ref. Python is StackStorm's only kind and the default;
 * Attune also runs Node sensors (`runner: node`).
 */
import { checkPackField, metadataFiles, readFields, type ReadContext } from './context.js';
import type { Fields } from './fields.js';
import { resolveEntryPoint } from './files.js';
import { isPlainObject } from './json-schema.js';
import type { SensorModel, TriggerModel } from './model.js';
import { componentNameProblem, componentRefProblem } from './names.js';
import { parameterSchema } from './parameters.js';
import { readTriggerType } from './read-triggers.js';

/** Runners a sensor may use. */
export const SENSOR_RUNNERS = ['python', 'node'] as const;

const KNOWN = new Set(['name', 'class_name', 'entry_point', 'description', 'trigger_types', 'poll_interval', 'enabled', 'runner', 'parameters', 'pack']);
const IGNORED = new Set(['id', 'uid', 'ref', 'metadata_file', 'artifact_uri']);

export function readSensors(context: ReadContext): { sensors: SensorModel[]; triggers: TriggerModel[] } {
  const sensors: SensorModel[] = [];
  const triggers: TriggerModel[] = [];
  for (const file of metadataFiles(context, 'sensors')) {
    const fields = readFields(context, file);
    if (fields === null) continue;
    const sensor = readSensor(fields, context, triggers);
    if (sensor !== null) sensors.push(sensor);
  }
  return { sensors, triggers };
}

function readSensor(fields: Fields, context: ReadContext, triggers: TriggerModel[]): SensorModel | null {
  fields.checkKnown(KNOWN, IGNORED, 'sensor');
  checkPackField(fields, context);
  const runner = fields.string('runner') ?? 'python';
  if (!(SENSOR_RUNNERS as readonly string[]).includes(runner)) fields.error(['runner'], `must be one of ${SENSOR_RUNNERS.join(', ')}, got ${JSON.stringify(runner)}`);
  const className = fields.string('class_name', { required: runner === 'python' });
  // StackStorm names a sensor after its class; Attune also takes an explicit name.
  const name = fields.string('name') ?? className;
  const nameProblem = name === null ? 'is missing: give class_name or name' : componentNameProblem(name);
  if (nameProblem !== null && name !== null) fields.error([fields.has('name') ? 'name' : 'class_name'], `sensor name ${nameProblem}`);
  const entryPoint = fields.string('entry_point', { required: true });
  let entryPointFile: string | null = null;
  if (entryPoint !== null) {
    const resolved = resolveEntryPoint('sensors', entryPoint);
    if ('problem' in resolved) fields.error(['entry_point'], resolved.problem);
    else if (!context.files.has(resolved.path)) fields.error(['entry_point'], `${JSON.stringify(entryPoint)} does not exist in the pack (looked for ${resolved.path})`);
    else entryPointFile = resolved.path;
  }
  const triggerTypes = readTriggerTypes(fields, context, name, triggers);
  const ref = `${context.packRef}.${name ?? ''}`;
  const paramSchema = parameterSchema(fields.values.parameters, ['parameters'], fields.report, { owner: `sensor '${ref}'` });
  const pollInterval = fields.positiveInteger('poll_interval');
  const enabled = fields.boolean('enabled', true);
  if (name === null || nameProblem !== null || entryPoint === null || entryPointFile === null) return null;
  return {
    name,
    ref,
    description: fields.string('description'),
    file: fields.file,
    className,
    entryPoint,
    entryPointFile,
    runner,
    triggerTypes,
    paramSchema,
    enabled,
    pollInterval,
  };
}

function readTriggerTypes(fields: Fields, context: ReadContext, sensorName: string | null, triggers: TriggerModel[]): string[] {
  const value = fields.values.trigger_types;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    fields.error(['trigger_types'], 'must be a list of trigger types (mappings) or trigger refs');
    return [];
  }
  const refs: string[] = [];
  value.forEach((item, index) => {
    if (isPlainObject(item)) {
      const trigger = readTriggerType(fields, item, ['trigger_types', index], context, sensorName);
      if (trigger !== null) {
        triggers.push(trigger);
        refs.push(trigger.ref);
      }
    } else if (typeof item === 'string') {
      const problem = componentRefProblem(item);
      if (problem !== null) fields.error(['trigger_types', index], `trigger ref ${problem}`);
      else refs.push(item);
    } else {
      fields.error(['trigger_types', index], 'must be a trigger type (a mapping) or a trigger ref');
    }
  });
  return refs;
}
