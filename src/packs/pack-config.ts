/**
 * Pack configuration: the values a pack's actions and sensors read as
 * `{{ config.<key> }}`, validated against the pack's config.schema.yaml.
 *
 * Where values live: plain values in the active version's `packs.config`;
 * values of keys the schema marks `secret: true` in the keys table, as
 * encrypted pack keys `pack.<pack ref>.<key>` (StackStorm keeps secrets in
 * its datastore too), so they are encrypted with the configured key,
 * rotated with `KeyRepository.rotate`, and never stored or returned in
 * plain. `packs.config` never holds a secret.
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { SecretCipher } from '../crypto/secrets.js';
import { mapErrors } from '../db/pg-errors.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { ValidationError } from '../errors.js';
import { KEY_NAME_MAX_LENGTH, KEY_NAME_PATTERN, KeyRepository, decryptValue } from '../repositories/keys.js';
import { PackRepository, type JsonObject, type Pack } from '../repositories/packs.js';
import { ANNOTATION_KEYWORDS, isPlainObject } from './json-schema.js';

/** What a masked secret reads as in `getPackConfig`. */
export const MASKED_SECRET = '********';

const ENTITY = 'packConfig';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// useDefaults fills defaults in; allErrors reports every problem. Errors are
// built from paths and schema keywords only (verbose off), never from the
// values, so a secret never reaches a message.
const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, verbose: false });
addFormats(ajv);
for (const keyword of ANNOTATION_KEYWORDS) if (ajv.getKeyword(keyword) === false) ajv.addKeyword(keyword);

/** The names of the top-level schema properties marked `secret: true`. */
export function secretKeys(schema: JsonObject): string[] {
  const properties = schema.properties;
  if (!isPlainObject(properties)) return [];
  return Object.entries(properties)
    .filter(([, property]) => isPlainObject(property) && property.secret === true)
    .map(([name]) => name);
}

/** Options of the configuration functions. */
export interface PackConfigOptions {
  /** The encryption key for secret values (`SecretCipher.fromConfig(config.security)`). */
  cipher?: SecretCipher | undefined;
}

/**
 * Validates `values` against the schema, with defaults applied and required
 * keys enforced. ValidationError naming every offending key (never a value).
 * Returns a copy with defaults filled in.
 */
export function validatePackConfig(packRef: string, schema: JsonObject, values: unknown): JsonObject {
  if (!isPlainObject(values)) throw new ValidationError(`${ENTITY} of pack '${packRef}' must be an object of key → value`, { entity: ENTITY, field: 'config' });
  const copy = structuredClone(values);
  const validate = ajv.compile({ ...schema, type: 'object' });
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map(describeError);
    throw new ValidationError(`${ENTITY} of pack '${packRef}' is invalid: ${problems.join('; ')}`, {
      entity: ENTITY,
      field: firstField(validate.errors ?? []),
    });
  }
  return copy;
}

/**
 * The configuration a new version starts with: the previous version's plain
 * values (when there was one) with the new schema's defaults filled in. Not
 * validated: a required key without a default is set with `setPackConfig`.
 */
export function initialPackConfig(schema: JsonObject, previous: JsonObject | null): JsonObject {
  const secrets = new Set(secretKeys(schema));
  const config: JsonObject = {};
  for (const [key, value] of Object.entries(previous ?? {})) if (!secrets.has(key)) config[key] = value;
  const properties = isPlainObject(schema.properties) ? schema.properties : {};
  for (const [key, property] of Object.entries(properties)) {
    if (secrets.has(key) || key in config || !isPlainObject(property) || !('default' in property)) continue;
    config[key] = structuredClone(property.default);
  }
  return config;
}

/**
 * Sets the whole configuration of the active version of `packRef`: every
 * value validated against its config schema (defaults applied, required
 * keys enforced), plain values stored in packs.config, secret ones encrypted
 * into the keys table (`pack.<ref>.<key>`; needs `options.cipher`). A secret
 * left out keeps its stored value. One transaction; nothing changes on
 * error. Returns the configuration with secrets masked.
 */
