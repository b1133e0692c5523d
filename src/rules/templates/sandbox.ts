/**
 * The sandboxed interpreter: @huggingface/jinja's Interpreter with Attune's
 * rules laid over the parts that matter.
 *
 * - Safety: the library reads members through Maps of data and of its own
 *   builtins, never through JavaScript property access, and the context
 *   holds plain data only (values.ts), so no prototype, constructor,
 *   function source, process or file is reachable. Globals are Attune's
 *   (no `raise_exception`, no `strftime_now`); `range` is bounded.
 * - Budgets: every evaluation, every loop iteration, every item of a built
 *   list and every 256 characters of a built string cost a step; output and
 *   any built value are capped in characters. A runaway template fails fast
 *   with a message saying which budget ran out.
 * - Strictness (StackStorm renders with StrictUndefined): a name that is not
 *   defined may be tested (`is defined`) or defaulted (`| default`), and any
 *   other use fails naming it.
 * - Text: non-strings render in JSON spelling (`true`, `null`, `{"x": 1}`).
 * - Filters: StackStorm's, on plain data, before the library's own.
 */
import { Interpreter } from '@huggingface/jinja';
import { TemplateError } from './errors.js';
import { jsonText } from './json-text.js';
import type { KeyStoreView } from './key-store.js';
import type { FilterDefinition } from './filter-types.js';
import { describe, KeyPathValue, NamedUndefined, type Node } from './special-values.js';
import { fromRuntime, isArray, isMapping, isString, KeywordArgumentsClass, toRuntime, V, weightOf, type Json, type RValue, type Scope } from './values.js';


/** Budgets of one render. */
export interface Budgets {
  maxSteps: number;
  /** Characters of output, and of any one value built while rendering. */
  maxOutput: number;
}

/** Deepest evaluation nesting (macros calling macros) before the render fails, well before the JavaScript stack would. */
const MAX_NESTING = 400;
/** Characters of built string that cost one step. */
const CHARS_PER_STEP = 256;
/** Node types whose result is a value built by the template (charged and size-checked). */
const BUILDING = new Set(['ArrayLiteral', 'TupleLiteral', 'ObjectLiteral', 'BinaryExpression', 'FilterExpression', 'CallExpression', 'FilterStatement', 'If', 'For', 'CallStatement']);
/** Statements whose result is block output (a string) or nothing, never a value to print. */
const STATEMENTS = new Set(['Set', 'If', 'For', 'Macro', 'CallStatement', 'FilterStatement', 'Comment', 'Break', 'Continue']);
/**
 * The runtime value of each string literal of a parsed template, made on
 * first use. Parsed templates are cached by text and runtime values are
 * immutable, so every render of a template can share them.
 */
const stringLiterals = new WeakMap<Node, RValue>();
/** Library filters Attune replaces: they build text without bounds, or print Maps as `[object Map]`. */
const REPLACED = new Set(['tojson', 'indent', 'replace', 'join', 'string']);

export interface SandboxOptions {
  budgets: Budgets;
  keyStore: KeyStoreView | undefined;
  filters: Readonly<Record<string, FilterDefinition>>;
}

interface LooseInterpreter {
  evaluate(node: Node | undefined, environment: Scope): RValue;
  evaluateBlock(statements: Node[], environment: Scope): RValue;
  evaluateFor(node: Node, environment: Scope): RValue;
  evaluateIdentifier(node: Node, environment: Scope): RValue;
  evaluateCallExpression(node: Node, environment: Scope): RValue;
  evaluateBinaryExpression(node: Node, environment: Scope): RValue;
  evaluateMemberExpression(node: Node, environment: Scope): RValue;
  evaluateSliceExpression(object: RValue, node: Node, environment: Scope): RValue;
  evaluateArguments(args: Node[], environment: Scope): [RValue[], Map<string, RValue>];
  applyFilter(operand: RValue, filter: Node, environment: Scope): RValue;
}

// The library declares these methods private; Attune overrides them, so it sees the class through a loose type.
const BaseInterpreter = Interpreter as unknown as new (environment: Scope) => LooseInterpreter;

