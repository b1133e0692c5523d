/**
 * Rendering one template: parsing (cached by text), the context read on
 * demand, the sandboxed interpreter, and the typed or text result.
 */
import { parse, tokenize } from '@huggingface/jinja';
import { checkTemplateSyntax } from '../template-syntax.js';
import { asTemplateError, TemplateError } from './errors.js';
import { STACKSTORM_FILTERS } from './filters.js';
import type { KeyStoreView } from './key-store.js';
import { SandboxInterpreter } from './sandbox.js';
import { KeyPathValue, type Node } from './special-values.js';
import { fromRuntime, ScopeClass, toRuntime, V, type RValue, type Scope } from './values.js';

/** What a template can see. */
export interface TemplateContext {
  /**
   * Names the template reads: `trigger`, `event`, `rule`, `config`,
   * `config_context`, `action_context`, other action parameters. JSON data
   * (Dates read as ISO text); anything else is refused when read.
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** Behind `st2kv.system.*` and `keys.*`; without one every key is missing (renders ''). */
  readonly keyStore?: KeyStoreView | undefined;
  /**
   * More names, converted once and read by many renders (the event's
   * `trigger` and `event`, for every rule of the event). A name in `values`
   * hides the same name here.
   */
  readonly shared?: SharedValues | undefined;
}

/** Budgets for one render. */
export interface RenderOptions {
  /** Steps (evaluations, loop iterations, items and characters built) before the render fails. Default 100,000. */
  maxSteps?: number;
  /** Characters of output, and of any one value built, before the render fails. Default 1 MiB. */
  maxOutput?: number;
}

export const DEFAULT_MAX_STEPS = 100_000;
export const DEFAULT_MAX_OUTPUT = 1024 * 1024;
/** Templates kept parsed, by text. */
const CACHE_SIZE = 1000;

/** Names the key store answers to; a context value of the same name is refused (it would hide the key store). */
const KEY_STORE_NAMES = new Set(['st2kv', 'keys']);

interface Compiled {
  /** The whole template, or null when it is one expression. */
  program: Node | null;
  /** The expression of a template that is exactly `{{ expression }}` (spaces around allowed), kept typed. */
  expression: Node | null;
}

const compiled = new Map<string, Compiled>();

function compile(template: string): Compiled {
  const cached = compiled.get(template);
  if (cached !== undefined) {
    // Refresh its place: the map's order is least recently used first.
    compiled.delete(template);
    compiled.set(template, cached);
    return cached;
  }
  let result: Compiled;
  try {
    const trimmed = template.trim();
    const tokens = tokenize(trimmed, { lstrip_blocks: true, trim_blocks: true });
    const single =
      tokens.length > 2 &&
      tokens[0]!.type === 'OpenExpression' &&
      tokens[tokens.length - 1]!.type === 'CloseExpression' &&
      tokens.filter((token: { type: string }) => token.type === 'OpenExpression' || token.type === 'OpenStatement' || token.type === 'Text' || token.type === 'Comment').length === 1;
    if (single) {
      const program = parse(tokens) as unknown as { body: Node[] };
      result = { program: null, expression: program.body[0]! };
    } else {
      result = { program: parse(tokenize(template, { lstrip_blocks: true, trim_blocks: true })) as unknown as Node, expression: null };
    }
  } catch (error) {
    const problem = checkTemplateSyntax(template);
    throw new TemplateError(
      problem === null ? `the template does not parse: ${(error as Error).message}` : `the template does not parse at line ${problem.line}, column ${problem.column}: ${problem.message}`,
    );
  }
  if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value!);
  compiled.set(template, result);
  return result;
}

/**
 * Context data converted into the template runtime once, for many renders
 * that read the same data: the rules role converts an event's `trigger` and
 * `event` once and every rule of the event reads them. Each name is
 * converted when first read; runtime values are immutable (the library
 * copies before it changes anything, and a template can assign only to the
 * namespaces it makes), so sharing them across renders cannot leak one
 * render's work into another. The data must not change once read.
 */
