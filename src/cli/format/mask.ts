/**
 * Secrets masked for display. The API already masks secret values
 * (`********`); this catches what a table would otherwise spell out from
 * a client's own data: fields whose names say they hold a secret.
 */

/** What a masked value shows. */
export const MASKED = '********';

const SECRET_NAME = /(^|_)(password|passwd|secret|token|api_key|apikey|private_key)$/i;

/** Whether a field of this name holds a secret by its name. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `value` with every string under a secret-looking name replaced by MASKED, at any depth; `keep` names fields to leave. */
export function maskSecrets<T>(value: T, keep: ReadonlySet<string> = new Set()): T {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, keep)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    out[name] = !keep.has(name) && isSecretName(name) && typeof item === 'string' && item !== '' ? MASKED : maskSecrets(item, keep);
  }
  return out as T;
}