/** One render's interpreter: its budgets, key store and filters. Not reused across renders. */
export class SandboxInterpreter extends BaseInterpreter {
  private steps = 0;
  private depth = 0;
  private readonly loops: { node: Node; length: number }[] = [];
  /** Message of the most recent undefined name, for the library's own undefined-operand errors. */
  private lastUndefined: string | undefined;

  constructor(
    environment: Scope,
    private readonly options: SandboxOptions,
  ) {
    super(environment);
  }

  /** Charges `count` steps; throws once the budget is spent. */
  charge(count: number): void {
    this.steps += count;
    if (this.steps > this.options.budgets.maxSteps) {
      throw new TemplateError(`the template exceeded its budget of ${this.options.budgets.maxSteps} steps (a loop too long, or a value too large?)`);
    }
  }

  override evaluate(node: Node | undefined, environment: Scope): RValue {
    this.charge(1);
    this.depth += 1;
    try {
      if (this.depth > MAX_NESTING) throw new TemplateError(`the template nests deeper than ${MAX_NESTING} levels (a macro calling itself?)`);
      if (node !== undefined && node.type === 'StringLiteral') return this.stringLiteral(node);
      const value = super.evaluate(node, environment);
      if (node !== undefined && BUILDING.has(node.type)) this.account(value);
      return value;
    } catch (error) {
      // The library refuses an operation on an undefined operand without naming it; the last undefined name made is the one.
      if (!(error instanceof TemplateError) && this.lastUndefined !== undefined && /undefined/i.test((error as Error).message)) throw new TemplateError(this.lastUndefined);
      throw error;
    } finally {
      this.depth -= 1;
    }
  }

  private stringLiteral(node: Node): RValue {
    let value = stringLiterals.get(node);
    if (value === undefined) stringLiterals.set(node, (value = new V.String(node.value)));
    return value;
  }

  /** Charges and size-checks a value the template built. */
  private account(value: RValue): void {
    const max = this.options.budgets.maxOutput;
    if (isString(value)) {
      const length = (value.value as string).length;
      if (length > max) throw new TemplateError(`the template built a string longer than ${max} characters`);
      this.charge(Math.floor(length / CHARS_PER_STEP));
    } else if (isArray(value) || isMapping(value)) {
      const items = isArray(value) ? (value.value as RValue[]).length : (value.value as Map<string, RValue>).size;
      this.charge(items);
      if (weightOf(value, max) > max) throw new TemplateError(`the template built a value larger than ${max} characters`);
    }
  }

  override evaluateBlock(statements: Node[], environment: Scope): RValue {
    this.charge(1);
    const max = this.options.budgets.maxOutput;
    let output = '';
    for (const statement of statements) {
      const value = this.evaluate(statement, environment);
      output += STATEMENTS.has(statement.type) ? (isString(value) ? (value.value as string) : '') : this.text(value);
      if (output.length > max) throw new TemplateError(`the template output exceeds ${max} characters`);
    }
    const loop = this.loops[this.loops.length - 1];
    if (loop !== undefined && (statements === loop.node.body || statements === loop.node.defaultBlock)) {
      loop.length += output.length;
      if (loop.length > max) throw new TemplateError(`the template output exceeds ${max} characters`);
    }
    return new V.String(output);
  }

  override evaluateFor(node: Node, environment: Scope): RValue {
    this.loops.push({ node, length: 0 });
    try {
      return super.evaluateFor(node, environment);
    } finally {
      this.loops.pop();
    }
  }

  /** A value as output text: strings as they are, everything else in JSON spelling. */
  text(value: RValue): string {
    if (value instanceof KeyPathValue) return '';
    switch (value.type) {
      case 'StringValue':
        return value.value as string;
      case 'IntegerValue':
      case 'FloatValue':
      case 'BooleanValue':
        return String(value.value);
      default:
        return jsonText(fromRuntime(value), {}, this.options.budgets.maxOutput);
    }
  }

  override evaluateIdentifier(node: Node, environment: Scope): RValue {
    const name = node.value as string;
    const value = environment.lookupVariable(name);
    if (value.type === 'UndefinedValue' && !(value instanceof NamedUndefined)) return this.undefinedName(`'${name}' is undefined`);
    return value;
  }

