/**
 * rules/*.yaml: StackStorm rules. Checked here: the fields, the refs' form,
 * every criterion's operator (rules.md's list), its pattern (present unless
 * exists / nexists; a Python regex that translates; nested criteria for
 * search), and that every template (criteria patterns, action parameters)
 * parses. Whether the trigger and action exist is `checkReferences`' job.
 */
import { checkPackField, metadataFiles, readFields, type ReadContext } from './context.js';
import type { Fields } from './fields.js';
import { isPlainObject } from './json-schema.js';
import { PACK_LIMITS } from './limits.js';
import type { CriterionModel, RuleModel } from './model.js';
import { componentNameProblem, componentRefProblem, describeType } from './names.js';
import type { FieldPath } from './yaml.js';
import { resolveOperatorName, SEARCH_CONDITIONS } from '../rules/operator-names.js';
import { translatePythonRegex } from '../rules/python-regex.js';
import { checkTemplateSyntax, containsTemplate } from '../rules/template-syntax.js';

const KNOWN = new Set(['name', 'description', 'enabled', 'trigger', 'criteria', 'action', 'tags', 'pack', 'type']);
const IGNORED = new Set(['id', 'uid', 'ref', 'metadata_file', 'context']);

export function readRules(context: ReadContext): RuleModel[] {
  const rules: RuleModel[] = [];
  for (const file of metadataFiles(context, 'rules')) {
    const fields = readFields(context, file);
    if (fields === null) continue;
    const rule = readRule(fields, context);
    if (rule !== null) rules.push(rule);
  }
  return rules;
}

function readRule(fields: Fields, context: ReadContext): RuleModel | null {
  fields.checkKnown(KNOWN, IGNORED, 'rule');
  checkPackField(fields, context);
  const name = fields.string('name', { required: true });
  const nameProblem = name === null ? null : componentNameProblem(name);
  if (nameProblem !== null) fields.error(['name'], `rule name ${nameProblem}`);
  checkRuleType(fields);
  const trigger = fields.mapping('trigger');
  if (!fields.has('trigger')) fields.error(['trigger'], "'trigger' is required: {type: <trigger ref>, parameters: {...}}");
  const triggerRef = refField(fields, trigger, 'trigger', 'type');
  const triggerParams = paramsField(fields, trigger, 'trigger');
  const action = fields.mapping('action');
  if (!fields.has('action')) fields.error(['action'], "'action' is required: {ref: <action ref>, parameters: {...}}");
  const actionRef = refField(fields, action, 'action', 'ref');
  const actionParams = paramsField(fields, action, 'action');
  checkTemplates(actionParams, ['action', 'parameters'], fields);
  const criteria = readCriteria(fields.mapping('criteria') ?? {}, ['criteria'], fields, false);
  const enabled = fields.boolean('enabled', true);
  if (name === null || nameProblem !== null || triggerRef === null || actionRef === null || criteria === null) return null;
  return {
    name,
    ref: `${context.packRef}.${name}`,
    description: fields.string('description'),
    file: fields.file,
    enabled,
    triggerRef,
    triggerParams,
    criteria,
    actionRef,
    actionParams,
    tags: fields.tags(),
  };
}

/** StackStorm's rule `type`: `standard` is what Attune runs; `backstop` (fire when no other rule did) is not supported. */
function checkRuleType(fields: Fields): void {
  const type = fields.values.type;
  if (type === undefined || type === null) return;
  const ref = isPlainObject(type) ? type.ref : type;
  if (ref !== 'standard') fields.error(['type'], `rule type ${JSON.stringify(ref)} is not supported; Attune runs only 'standard' rules`);
}

function refField(fields: Fields, section: Record<string, unknown> | null, sectionName: string, key: string): string | null {
  if (section === null) return null;
  const value = section[key];
  if (value === undefined || value === null) {
    fields.error([sectionName, key], `'${sectionName}.${key}' is required`);
    return null;
  }
  const problem = componentRefProblem(value);
  if (problem !== null) {
    fields.error([sectionName, key], `${sectionName} ref ${problem}`);
    return null;
  }
  return value as string;
}

function paramsField(fields: Fields, section: Record<string, unknown> | null, sectionName: string): Record<string, unknown> {
  const value = section?.parameters;
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    fields.error([sectionName, 'parameters'], `must be a mapping, got ${describeType(value)}`);
    return {};
  }
  return value;
}

