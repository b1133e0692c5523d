/**
 * Casting a rendered parameter to its declared JSON Schema type, as
 * StackStorm does after rendering (its casts, in JSON spelling): "5" → 5 for
 * an integer, "1.5" → 1.5 for a number, "true" / "false" (any case) → a
 * boolean, JSON text → an object or array. A string parameter takes numbers
 * and booleans as their text and objects as JSON text (a single-expression
 * template keeps its type where StackStorm would have rendered text).
 * `use_none`'s marker becomes null. What cannot be cast is an error naming
 * the parameter; a value that already has the type is left alone.
 */
import { TemplateError } from './errors.js';
import { NONE_MAGIC_VALUE } from './filters-data.js';

const INTEGER_TEXT = /^\s*[-+]?\d+\s*$/;
const NUMBER_TEXT = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

type Cast = (value: unknown) => { ok: true; value: unknown } | { ok: false };

const ok = (value: unknown) => ({ ok: true as const, value });
const no = { ok: false as const };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const CASTS: Record<string, Cast> = {
  integer: (value) => {
    if (typeof value === 'number') return Number.isInteger(value) ? ok(value) : no;
    if (typeof value === 'string' && INTEGER_TEXT.test(value)) {
      const parsed = Number(value.trim());
      return Number.isSafeInteger(parsed) ? ok(parsed) : no;
    }
    return no;
  },
  number: (value) => {
    if (typeof value === 'number') return ok(value);
    if (typeof value === 'string' && NUMBER_TEXT.test(value)) return ok(Number(value.trim()));
    return no;
  },
  boolean: (value) => {
    if (typeof value === 'boolean') return ok(value);
    if (typeof value === 'string' && /^\s*(true|false)\s*$/i.test(value)) return ok(value.trim().toLowerCase() === 'true');
    return no;
  },
  object: (value) => {
    const parsed = typeof value === 'string' ? parseJson(value) : value;
    return isPlainObject(parsed) ? ok(parsed) : no;
  },
  array: (value) => {
    const parsed = typeof value === 'string' ? parseJson(value) : value;
    return Array.isArray(parsed) ? ok(parsed) : no;
  },
  string: (value) => {
    if (typeof value === 'string') return ok(value);
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'object') return ok(JSON.stringify(value));
    return no;
  },
  null: (value) => (value === null ? ok(null) : no),
};

/** The JSON Schema type name of a value. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/**
 * `value` cast to the type `schema` declares (`type`: one name or a list,
 * tried in order); unchanged when there is no type or it already fits.
 */
export function castToDeclaredType(value: unknown, schema: Readonly<Record<string, unknown>> | undefined, parameter: string): unknown {
  if (value === NONE_MAGIC_VALUE || value === null) return null;
  const declared = schema?.type;
  const types = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? declared.filter((type): type is string => typeof type === 'string') : [];
  if (types.length === 0 || types.some((type) => hasType(value, type))) return value;
  for (const type of types) {
    const cast = CASTS[type]?.(value);
    if (cast?.ok) return cast.value;
  }
  throw new TemplateError(`parameter '${parameter}' is declared ${types.join(' or ')}, and its rendered ${typeOf(value)} value cannot be cast to it`, { field: parameter });
}
