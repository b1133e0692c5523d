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
  return prepareActionParameters(ruleParams, actionSchema).render(context, options);
}

/**
 * The work of `renderActionParameters` that depends on the rule's
 * parameters and the action's schema alone (merging the defaults, finding
 * the templates and the names they read), done once for rendering the same
 * parameters against many contexts: the rules role prepares each rule once
 * per batch and renders it for every event. The plan reads `ruleParams` and
 * `actionSchema` as they are now: prepare a new one after changing them.
 * Preparing never throws; what is wrong is thrown by `render`, as
 * `renderActionParameters` throws it.
 */
export function prepareActionParameters(ruleParams: Readonly<Record<string, unknown>>, actionSchema: ActionParameterSchema): ActionParameterPlan {
  return new ActionParameterPlan(ruleParams, actionSchema);
}

/** One parameter as the plan keeps it. */
interface PlannedParameter {
  name: string;
  value: unknown;
  schema: Readonly<Record<string, unknown>> | undefined;
  rawString: boolean;
  /** The names its templates read (not the globals), in the order found, repeats included. */
  reads: readonly string[];
  /** Its place in the order given. */
  index: number;
}

/** How the parameters render against contexts that have the same names: the order, and which parameters become names for the later ones. */
interface RenderOrder {
  order: readonly PlannedParameter[];
  /** Per parameter of `order`: bound for the templates after it (false when a context value has its name). */
  bind: readonly boolean[];
}

/** A rule's parameters prepared for rendering (see prepareActionParameters). */
export class ActionParameterPlan {
  private readonly parameters: PlannedParameter[] = [];
  private readonly byName = new Map<string, PlannedParameter>();
  /** The first immutable parameter the rule sets, thrown by every render. */
  private readonly immutable: string | undefined;
  /** Every name whose being a context name changes the order: the names read and the parameters' own. */
  private readonly contextSensitive: readonly string[];
  /** Orders worked out, by which of `contextSensitive` the context has ('0'/'1' per name). */
  private readonly orders = new Map<string, RenderOrder>();

  constructor(ruleParams: Readonly<Record<string, unknown>>, actionSchema: ActionParameterSchema) {
    const declared = actionSchema.properties ?? {};
    const values = new Map<string, unknown>();
    let immutable: string | undefined;
    for (const [name, schema] of Object.entries(declared)) {
      if (Object.hasOwn(ruleParams, name) && schema.immutable === true) {
        immutable ??= name;
        continue;
      }
      if (!Object.hasOwn(ruleParams, name) && Object.hasOwn(schema, 'default')) values.set(name, schema.default);
    }
    this.immutable = immutable;
    for (const [name, value] of Object.entries(ruleParams)) values.set(name, value);
    const sensitive = new Set<string>();
    for (const [name, value] of values) {
      const schema = Object.hasOwn(declared, name) ? declared[name] : undefined;
      const rawString = schema?.rawString === true;
      const reads: string[] = [];
      if (!rawString) {
        for (const template of templatesIn(value)) for (const used of referencedNames(template)) if (!GLOBAL_NAMES.has(used)) reads.push(used);
      }
      const parameter: PlannedParameter = { name, value, schema, rawString, reads, index: this.parameters.length };
      this.parameters.push(parameter);
      this.byName.set(name, parameter);
      sensitive.add(name);
      for (const used of reads) sensitive.add(used);
    }
    this.contextSensitive = [...sensitive];
  }

  /** Renders the parameters against `context`; throws as `renderActionParameters` does. */
  render(context: TemplateContext, options: RenderOptions = {}): RenderedParameters {
    if (this.immutable !== undefined) throw new TemplateError(`parameter '${this.immutable}' is immutable: the rule cannot set it`, { field: this.immutable });
    const { order, bind } = this.orderFor(context);
    let prepared = new PreparedContext(context);
    const rendered: unknown[] = new Array(order.length);
    for (let index = 0; index < order.length; index += 1) {
      const { name, schema, rawString, value: raw } = order[index]!;
      let value: unknown;
      try {
        value = rawString ? raw : renderValue(raw, prepared, options);
      } catch (error) {
        const cause = asTemplateError(error);
        throw new TemplateError(`parameter '${name}': ${cause.message}`, { field: name, cause });
      }
      value = castToDeclaredType(value, schema, name);
      rendered[order[index]!.index] = value;
      if (bind[index]) prepared = prepared.with(name, value);
    }
    // Listed in the order given (defaults first), not the order rendered.
    const params: Record<string, unknown> = {};
    for (const { name, index } of this.parameters) setOwn(params, name, rendered[index]);
    return { params };
  }

  /** The render order for a context with `context`'s names, worked out once per combination of names that matters. */
  private orderFor(context: TemplateContext): RenderOrder {
    let key = '';
    for (const name of this.contextSensitive) key += isContextName(context, name) ? '1' : '0';
    const known = this.orders.get(key);
    if (known !== undefined) return known;
    const dependencies = new Map<string, Set<string>>();
    for (const { name, reads } of this.parameters) {
      const uses = new Set<string>();
      for (const used of reads) {
        if (isContextName(context, used)) continue;
        if (!this.byName.has(used)) {
          throw new TemplateError(`parameter '${name}' refers to '${used}', which is neither a parameter of the action nor a name templates can read`, { field: name });
        }
        uses.add(used);
      }
      dependencies.set(name, uses);
    }
    const order = dependencyOrder(dependencies).map((name) => this.byName.get(name)!);
    const result: RenderOrder = { order, bind: order.map(({ name }) => !isContextName(context, name)) };
    this.orders.set(key, result);
    return result;
  }
}

function isContextName(context: TemplateContext, name: string): boolean {
  return Object.hasOwn(context.values, name) || context.shared?.has(name) === true;
}

/**
 * Makes `key` an own, enumerable property of `target`, whatever it is
 * named: a name the object inherits (`__proto__`, `constructor`) is
 * defined, as assigning it could set the prototype or call a setter;
 * other names are assigned, which is much faster.
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key in target) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
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
    for (const [key, item] of Object.entries(value)) setOwn(result, key, renderValue(item, context, options));
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