export async function setPackConfig(db: Executor, packRef: string, values: unknown, options: PackConfigOptions = {}): Promise<JsonObject> {
  return withTransaction(db, async (tx) => {
    await PackRepository.lockRef(tx, packRef);
    const pack = await PackRepository.getByRef(tx, packRef);
    const secrets = secretKeys(pack.confSchema);
    const given = isPlainObject(values) ? values : {};
    // A secret already stored satisfies `required` without being given again (its value never leaves the keys table here).
    const stored = await storedSecrets(tx, pack, secrets);
    const required = Array.isArray(pack.confSchema.required) ? (pack.confSchema.required as unknown[]) : [];
    const schema = { ...pack.confSchema, required: required.filter((key) => typeof key !== 'string' || !stored.includes(key) || key in given) };
    const checked = validatePackConfig(packRef, schema, values);
    const plain: JsonObject = {};
    for (const [key, value] of Object.entries(checked)) if (!secrets.includes(key)) plain[key] = value;
    for (const key of secrets) {
      if (!(key in given)) continue;
      if (!KEY_NAME_PATTERN.test(key) || key.length > KEY_NAME_MAX_LENGTH) {
        throw new ValidationError(`${ENTITY} secret key '${key}' of pack '${packRef}' cannot be a key name (${KEY_NAME_PATTERN.source})`, { entity: ENTITY, field: key });
      }
      const existing = await KeyRepository.findByRef(tx, `pack.${packRef}.${key}`);
      if (existing === null) {
        await KeyRepository.create(tx, { ownerType: 'pack', owner: packRef, name: key, value: given[key], secret: true, description: `secret configuration of pack ${packRef}` }, options);
      } else {
        await KeyRepository.update(tx, existing.id, { value: given[key], secret: true }, options);
      }
    }
    const updated = await PackRepository.update(tx, pack.id, { config: plain });
    return masked(updated, [...new Set([...stored, ...secrets.filter((key) => key in given)])]);
  });
}

/**
 * The configuration of the active version of `packRef`, secrets masked
 * (`********` for each one that is set). For display and APIs.
 */
export async function getPackConfig(db: Executor, packRef: string): Promise<JsonObject> {
  const pack = await PackRepository.getByRef(db, packRef);
  return masked(pack, await storedSecrets(db, pack, secretKeys(pack.confSchema)));
}

/**
 * The configuration with secrets decrypted, for the process that runs the
 * pack's actions: never log or return it. DecryptionError when a secret
 * cannot be decrypted with `options.cipher`.
 */
export async function resolvePackConfig(db: Executor, packRef: string, options: PackConfigOptions = {}): Promise<JsonObject> {
  const pack = await PackRepository.getByRef(db, packRef);
  const config: JsonObject = { ...pack.config };
  for (const key of secretKeys(pack.confSchema)) {
    const stored = await KeyRepository.findByRef(db, `pack.${packRef}.${key}`);
    if (stored !== null) config[key] = decryptValue(stored, options);
  }
  return config;
}

/** Deletes the stored secret configuration values of `packRef` (on uninstall); returns how many went. */
export async function deletePackSecrets(db: Executor, packRef: string, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const result = await mapErrors('key', () => db.query("DELETE FROM keys WHERE owner_type = 'pack' AND owner = $1 AND name = ANY($2::text[])", [packRef, keys]));
  return result.rowCount ?? 0;
}

async function storedSecrets(db: Executor, pack: Pack, secrets: string[]): Promise<string[]> {
  const present: string[] = [];
  for (const key of secrets) {
    if (!KEY_NAME_PATTERN.test(key)) continue;
    if ((await KeyRepository.findByRef(db, `pack.${pack.ref}.${key}`)) !== null) present.push(key);
  }
  return present;
}

function masked(pack: Pack, secretsSet: string[]): JsonObject {
  const config: JsonObject = { ...pack.config };
  for (const key of secretsSet) config[key] = MASKED_SECRET;
  return config;
}

/** `api_key: must be string` from an ajv error: the path and the rule, never the value. */
function describeError(error: ErrorObject): string {
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'required') return `${String((error.params as { missingProperty?: string }).missingProperty)}: is required`;
  if (error.keyword === 'additionalProperties') return `${String((error.params as { additionalProperty?: string }).additionalProperty)}: is not a configuration key of this pack`;
  return `${path === '' ? '(config)' : path}: ${error.message ?? error.keyword}`;
}

function firstField(errors: ErrorObject[]): string {
  const error = errors[0];
  if (error === undefined) return 'config';
  if (error.keyword === 'required') return String((error.params as { missingProperty?: string }).missingProperty);
  return error.instancePath.replace(/^\//, '').split('/')[0] || 'config';
}
