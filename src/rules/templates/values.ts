/**
 * The Jinja library's runtime values, seen through a narrow typed facade, and
 * the two conversions Attune controls: plain JSON data into runtime values
 * (the context; nothing else ever enters a template, so no JavaScript object,
 * prototype or function is reachable) and runtime values back into plain
 * JSON data (a single-expression template's result, a filter's input).
 * Objects become Maps on the way in and null-prototype-free plain objects with
 * own properties on the way out, so a key named `__proto__` is just a key.
 */
import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import { TemplateError } from './errors.js';

/** A library runtime value (IntegerValue, StringValue, ObjectValue, …), typed loosely. */
export interface RValue {
  type: string;
  value: unknown;
  readonly builtins: ReadonlyMap<string, RValue>;
  __bool__(): RValue;
  toString(): string;
}

type ValueClass = new (value?: unknown) => RValue;

/** The library's scope of variables, typed loosely (its own declarations do not resolve under NodeNext). */
export interface Scope {
  variables: Map<string, RValue>;
  lookupVariable(name: string): RValue;
  set(name: string, value: unknown): RValue;
}

/** The library's Environment class, through the loose type. */
export const ScopeClass = Environment as unknown as new (parent?: Scope) => Scope;

// The library exports no value classes; each is recovered from a value it makes.
const probe = new ScopeClass();
let probes = 0;
function classOf(sample: unknown): ValueClass {
  probes += 1;
  return probe.set(`probe${probes}`, sample).constructor as ValueClass;
}

/** The library's value classes. */
export const V = {
  Integer: classOf(1),
  Float: classOf(1.5),
  String: classOf(''),
  Boolean: classOf(true),
  Null: classOf(null),
  Undefined: classOf(undefined),
  Array: classOf([]),
  Object: classOf({}),
  Function: classOf(() => null),
};

/** The class of keyword arguments (`f(a=1)`), recovered from a call the library makes. */
export const KeywordArgumentsClass: new (value: Map<string, RValue>) => RValue = (() => {
  const scope = new ScopeClass();
  let captured: (new (value: Map<string, RValue>) => RValue) | undefined;
  scope.variables.set(
    'capture',
    new V.Function((args: RValue[]) => {
      captured = args[args.length - 1]!.constructor as new (value: Map<string, RValue>) => RValue;
      return new V.Null(null);
    }),
  );
  new (Interpreter as unknown as new (scope: Scope) => { run(program: unknown): unknown })(scope).run(parse(tokenize('{{ capture(a=1) }}')));
  return captured!;
})();

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Deepest nesting accepted in context data and produced values. */
export const MAX_DEPTH = 100;

export const isString = (value: RValue): boolean => value.type === 'StringValue';
export const isArray = (value: RValue): boolean => value.type === 'ArrayValue' || value.type === 'TupleValue';
export const isMapping = (value: RValue): boolean => value.type === 'ObjectValue' || value.type === 'NamespaceValue' || value.type === 'KeywordArgumentsValue';
export const isNumber = (value: RValue): boolean => value.type === 'IntegerValue' || value.type === 'FloatValue';

/** A number as the library holds it: integers and floats are different classes. */
export function numberValue(value: number): RValue {
  return Number.isInteger(value) ? new V.Integer(value) : new V.Float(value);
}

/**
 * Plain data as a runtime value. Accepts JSON values (and Dates, as their ISO
 * text, as JSON.stringify would); anything else (a function, a class
 * instance, a symbol, a bigint, a non-finite number) is refused naming
 * where it was found.
 */