  /** `~` joins the text of both sides (the library would print an object as `[object Map]`); other operators are the library's. */
  override evaluateBinaryExpression(node: Node, environment: Scope): RValue {
    if ((node.operator as { value: string }).value !== '~') return super.evaluateBinaryExpression(node, environment);
    const left = this.evaluate(node.left as Node, environment);
    const right = this.evaluate(node.right as Node, environment);
    return new V.String(this.text(left) + this.text(right));
  }

  override evaluateCallExpression(node: Node, environment: Scope): RValue {
    const [args, keywords] = this.evaluateArguments(node.args as Node[], environment);
    if (keywords.size > 0) args.push(new KeywordArgumentsClass(keywords));
    const callee = this.evaluate(node.callee as Node, environment);
    if (callee instanceof NamedUndefined) throw new TemplateError(callee.message);
    if (callee.type !== 'FunctionValue') throw new TemplateError(`${describe(node.callee as Node)} is not a function`);
    return (callee.value as (args: RValue[], scope: Scope) => RValue)(args, environment);
  }

  override evaluateMemberExpression(node: Node, environment: Scope): RValue {
    const object = this.evaluate(node.object as Node, environment);
    if (object instanceof NamedUndefined) throw new TemplateError(object.message);
    const propertyNode = node.property as Node;
    // `a.b` and `a[0]` name their key in the syntax: read it there, without building a runtime value for it.
    let key: unknown;
    let keyIsString: boolean;
    if (node.computed === true) {
      if (propertyNode.type === 'SliceExpression') return this.evaluateSliceExpression(object, propertyNode, environment);
      const property = this.evaluate(propertyNode, environment);
      keyIsString = isString(property);
      if (object instanceof KeyPathValue) {
        if (!keyIsString) throw new TemplateError(`${object.label}: key names are strings`);
        return this.keyMember(object, property.value as string);
      }
      key = property.value;
    } else {
      key = propertyNode.value;
      keyIsString = propertyNode.type !== 'IntegerLiteral';
      if (object instanceof KeyPathValue) {
        if (!keyIsString) throw new TemplateError(`${object.label}: key names are strings`);
        return this.keyMember(object, key as string);
      }
    }
    let value: RValue | undefined;
    if (isMapping(object)) {
      if (typeof key !== 'string') throw new TemplateError(`${describe(node)}: keys of an object are strings`);
      value = (object.value as Map<string, RValue>).get(key) ?? (object.type === 'ObjectValue' ? object.builtins.get(key) : undefined);
    } else if (isArray(object) || isString(object)) {
      if (typeof key === 'number') {
        const item = isArray(object) ? (object.value as RValue[]).at(key) : (object.value as string).at(key);
        value = typeof item === 'string' ? new V.String(item) : item;
      } else if (typeof key === 'string') {
        value = isString(object) && key === 'replace' ? this.boundedReplaceMethod(object.value as string) : object.builtins.get(key);
      }
    } else if (typeof key === 'string') {
      value = object.builtins.get(key);
    }
    if (value !== undefined) return value;
    const path = describe(node);
    const owner = describe(node.object as Node);
    return this.undefinedName(typeof key === 'number' ? `'${path}' is undefined: ${owner} has no item ${key}` : `'${path}' is undefined: ${owner} has no key '${String(key)}'`);
  }

  /** `text.replace(old, new, count)` as a method, bounded like the filter. */
  private boundedReplaceMethod(text: string): RValue {
    return new V.Function((args: RValue[]) => {
      const last = args[args.length - 1];
      const keywords = last?.type === 'KeywordArgumentsValue' ? (args.pop()!.value as Map<string, RValue>) : new Map<string, RValue>();
      const arg = (index: number, keyword: string) => {
        const value = args[index] ?? keywords.get(keyword);
        return value === undefined ? undefined : fromRuntime(value);
      };
      return this.replaceText(text, arg(0, 'old'), arg(1, 'new'), arg(2, 'count'));
    });
  }

