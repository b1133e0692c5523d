/**
 * One ajv instance for the engine's run-time validation (event payloads,
 * execution parameters), with Attune's parameter annotations (`secret`,
 * `immutable`, `position`, `rawString`) known, and compiled validators cached
 * by the caller's key (a row id and its updated_at: an edit recompiles).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ANNOTATION_KEYWORDS } from '../packs/json-schema.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// Errors are built from paths and keywords only (verbose off), never from the
// values, so a secret never reaches a message. useDefaults fills defaults in.
const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, verbose: false });
addFormats(ajv);
for (const keyword of ANNOTATION_KEYWORDS) if (ajv.getKeyword(keyword) === false) ajv.addKeyword(keyword);

/** Compiled validators kept, least recently used dropped first. */
const CACHE_SIZE = 500;
const cache = new Map<string, ValidateFunction>();

/**
 * The compiled validator of `schema`, cached under `key` (which must change
 * whenever the schema does: `trigger:<id>:<updated_at>`).
 */
export function compiledSchema(key: string, schema: Record<string, unknown>): ValidateFunction {
  const cached = cache.get(key);
  if (cached !== undefined) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const validate = ajv.compile(schema);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, validate);
  return validate;
}

/**
 * `schema` compiled without the keyed cache, for a caller that keeps its own
 * (request-execution's per-action plans, which also check the schema itself).
 */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

/**
 * ajv's errors as one line per problem, each naming where it is (`payload.
 * body.count must be integer`), never the value found there.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string {
  const lines = (errors ?? []).map((error) => {
    const at = root + error.instancePath.replace(/\/([^/]*)/g, (_, part: string) => `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`);
    if (error.keyword === 'additionalProperties') {
      return `${at} has an unknown property '${String((error.params as { additionalProperty: string }).additionalProperty)}'`;
    }
    if (error.keyword === 'required') return `${at} is missing required property '${String((error.params as { missingProperty: string }).missingProperty)}'`;
    return `${at} ${error.message ?? 'is invalid'}`;
  });
  return [...new Set(lines)].join('; ');
}

/** The first error's path as a field name (`payload.body.count`), for the error's `field`. */
export function firstErrorField(errors: readonly ErrorObject[] | null | undefined, root: string): string {
  const first = errors?.[0];
  if (!first) return root;
  const path = root + first.instancePath.replace(/\/([^/]*)/g, (_, part: string) => `.${part}`);
  if (first.keyword === 'required') return `${path}.${String((first.params as { missingProperty: string }).missingProperty)}`;
  if (first.keyword === 'additionalProperties') return `${path}.${String((first.params as { additionalProperty: string }).additionalProperty)}`;
  return path;
}
