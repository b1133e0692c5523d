/**
 * Remembers file lookups on a PATH for a while: a lookup costs a stat or an
 * access() per PATH folder, on every run otherwise. A lookup that found
 * nothing (or failed) is forgotten at once, so a file that appears is found
 * by the next run.
 */
export class LookupCache {
  readonly #entries = new Map<string, { found: Promise<string | undefined>; at: number }>();

  constructor(private readonly ttlMs: number) {}

  /** What `lookUp` found for `key`, from the cache while it is younger than the TTL. */
  get(key: string, lookUp: () => Promise<string | undefined>): Promise<string | undefined> {
    const cached = this.#entries.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.ttlMs) return cached.found;
    const found = lookUp();
    this.#entries.set(key, { found, at: Date.now() });
    found.then(
      (file) => file === undefined && this.#entries.delete(key),
      () => this.#entries.delete(key),
    );
    return found;
  }
}