  private undefinedName(message: string): NamedUndefined {
    this.lastUndefined = message;
    return new NamedUndefined(message);
  }

  private keyMember(parent: KeyPathValue, name: string): RValue {
    if (parent.scope === 'root') {
      if (name === 'system') return new KeyPathValue('system', '', `${parent.label}.system`);
      throw new TemplateError(`${parent.label}.${name}: only system keys (st2kv.system) are available`);
    }
    if (parent.scope === 'system' && parent.prefix === '' && parent.label === 'keys' && name === 'pack') return new KeyPathValue('pack', '', 'keys.pack');
    const keyName = parent.prefix === '' ? name : `${parent.prefix}.${name}`;
    const label = `${parent.label}.${name}`;
    const entry = this.options.keyStore?.lookup(parent.scope, keyName);
    if (entry === undefined) return new KeyPathValue(parent.scope, keyName, label);
    if ('secret' in entry) return new V.String(entry.ciphertext);
    return toRuntime(entry.value, label);
  }

  override applyFilter(operand: RValue, filter: Node, environment: Scope): RValue {
    const callee = filter.type === 'CallExpression' ? (filter.callee as Node) : filter;
    const name = callee.type === 'Identifier' ? (callee.value as string) : '';
    if (operand instanceof NamedUndefined && name !== 'default') throw new TemplateError(operand.message);
    if (name === 'decrypt_kv') return this.decrypt(operand);
    const own = this.options.filters[name];
    if (own === undefined && !REPLACED.has(name)) {
      if (filter.type === 'Identifier' && isString(operand)) {
        // What the library returns for these, without building the string's table of twenty methods to call one of them.
        const text = operand.value as string;
        if (name === 'length') return new V.Integer(text.length);
        if (name === 'upper') return new V.String(text.toUpperCase());
        if (name === 'lower') return new V.String(text.toLowerCase());
      }
      return super.applyFilter(operand, filter, environment);
    }
    const args = filter.type === 'CallExpression' ? this.evaluateArguments(filter.args as Node[], environment) : ([[], new Map()] as [RValue[], Map<string, RValue>]);
    return own !== undefined ? this.applyOwnFilter(name, own, operand, args) : this.applyReplacedFilter(name, operand, args);
  }

  private applyOwnFilter(name: string, filter: FilterDefinition, operand: RValue, [positional, keywords]: [RValue[], Map<string, RValue>]): RValue {
    const max = this.options.budgets.maxOutput;
    this.charge(Math.floor(weightOf(operand, max) / CHARS_PER_STEP));
    if (positional.length > filter.params.length) throw new TemplateError(`${name} takes at most ${filter.params.length} argument(s), got ${positional.length}`);
    const values: (Json | undefined)[] = filter.params.map((_, index) => (positional[index] === undefined ? undefined : fromRuntime(positional[index]!)));
    for (const [keyword, value] of keywords) {
      const index = filter.params.indexOf(keyword);
      if (index < 0) throw new TemplateError(`${name} has no argument '${keyword}'`);
      if (values[index] !== undefined) throw new TemplateError(`${name} got two values for '${keyword}'`);
      values[index] = fromRuntime(value);
    }
    const missing = filter.params.slice(0, filter.required ?? 0).find((_, index) => values[index] === undefined);
    if (missing !== undefined) throw new TemplateError(`${name} needs its '${missing}' argument`);
    const input = operand instanceof KeyPathValue ? '' : fromRuntime(operand);
    let result: Json;
    try {
      result = filter.apply(input, values, { maxOutput: max });
    } catch (error) {
      if (error instanceof TemplateError) throw error;
      throw new TemplateError((error as Error).message.startsWith(`${name}:`) ? (error as Error).message : `${name}: ${(error as Error).message}`);
    }
    return toRuntime(result, `the result of ${name}`);
  }