export class SharedValues {
  private readonly converted = new Map<string, RValue>();
  private namesCache: readonly string[] | undefined;

  constructor(readonly values: Readonly<Record<string, unknown>>) {}

  /** Whether `name` is one of these values. */
  has(name: string): boolean {
    return Object.hasOwn(this.values, name);
  }

  /** The names held. */
  names(): readonly string[] {
    return (this.namesCache ??= Object.keys(this.values));
  }

  /** The runtime value of `name` (converted on first read), or undefined when it is not held. */
  lookup(name: string): RValue | undefined {
    const done = this.converted.get(name);
    if (done !== undefined) return done;
    if (!Object.hasOwn(this.values, name)) return undefined;
    // A value that is not JSON data throws here, every time it is read: nothing half-converted is kept.
    const value = toRuntime(this.values[name], name);
    this.converted.set(name, value);
    return value;
  }
}

/**
 * A context converted once into the template runtime's values, for
 * rendering several templates against the same data (a rule's parameters).
 * Values are converted when first read, and `with` adds names (parameters
 * already rendered) without copying the rest.
 */
export class PreparedContext {
  private readonly converted = new Map<string, RValue>();
  /** Whether the key store's names were checked free (the check is the same for every render of this context). */
  private keyStoreNamesChecked = false;

  constructor(
    readonly context: TemplateContext,
    private readonly extra: ReadonlyMap<string, unknown> = new Map(),
    private readonly parent?: PreparedContext,
  ) {}

  /** This context with `name` bound to `value` too. */
  with(name: string, value: unknown): PreparedContext {
    return new PreparedContext(this.context, new Map([[name, value]]), this);
  }

  /** Whether `name` is a context value here. */
  has(name: string): boolean {
    if (this.extra.has(name)) return true;
    if (this.parent !== undefined) return this.parent.has(name);
    return Object.hasOwn(this.context.values, name) || this.context.shared?.has(name) === true;
  }

  /** The runtime value of `name`, or undefined when it is not a context value. */
  lookup(name: string): RValue | undefined {
    const done = this.converted.get(name);
    if (done !== undefined) return done;
    let value: RValue | undefined;
    if (this.extra.has(name)) value = toRuntime(this.extra.get(name), name);
    else if (this.parent !== undefined) return this.parent.lookup(name);
    else if (Object.hasOwn(this.context.values, name)) value = toRuntime(this.context.values[name], name);
    // Shared values keep their own conversions, for every context that shares them.
    else return this.context.shared?.lookup(name);
    if (value !== undefined) this.converted.set(name, value);
    return value;
  }

  /**
   * Throws when a context value would hide the key store (`st2kv`, `keys`).
   * Checked once per context; a context made by `with` checks its own name
   * and asks its parent, which remembers its answer.
   */
  assertKeyStoreNamesFree(): void {
    if (this.keyStoreNamesChecked) return;
    for (const name of KEY_STORE_NAMES) {
      if (this.parent === undefined ? this.has(name) : this.extra.has(name)) throw new TemplateError(`'${name}' names the key store; a context value cannot use that name`);
    }
    this.parent?.assertKeyStoreNamesFree();
    this.keyStoreNamesChecked = true;
  }
}

/**
 * Names every render sees unless the template sets them: Python's and
 * JSON's constants, the key store's roots and the library's `namespace`
 * (a function of its arguments only). Immutable values, built once and
 * shared by every render instead of a fresh library environment per
 * template.
 */
const GLOBALS: ReadonlyMap<string, RValue> = new Map<string, RValue>([
  ...([['true', true], ['false', false], ['none', null], ['True', true], ['False', false], ['None', null]] as const).map(
    ([name, value]): [string, RValue] => [name, toRuntime(value, name)],
  ),
  ['st2kv', new KeyPathValue('root', '', 'st2kv')],
  ['keys', new KeyPathValue('system', '', 'keys')],
  ['namespace', new ScopeClass().variables.get('namespace')!],
]);

/** The library's tests (`is defined`, `is number`, …), which its root environment carries. */
const LIBRARY_TESTS: unknown = (ScopeClass as unknown as { TESTS: unknown }).TESTS;