export function toRuntime(input: unknown, where: string, depth = 0): RValue {
  if (depth > MAX_DEPTH) throw new TemplateError(`${where} nests deeper than ${MAX_DEPTH} levels`);
  switch (typeof input) {
    case 'string':
      return new V.String(input);
    case 'boolean':
      return new V.Boolean(input);
    case 'number':
      if (!Number.isFinite(input)) throw new TemplateError(`${where} is ${String(input)}, not a JSON number`);
      return numberValue(input);
    case 'undefined':
      return new V.Null(null);
    case 'object': {
      if (input === null) return new V.Null(null);
      if (Array.isArray(input)) return new V.Array(input.map((item, index) => toRuntime(item, `${where}[${index}]`, depth + 1)));
      if (input instanceof Date) return new V.String(input.toISOString());
      const proto = Object.getPrototypeOf(input) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new TemplateError(`${where} is not JSON data (a ${(input as object).constructor?.name ?? 'special'} object)`);
      const map = new Map<string, RValue>();
      for (const key of Object.keys(input)) {
        const item = (input as Record<string, unknown>)[key];
        if (item !== undefined) map.set(key, toRuntime(item, `${where}.${key}`, depth + 1));
      }
      return new V.Object(map);
    }
    default:
      throw new TemplateError(`${where} is not JSON data (a ${typeof input})`);
  }
}

/** An object with `entries` as own properties, whatever the keys are named (`__proto__` included). */
export function plainObject(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  return result;
}

/**
 * A runtime value as plain JSON data. `describe` names a value that has no
 * JSON form (a function such as a macro or `range`). Values that must not
 * become data (an undefined name) throw through their own `value` getter.
 */
export function fromRuntime(value: RValue, depth = 0): Json {
  if (depth > MAX_DEPTH) throw new TemplateError(`the value nests deeper than ${MAX_DEPTH} levels (a namespace holding itself?)`);
  switch (value.type) {
    case 'IntegerValue':
    case 'FloatValue':
    case 'StringValue':
    case 'BooleanValue':
      return value.value as Json;
    case 'NullValue':
      return null;
    case 'ArrayValue':
    case 'TupleValue':
      return (value.value as RValue[]).map((item) => fromRuntime(item, depth + 1));
    case 'ObjectValue':
    case 'NamespaceValue':
    case 'KeywordArgumentsValue':
      return plainObject([...(value.value as Map<string, RValue>)].map(([key, item]) => [key, fromRuntime(item, depth + 1)])) as Json;
    case 'UndefinedValue':
      // A NamedUndefined throws its message from `.value`; a bare one (loop.nextitem at the end) is named here.
      void value.value;
      throw new TemplateError('an undefined value cannot be used');
    case 'FunctionValue':
      throw new TemplateError('a macro, range or namespace is a function, not a value: call it');
    default:
      throw new TemplateError(`a ${value.type} is not a value`);
  }
}

const weights = new WeakMap<object, number>();

/**
 * About how many characters `value` takes as JSON text, counting shared
 * parts each time they appear (as serializing would). Stops counting past
 * `limit` (a value that shares itself exponentially is not walked whole).
 * Arrays and objects are immutable in the library and cached; namespaces,
 * which templates can change, are not.
 */
export function weightOf(value: RValue, limit: number, depth = 0): number {
  switch (value.type) {
    case 'StringValue':
      return (value.value as string).length + 2;
    case 'ArrayValue':
    case 'TupleValue':
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
    case 'NamespaceValue': {
      const cached = weights.get(value);
      if (cached !== undefined) return cached;
      if (depth > MAX_DEPTH) return Number.POSITIVE_INFINITY;
      let total = 2;
      if (value.type === 'ArrayValue' || value.type === 'TupleValue') {
        for (const item of value.value as RValue[]) {
          total += weightOf(item, limit - total, depth + 1) + 2;
          if (total > limit) return total;
        }
      } else {
        for (const [key, item] of value.value as Map<string, RValue>) {
          total += key.length + 4 + weightOf(item, limit - total, depth + 1) + 2;
          if (total > limit) return total;
        }
      }
      if (value.type !== 'NamespaceValue') weights.set(value, total);
      return total;
    }
    default:
      return 8;
  }
}
