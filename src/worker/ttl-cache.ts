/**
 * Values looked up asynchronously and kept for a while: the lookup's promise
 * is kept, so callers that find the entry missing or stale at the same time
 * share one lookup instead of sending one each. A failed lookup is forgotten
 * at once, and so is a result `keep` refuses (a file not found yet, say, so
 * that it is found as soon as it appears). With `maxEntries`, the entry
 * looked up longest ago goes first.
 */
export interface TtlCacheOptions<V> {
  ttlMs: number;
  maxEntries?: number;
  /** Whether a looked-up value is kept; default all are. */
  keep?: (value: V) => boolean;
}

export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: Promise<V>; at: number }>();

  constructor(private readonly options: TtlCacheOptions<V>) {}

  /** What `lookUp` gives for `key`, from the cache while the entry is younger than the TTL. */
  get(key: K, lookUp: () => Promise<V>): Promise<V> {
    const cached = this.#entries.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.options.ttlMs) return cached.value;
    const entry = { value: lookUp(), at: Date.now() };
    const forget = (): void => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    };
    entry.value.then((value) => {
      if (this.options.keep !== undefined && !this.options.keep(value)) forget();
    }, forget);
    // Set anew, so the map's order is the order of the lookups.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const max = this.options.maxEntries;
    if (max !== undefined && this.#entries.size > max) this.#entries.delete(this.#entries.keys().next().value!);
    return entry.value;
  }
}
