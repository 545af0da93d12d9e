import type { Queryable } from '@swarmcast/platform';

/**
 * Episode page views counted in memory and written in batches: one UPDATE per episode per
 * flush instead of a write on every page view (a write per request was the episode page's
 * main cost under load). Views are a popularity signal, not the IAB download count, so
 * losing the last few seconds of them in a crash is acceptable; a clean close flushes.
 */
export class ViewTally {
  #pending = new Map<string, number>();
  #flushing: Promise<void> = Promise.resolve();

  add(episodeId: string): void {
    this.#pending.set(episodeId, (this.#pending.get(episodeId) ?? 0) + 1);
  }

  /** Views not yet written. */
  get pending(): number {
    let n = 0;
    for (const v of this.#pending.values()) n += v;
    return n;
  }

  /** Writes what was counted; flushes never overlap. Counts a failed write missed are kept. */
  flush(db: Queryable): Promise<void> {
    const run = this.#flushing
      .catch(() => {})
      .then(async () => {
        const batch = [...this.#pending];
        this.#pending = new Map();
        for (let i = 0; i < batch.length; i++) {
          const [id, n] = batch[i] as [string, number];
          try {
            await db.query('update catalog_episodes set views = views + $2 where id = $1', [id, n]);
          } catch (err) {
            for (const [rest, m] of batch.slice(i))
              this.#pending.set(rest, (this.#pending.get(rest) ?? 0) + m);
            throw err;
          }
        }
      });
    this.#flushing = run;
    return run;
  }
}