  /** The library's unbounded or Map-printing filters, redone with bounds and JSON spelling. */
  private applyReplacedFilter(name: string, operand: RValue, [positional, keywords]: [RValue[], Map<string, RValue>]): RValue {
    const max = this.options.budgets.maxOutput;
    const arg = (index: number, keyword: string): Json | undefined => {
      const value = positional[index] ?? keywords.get(keyword);
      return value === undefined ? undefined : fromRuntime(value);
    };
    switch (name) {
      case 'tojson': {
        const indent = arg(0, 'indent');
        if (indent !== undefined && indent !== null && typeof indent !== 'number') throw new TemplateError('tojson: indent must be a number');
        return new V.String(jsonText(fromRuntime(operand), { indent: (indent as number | null | undefined) ?? null, sortKeys: arg(1, 'sort_keys') === true }, max));
      }
      case 'string':
        return new V.String(this.text(operand));
      case 'join': {
        const separator = arg(0, 'd') ?? (keywords.has('separator') ? fromRuntime(keywords.get('separator')!) : '');
        if (typeof separator !== 'string') throw new TemplateError('join: the separator must be a string');
        const items = isString(operand) ? [...(operand.value as string)].map((char) => new V.String(char)) : isArray(operand) ? (operand.value as RValue[]) : null;
        if (items === null) throw new TemplateError(`join: cannot join a ${operand.type.replace(/Value$/, '').toLowerCase()}`);
        this.charge(items.length);
        let text = '';
        for (const [index, item] of items.entries()) {
          text += (index > 0 ? separator : '') + this.text(item);
          if (text.length > max) throw new TemplateError(`join: the result exceeds ${max} characters`);
        }
        return new V.String(text);
      }
      case 'indent': {
        if (!isString(operand)) throw new TemplateError('indent: the value must be a string');
        const width = arg(0, 'width') ?? 4;
        if (typeof width !== 'number' || !Number.isInteger(width) || width < 0 || width > 64) throw new TemplateError('indent: width must be a whole number from 0 to 64');
        const first = arg(1, 'first') === true;
        const blank = arg(2, 'blank') === true;
        const pad = ' '.repeat(width);
        const lines = (operand.value as string).split('\n');
        if ((operand.value as string).length + lines.length * width > max) throw new TemplateError(`indent: the result exceeds ${max} characters`);
        return new V.String(lines.map((line, index) => ((index === 0 && !first) || (line === '' && !blank) ? line : pad + line)).join('\n'));
      }
      default:
        // replace(old, new[, count])
        if (!isString(operand)) throw new TemplateError('replace: the value must be a string');
        return this.replaceText(operand.value as string, arg(0, 'old'), arg(1, 'new'), arg(2, 'count'));
    }
  }

  /** Python's str.replace, refusing a result past the size cap before building it (`s.replace('', s)` would be quadratic). */
  private replaceText(text: string, from: Json | undefined, to: Json | undefined, count: Json | undefined): RValue {
    const max = this.options.budgets.maxOutput;
    if (typeof from !== 'string' || typeof to !== 'string') throw new TemplateError('replace: old and new must be strings');
    const limit = typeof count === 'number' && count >= 0 ? count : Number.POSITIVE_INFINITY;
    const pieces = from === '' ? ['', ...[...text], ''] : text.split(from);
    const replacements = Math.min(pieces.length - 1, limit);
    if (text.length + replacements * (to.length - from.length) > max) throw new TemplateError(`replace: the result exceeds ${max} characters`);
    this.charge(pieces.length);
    let result = pieces[0]!;
    for (let index = 1; index < pieces.length; index += 1) result += (index <= replacements ? to : from) + pieces[index];
    return new V.String(result);
  }

  private decrypt(operand: RValue): RValue {
    if (operand instanceof KeyPathValue) throw new TemplateError(`decrypt_kv: the key store item ${operand.label} does not exist`);
    if (!isString(operand)) throw new TemplateError('decrypt_kv: the value must be a secret read from the key store');
    const store = this.options.keyStore;
    if (store === undefined) throw new TemplateError('decrypt_kv: no key store is available to this template');
    let plain: unknown;
    try {
      plain = store.decrypt(operand.value as string);
    } catch {
      throw new TemplateError('decrypt_kv: the value is not a secret of the key store (decrypt_kv takes st2kv.system.<name> or keys.<name> of a secret key)');
    }
    return toRuntime(plain, 'the decrypted value');
  }
}
