/**
 * snake_case in HTTP, camelCase inside: the one place names are converted.
 * Only an entity's own field names change; the values (payloads, parameters,
 * configuration, schemas: user data) keep their keys exactly as written.
 */

const toSnakeCache = new Map<string, string>();
const toCamelCache = new Map<string, string>();

/** `packRef` → `pack_ref`. */
export function snakeName(name: string): string {
  let converted = toSnakeCache.get(name);
  if (converted === undefined) {
    converted = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    toSnakeCache.set(name, converted);
  }
  return converted;
}

/** `pack_ref` → `packRef`. */
export function camelName(name: string): string {
  let converted = toCamelCache.get(name);
  if (converted === undefined) {
    converted = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    toCamelCache.set(name, converted);
  }
  return converted;
}

/** `packRef` → `pack_ref`, as a type. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** An entity's HTTP shape: every field, snake_case (what `toHttp` returns, field for field). */
export type HttpShape<T> = { [K in keyof T & string as SnakeCase<K>]: unknown };

/** An entity for a response: its top-level field names in snake_case, values untouched. */
export function toHttp<T extends object>(entity: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entity)) out[snakeName(key)] = value;
  return out;
}

/** A request body or query: top-level snake_case names in camelCase, values untouched; undefined values dropped. */
export function fromHttp<T = Record<string, unknown>>(input: object | undefined | null): T {
  const out: Record<string, unknown> = {};
  if (input) for (const [key, value] of Object.entries(input)) if (value !== undefined) out[camelName(key)] = value;
  return out as T;
}