/**
 * The root scope of one render: what the template sets at the top level,
 * then the shared globals and this render's bounded `range`, then the
 * context read on demand. It answers the library as its own root
 * environment would (nested scopes of loops and macros resolve names
 * through it and read the value from `variables`), without building one.
 */
class RenderScope implements Scope {
  readonly variables = new Map<string, RValue>();
  readonly tests = LIBRARY_TESTS;

  constructor(
    private readonly prepared: PreparedContext,
    private readonly makeRange: () => RValue,
  ) {}

  lookupVariable(name: string): RValue {
    return this.load(name) ? this.variables.get(name)! : new V.Undefined(undefined);
  }

  /** Called by the library when a nested scope (a loop, a macro) looks a name up through its parents. */
  resolve(name: string): Scope {
    if (this.load(name)) return this;
    throw new Error(`Unknown variable: ${name}`);
  }

  /** `{% set name = … %}` at the top level. */
  setVariable(name: string, value: RValue): RValue {
    this.variables.set(name, value);
    return value;
  }

  set(name: string, value: unknown): RValue {
    return this.setVariable(name, toRuntime(value, name));
  }

  /** Whether `name` is a variable here, taking it from the globals or the context on first use. */
  private load(name: string): boolean {
    if (this.variables.has(name)) return true;
    const value = GLOBALS.get(name) ?? (name === 'range' ? this.makeRange() : this.prepared.lookup(name));
    if (value === undefined) return false;
    this.variables.set(name, value);
    return true;
  }
}

function prepare(context: TemplateContext | PreparedContext): PreparedContext {
  const prepared = context instanceof PreparedContext ? context : new PreparedContext(context);
  prepared.assertKeyStoreNamesFree();
  return prepared;
}

/**
 * Renders `template` against `context`, sandboxed and within budgets.
 *
 * A template that is exactly one expression (`"{{ trigger.count }}"`, spaces
 * around allowed) keeps the value's type: number, boolean, object, list or
 * null. Any other template renders text, non-strings in JSON spelling. A
 * name that is not defined is an error naming it; a key missing from the key
 * store renders as ''. Every failure is a `TemplateError`.
 */
export function renderTemplate(template: string, context: TemplateContext | PreparedContext, options: RenderOptions = {}): unknown {
  const { program, expression } = compile(template);
  const prepared = prepare(context);
  let interpreter: SandboxInterpreter | undefined;
  // A range the size of the remaining budget at most: `range(10**9)` fails before allocating.
  const environment = new RenderScope(prepared, () => new V.Function((args: RValue[]) => boundedRange(args, interpreter!)));
  interpreter = new SandboxInterpreter(environment, {
    budgets: { maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS, maxOutput: options.maxOutput ?? DEFAULT_MAX_OUTPUT },
    keyStore: prepared.context.keyStore,
    filters: STACKSTORM_FILTERS,
  });
  try {
    if (expression !== null) {
      const value = interpreter.evaluate(expression, environment);
      return value instanceof KeyPathValue ? '' : fromRuntime(value);
    }
    return interpreter.evaluate(program!, environment).value as string;
  } catch (error) {
    throw asTemplateError(error);
  }
}

function boundedRange(args: RValue[], interpreter: SandboxInterpreter): RValue {
  const numbers = args.map((arg) => {
    if (arg.type !== 'IntegerValue') throw new TemplateError('range takes whole numbers');
    return arg.value as number;
  });
  if (numbers.length < 1 || numbers.length > 3) throw new TemplateError(`range takes 1 to 3 arguments, got ${numbers.length}`);
  const [start, stop, step] = numbers.length === 1 ? [0, numbers[0]!, 1] : [numbers[0]!, numbers[1]!, numbers[2] ?? 1];
  if (step === 0) throw new TemplateError('range: the step must not be zero');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  interpreter.charge(length);
  const items: RValue[] = [];
  for (let index = 0; index < length; index += 1) items.push(new V.Integer(start + index * step));
  return new V.Array(items);
}
