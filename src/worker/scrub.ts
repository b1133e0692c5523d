/**
 * Secret values kept out of what is stored: the worker replaces every
 * occurrence of a decrypted secret parameter's text in output chunks, the
 * result and the error with `********` before writing them. Values shorter
 * than four characters are left alone (they would mask ordinary text); a
 * secret split across two output chunks is not caught (docs/executions.md).
 */

export const SCRUBBED = '********';
const MIN_SECRET_LENGTH = 4;

/** The texts to scrub: each secret value as a string, and its JSON spelling for objects. */
export function secretTexts(values: readonly unknown[]): string[] {
  const texts = new Set<string>();
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (text !== undefined && text.length >= MIN_SECRET_LENGTH) texts.add(text);
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...texts].sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(SCRUBBED);
  return scrubbed;
}

/** A JSON value with every string scrubbed (keys included). */
export function scrubJson(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (Array.isArray(value)) return value.map((item) => scrubJson(item, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [scrubSecrets(key, secrets), scrubJson(item, secrets)]));
  }
  return value;
}
