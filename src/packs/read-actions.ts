/**
 * actions/*.yaml: action metadata. Files below actions/ (workflows, chains,
 * scripts) are pack files, not components. An action on a runner Attune
 * does not have yet is kept, disabled, with the reason; an unknown runner is
 * an error.
 */
import { checkPackField, metadataFiles, readFields, type ReadContext } from './context.js';
import type { Fields } from './fields.js';
import { resolveEntryPoint } from './files.js';
import { isPlainObject, type JsonSchema } from './json-schema.js';
import type { ActionModel } from './model.js';
import { componentNameProblem } from './names.js';
import { parameterSchema, propertiesSchema } from './parameters.js';
import { resolveRunnerType } from './runner-types.js';
import { checkTemplateSyntax, containsTemplate } from '../rules/template-syntax.js';

const KNOWN = new Set(['name', 'description', 'runner_type', 'entry_point', 'enabled', 'parameters', 'output_schema', 'tags', 'timeout', 'notify', 'pack']);
/** StackStorm fields Attune reads past (warning). */
const IGNORED = new Set(['id', 'uid', 'ref', 'metadata_file']);

export function readActions(context: ReadContext): ActionModel[] {
  const actions: ActionModel[] = [];
  for (const file of metadataFiles(context, 'actions')) {
    const fields = readFields(context, file);
    if (fields === null) continue;
    const action = readAction(fields, context);
    if (action !== null) actions.push(action);
  }
  return actions;
}

function readAction(fields: Fields, context: ReadContext): ActionModel | null {
  fields.checkKnown(KNOWN, IGNORED, 'action');
  checkPackField(fields, context);
  const name = fields.string('name', { required: true });
  const nameProblem = name === null ? null : componentNameProblem(name);
  if (nameProblem !== null) fields.error(['name'], `action name ${nameProblem}`);
  const ref = `${context.packRef}.${name ?? ''}`;
  const runnerName = fields.string('runner_type', { required: true });
  const runner = runnerName === null ? undefined : resolveRunnerType(runnerName);
  if (runnerName !== null && runner === undefined) fields.error(['runner_type'], `unknown runner type ${JSON.stringify(runnerName)}`);
  let enabled = fields.boolean('enabled', true);
  let disabledReason: string | null = null;
  if (runner !== undefined && !runner.supported) {
    disabledReason = runner.reason ?? `runner ${runner.name} is not supported yet`;
    enabled = false;
    fields.report(['runner_type'], `${disabledReason}: the action is registered disabled`, 'warning');
  }
  const entryPoint = fields.string('entry_point') ?? '';
  let entryPointFile: string | null = null;
  if (entryPoint !== '') {
    const resolved = resolveEntryPoint('actions', entryPoint);
    if ('problem' in resolved) fields.error(['entry_point'], resolved.problem);
    else if (runner?.entryPoint === 'required') {
      if (context.files.has(resolved.path)) entryPointFile = resolved.path;
      else fields.error(['entry_point'], `${JSON.stringify(entryPoint)} does not exist in the pack (looked for ${resolved.path})`);
    } else if (runner !== undefined) {
      fields.report(['entry_point'], `runner ${runnerName} does not use an entry point; ${JSON.stringify(entryPoint)} is ignored`, 'warning');
    }
  } else if (runner?.entryPoint === 'required') {
    fields.error(['entry_point'], `runner ${runnerName} needs an entry point: a file of the pack, relative to actions/`);
  }
  const owner = `action '${ref}'`;
  const paramSchema = parameterSchema(fields.values.parameters, ['parameters'], fields.report, { owner, runnerParameters: runner?.parameters });
  checkDefaultTemplates(paramSchema, fields);
  const outputSchema = propertiesSchema(fields.values.output_schema, ['output_schema'], fields.report, owner);
  const notify = fields.mapping('notify');
  if (name === null || nameProblem !== null || runner === undefined) return null;
  return {
    name,
    ref,
    description: fields.string('description'),
    file: fields.file,
    runnerType: runner.name,
    runnerTypeAsWritten: runnerName!,
    entryPoint: entryPointFile === null ? '' : entryPoint,
    entryPointFile,
    enabled,
    disabledReason,
    paramSchema,
    outputSchema,
    timeoutSeconds: fields.positiveInteger('timeout'),
    tags: fields.tags(),
    notify,
  };
}

/** Parameter defaults are templates too (`cmd: echo "{{message}}"`): each must parse. */
function checkDefaultTemplates(schema: JsonSchema, fields: Fields): void {
  if (!isPlainObject(schema.properties)) return;
  for (const [name, property] of Object.entries(schema.properties)) {
    if (!isPlainObject(property) || property.rawString === true || typeof property.default !== 'string' || !containsTemplate(property.default)) continue;
    const error = checkTemplateSyntax(property.default);
    if (error !== null) fields.error(['parameters', name, 'default'], `template does not parse at line ${error.line}, column ${error.column}: ${error.message}`);
  }
}
