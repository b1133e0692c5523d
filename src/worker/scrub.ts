/**
 * Secret values kept out of what is stored: the worker replaces every
 * occurrence of a decrypted secret parameter's text in output chunks, the
 * result and the error with `********` before writing them. Values shorter
 * than four characters are left alone (they would mask ordinary text).
 * Output arrives in chunks, so a StreamScrubber per stream holds back the
 * end of a chunk that could be the start of a secret until the next chunk
 * (or the end of the run) shows whether it is.
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

/**
 * The length of the longest end of `text` that is the start of a secret
 * without being all of it: those characters may be completed by the next
 * chunk.
 */
export function secretPrefixAtEnd(text: string, secrets: readonly string[]): number {
  let longest = 0;
  for (const secret of secrets) {
    const first = secret[0]!;
    // Only where the secret's first character is can a start of it begin.
    for (let at = Math.max(0, text.length - secret.length + 1); at < text.length; at++) {
      const length = text.length - at;
      if (length <= longest) break;
      if (text[at] === first && secret.startsWith(text.slice(at))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/**
 * Scrubs one output stream chunk by chunk, so that a secret split across
 * two chunks is replaced too: each chunk is scrubbed together with the end
 * held back from the one before, and an end that could still begin a secret
 * is held back again. `end` releases what is held (scrubbed) when the
 * stream is over.
 */
export class StreamScrubber {
  #held = '';

  constructor(private readonly secrets: readonly string[]) {}

  /** What of the stream so far can be stored now, secrets replaced. */
  push(chunk: string): string {
    if (this.secrets.length === 0) return chunk;
    const text = scrubSecrets(this.#held + chunk, this.secrets);
    const hold = secretPrefixAtEnd(text, this.secrets);
    this.#held = text.slice(text.length - hold);
    return text.slice(0, text.length - hold);
  }

  /** The end held back, now that no chunk follows. */
  end(): string {
    const rest = this.#held;
    this.#held = '';
    return rest;
  }
}
