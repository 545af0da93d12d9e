/**
 * A small cache for the portal's public reads (home lists, search hits, episode details).
 * Under load the same few pages are asked for hundreds of times a second, and on PGlite
 * every query runs on the one thread that also serves HTTP, so a read shared by many
 * requests must be made once: a miss stores its promise, and everyone asking for that key
 * while it loads awaits the same query. Entries live `ttlMs`; `invalidate()` drops all of
 * them at once (the node calls it after any successful write through the API or dashboard),
 * so a creator sees their own change at once and the TTL only bounds staleness of counters
 * (views) and of writes made by another process on a shared PostgreSQL.
 */
export class ReadCache {
  readonly #entries = new Map<string, { at: number; value: Promise<unknown> }>();
  #generation = 0;

  constructor(private readonly o: { ttlMs: number; maxEntries: number; now?: () => number }) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = (this.o.now ?? Date.now)();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.o.ttlMs) return hit.value as Promise<T>;
    if (hit) this.#entries.delete(key);
    const generation = this.#generation;
    const value = load();
    // A failed load is not remembered: the next request tries again.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    if (generation === this.#generation) {
      // Oldest first in a Map: drop the oldest when full (bounded memory whatever is searched).
      if (this.#entries.size >= this.o.maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      this.#entries.set(key, { at: now, value });
    }
    return value;
  }

  /** Forgets everything (a show or episode changed). */
  invalidate(): void {
    this.#generation++;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
