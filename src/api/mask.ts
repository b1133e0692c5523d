/**
 * Secrets in parameters, for display: every parameter the action's schema
 * marks `secret: true`, and any value stored encrypted (`{"$secret":
 * "<ciphertext>"}`, how execution requests keep secret parameters) shows as
 * `********`. The one helper every response with parameters goes through.
 */
import { SecretCipher } from '../crypto/secrets.js';
import type { JsonObject } from '../repositories/packs.js';

/** What a secret shows in every response. */
export const MASKED = '********';

/** The names of the top-level parameters an action schema marks `secret: true`. */
export function secretParamNames(schema: Record<string, unknown>): string[] {
  const properties = schema.properties;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return [];
  return Object.entries(properties as Record<string, unknown>)
    .filter(([, property]) => property !== null && typeof property === 'object' && (property as Record<string, unknown>).secret === true)
    .map(([name]) => name);
}

function isStoredSecret(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$secret' && SecretCipher.isCiphertext((value as Record<string, unknown>).$secret);
}

/** A copy of `params` with secret parameters (by `schema`, and stored ciphertexts whatever it says) masked. */
export function maskParams(params: JsonObject, schema: Record<string, unknown>): JsonObject {
  if (params === null || typeof params !== 'object') return params;
  const secrets = new Set(secretParamNames(schema));
  let masked: JsonObject | undefined;
  for (const [name, value] of Object.entries(params)) {
    if (secrets.has(name) || isStoredSecret(value)) {
      masked ??= { ...params };
      masked[name] = MASKED;
    }
  }
  return masked ?? params;
}