/** Every string in `value` that holds template syntax must parse. */
function checkTemplates(value: unknown, path: FieldPath, fields: Fields): void {
  if (typeof value === 'string') {
    if (!containsTemplate(value)) return;
    if (value.length > PACK_LIMITS.maxTemplateLength) {
      fields.error(path, `template is longer than ${PACK_LIMITS.maxTemplateLength} characters`);
      return;
    }
    const error = checkTemplateSyntax(value);
    if (error !== null) fields.error(path, `template does not parse at line ${error.line}, column ${error.column}: ${error.message}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkTemplates(item, [...path, index], fields));
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) checkTemplates(item, [...path, key], fields);
  }
}

/**
 * Criteria at `path`; `nested` for the item criteria of `search`, whose keys
 * start with `item`. Null when any criterion is wrong (all are reported).
 */
function readCriteria(criteria: Record<string, unknown>, path: FieldPath, fields: Fields, nested: boolean): Record<string, CriterionModel> | null {
  const out: Record<string, CriterionModel> = {};
  let ok = true;
  for (const [key, spec] of Object.entries(criteria)) {
    const at = [...path, key];
    const root = nested ? 'item' : 'trigger';
    if (!new RegExp(`^(${nested ? 'item' : 'trigger|event\\.payload'})($|[.[#])`).test(key)) {
      fields.error(at, `criteria key ${JSON.stringify(key)} must start with '${root}.'${nested ? '' : " (or 'event.payload.')"}: it is a path into ${nested ? 'each item of the list' : 'the trigger payload'}, and without it looks up nothing`);
      ok = false;
      continue;
    }
    if (!isPlainObject(spec)) {
      fields.error(at, `criterion must be a mapping {type, pattern}, got ${describeType(spec)}`);
      ok = false;
      continue;
    }
    const criterion = readCriterion(key, spec, at, fields);
    if (criterion === null) ok = false;
    else out[key] = criterion;
  }
  return ok ? out : null;
}

function readCriterion(key: string, spec: Record<string, unknown>, at: FieldPath, fields: Fields): CriterionModel | null {
  for (const extra of Object.keys(spec)) {
    if (!['type', 'pattern', 'condition'].includes(extra)) fields.report([...at, extra], `'${extra}' is ignored in a criterion (only type, pattern and condition are read)`, 'warning');
  }
  if (typeof spec.type !== 'string') {
    fields.error([...at, 'type'], spec.type === undefined ? "the criterion needs 'type' (the operator)" : `must be an operator name, got ${describeType(spec.type)}`);
    return null;
  }
  const operator = resolveOperatorName(spec.type);
  if (operator === undefined) {
    fields.error([...at, 'type'], `unknown operator ${JSON.stringify(spec.type)}`);
    return null;
  }
  const criterion: CriterionModel = { key, type: operator.name };
  const hasPattern = 'pattern' in spec;
  if (operator.pattern === 'none') {
    if (hasPattern) fields.report([...at, 'pattern'], `'${operator.name}' takes no pattern; it is ignored`, 'warning');
    return criterion;
  }
  if (!hasPattern) {
    fields.error([...at, 'pattern'], `operator '${operator.name}' needs a 'pattern'`);
    return null;
  }
  const pattern = spec.pattern;
  criterion.pattern = pattern;
  if (operator.pattern === 'criteria') {
    if (typeof spec.condition !== 'string' || !(SEARCH_CONDITIONS as readonly string[]).includes(spec.condition)) {
      fields.error([...at, 'condition'], `'search' needs a condition: one of ${SEARCH_CONDITIONS.join(', ')}, got ${JSON.stringify(spec.condition)}`);
      return null;
    }
    criterion.condition = spec.condition;
    if (!isPlainObject(pattern)) {
      fields.error([...at, 'pattern'], "the pattern of 'search' is a mapping of item criteria");
      return null;
    }
    const items = readCriteria(pattern, [...at, 'pattern'], fields, true);
    return items === null ? null : criterion;
  }
  if (typeof pattern === 'string' && containsTemplate(pattern)) {
    checkTemplates(pattern, [...at, 'pattern'], fields);
  } else if (operator.pattern === 'regex') {
    if (typeof pattern !== 'string') {
      fields.error([...at, 'pattern'], `'${operator.name}' needs a regular expression (text), got ${describeType(pattern)}`);
      return null;
    }
    const translated = translatePythonRegex(pattern, { ignoreCase: operator.name === 'iregex', dotAll: operator.name === 'matchregex' });
    if (!translated.ok) {
      fields.error([...at, 'pattern'], `regular expression cannot be used: ${translated.message} (at character ${translated.position + 1})`);
      return null;
    }
  }
  return criterion;
}
