/**
 * A rule's action parameters, rendered as StackStorm renders them: the
 * rule's values and the action's defaults (either may hold templates, in
 * strings at any depth of an object or list), in dependency order (a
 * parameter may read another: `cmd: 'echo "{{ message }}"'`), each cast to
 * its declared type before the parameters after it read it. A cycle, a
 * reference to a name that is neither a parameter nor a context name, an
 * immutable parameter set by the rule, and a failing template are errors
 * naming the parameters.
 */
import { containsTemplate } from '../template-syntax.js';
import { castToDeclaredType } from './casting.js';
import { asTemplateError, TemplateError } from './errors.js';
import { PreparedContext, renderTemplate, type RenderOptions, type TemplateContext } from './render.js';
import { referencedNames } from './references.js';

/** Names every template can read besides the context and the parameters. */
const GLOBAL_NAMES = new Set(['true', 'false', 'none', 'True', 'False', 'None', 'range', 'namespace', 'st2kv', 'keys', 'loop', 'caller', 'varargs', 'kwargs']);

/** The action's parameter schema as far as rendering needs it (a draft-07 object schema). */
export interface ActionParameterSchema {
  properties?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  [keyword: string]: unknown;
}

/** The rendered parameters: the rule's, and the action's defaults for the others. */
export interface RenderedParameters {
  params: Record<string, unknown>;
}

/**
 * Renders `ruleParams` and the defaults of `actionSchema` against `context`.
 * Parameters marked `rawString` (StackStorm's `raw_string` type) are never
 * rendered. Throws a TemplateError whose `field` names the parameter.
 */
export function renderActionParameters(
  ruleParams: Readonly<Record<string, unknown>>,
  actionSchema: ActionParameterSchema,
  context: TemplateContext,
  options: RenderOptions = {},
): RenderedParameters {
  const declared = actionSchema.properties ?? {};
  const values = new Map<string, unknown>();
  for (const [name, schema] of Object.entries(declared)) {
    if (Object.hasOwn(ruleParams, name) && schema.immutable === true) {
      throw new TemplateError(`parameter '${name}' is immutable: the rule cannot set it`, { field: name });
    }
    if (!Object.hasOwn(ruleParams, name) && Object.hasOwn(schema, 'default')) values.set(name, schema.default);
  }
  for (const [name, value] of Object.entries(ruleParams)) values.set(name, value);

  const contextNames = new Set(Object.keys(context.values));
  for (const name of context.shared?.names() ?? []) contextNames.add(name);
  const dependencies = new Map<string, Set<string>>();
  for (const [name, value] of values) {
    const uses = new Set<string>();
    if (declared[name]?.rawString !== true) {
      for (const template of templatesIn(value)) {
        for (const used of referencedNames(template)) {
          if (contextNames.has(used) || GLOBAL_NAMES.has(used)) continue;
          if (!values.has(used)) {
            throw new TemplateError(`parameter '${name}' refers to '${used}', which is neither a parameter of the action nor a name templates can read`, { field: name });
          }
          uses.add(used);
        }
      }
    }
    dependencies.set(name, uses);
  }

  let prepared = new PreparedContext(context);
  const rendered = new Map<string, unknown>();
  for (const name of dependencyOrder(dependencies)) {
    const schema = declared[name];
    let value: unknown;
    try {
      value = schema?.rawString === true ? values.get(name) : renderValue(values.get(name), prepared, options);
    } catch (error) {
      const cause = asTemplateError(error);
      throw new TemplateError(`parameter '${name}': ${cause.message}`, { field: name, cause });
    }
    value = castToDeclaredType(value, schema, name);
    rendered.set(name, value);
    if (!contextNames.has(name)) prepared = prepared.with(name, value);
  }
  // Listed in the order given (defaults first), not the order rendered.
  const params: Record<string, unknown> = {};
  for (const name of values.keys()) Object.defineProperty(params, name, { value: rendered.get(name), enumerable: true, writable: true, configurable: true });
  return { params };
}

/** Every template string inside a value (itself, or strings at any depth of an object or list). */
function templatesIn(value: unknown): string[] {
  if (typeof value === 'string') return containsTemplate(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(templatesIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(templatesIn);
  return [];
}

/** A value with its templates rendered: a string template becomes its result, objects and lists are rendered inside. */
function renderValue(value: unknown, context: PreparedContext, options: RenderOptions): unknown {
  if (typeof value === 'string') return containsTemplate(value) ? renderTemplate(value, context, options) : value;
  if (Array.isArray(value)) return value.map((item) => renderValue(item, context, options));
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(result, key, { value: renderValue(item, context, options), enumerable: true, writable: true, configurable: true });
    return result;
  }
  return value;
}

/** Names so that each comes after those it uses; a cycle is an error naming its parameters in order. */
function dependencyOrder(dependencies: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string) => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new TemplateError(`parameters ${cycle.map((step) => `'${step}'`).join(' → ')} refer to each other in a cycle`, { field: name });
    }
    state.set(name, 'visiting');
    path.push(name);
    for (const used of dependencies.get(name) ?? []) visit(used);
    path.pop();
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of dependencies.keys()) visit(name);
  return order;
}
