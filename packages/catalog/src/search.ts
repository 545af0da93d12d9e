import type { Queryable } from '@swarmcast/platform';
import { cleanText } from './slug.ts';

export interface SearchHit {
  kind: 'show' | 'episode';
  id: string;
  /** The show's slug (for episodes: the show they belong to). */
  slug: string;
  title: string;
  showTitle: string;
  description: string;
  rank: number;
}

/**
 * Full-text search over shows and episodes with the database's own engine:
 * `websearch_to_tsquery` accepts what people type (quotes, "or", -exclusions) and never
 * fails on syntax, and the text is a bound parameter, so quotes and semicolons are just text.
 * Shows rank 1.2x, an episode's own text 1x, its transcript 0.5x.
 *
 * Searches made at the same time go to the database together (see SearchBatcher).
 */
export async function search(
  db: Queryable,
  text: string,
  limit = 30,
  now = Date.now(),
): Promise<SearchHit[]> {
  const q = cleanText(text).slice(0, 200);
  if (!q) return [];
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new SearchBatcher(db);
    batchers.set(db, batcher);
  }
  const rows = await batcher.search({ q, limit, prefix: prefixQuery(q) ?? '', at: now });
  // An episode found by its text and by its transcript is listed once (its best rank).
  const seen = new Set<string>();
  return rows
    .filter((h) => !seen.has(`${h.kind}:${h.id}`) && seen.add(`${h.kind}:${h.id}`))
    .map((h) => ({
      kind: h.kind,
      id: h.id,
      slug: h.slug,
      title: h.title,
      showTitle: h.showTitle,
      description: h.description,
      rank: Number(h.rank),
    }));
}

interface SearchRequest {
  q: string;
  limit: number;
  /** prefixQuery(q), or '' when there is none. */
  prefix: string;
  /** Only episodes live at this time (ms since the epoch) are found. */
  at: number;
}

type SearchRow = SearchHit & { i: number; n: number };

interface Waiting {
  req: SearchRequest;
  resolve: (rows: SearchRow[]) => void;
  reject: (err: unknown) => void;
}

const batchers = new WeakMap<Queryable, SearchBatcher>();

/**
 * Most of a search's cost on PGlite is the trip into the database, not the search (one
 * search 0.58 ms of CPU; in a statement of 50, 0.1 ms each), and PGlite runs one statement
 * at a time anyway, so 200 concurrent searches queued for seconds. So searches wait while
 * one statement runs and then go together in the next (catalog_search_batch, migration
 * 0022, runs the one search function per row). Alone, a search waits for nothing but the
 * end of the current event-loop turn (setImmediate), where searches from the other
 * requests read in the same turn join it. PostgreSQL runs each statement on one backend,
 * so there a few statements may run at once.
 */
class SearchBatcher {
  static readonly maxBatch = 100;
  readonly #waiting: Waiting[] = [];
  readonly #maxRunning: number;
  #running = 0;
  #scheduled = false;

  constructor(private readonly db: Queryable) {
    this.#maxRunning = 'engine' in db && db.engine === 'postgres' ? 4 : 1;
  }

  search(req: SearchRequest): Promise<SearchRow[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= this.#maxRunning || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run(this.#waiting.splice(0, SearchBatcher.maxBatch));
      this.#schedule();
    });
  }

  async #run(batch: Waiting[]): Promise<void> {
    this.#running++;
    try {
      const rows = await this.#query(batch.map((b) => b.req)).catch(() => null);
      if (rows) {
        const each = batch.map(() => [] as SearchRow[]);
        for (const r of rows) each[r.i - 1]?.push(r);
        for (const [k, b] of batch.entries()) b.resolve(each[k]!);
      } else {
        // The statement failed: each search alone, so one search's failure is its own.
        for (const b of batch) await this.#query([b.req]).then(b.resolve, b.reject);
      }
    } finally {
      this.#running--;
      this.#schedule();
    }
  }

  async #query(reqs: SearchRequest[]): Promise<SearchRow[]> {
    const r = await this.db.query<SearchRow>('select * from catalog_search_batch($1, $2, $3, $4)', [
      reqs.map((r) => r.q),
      reqs.map((r) => r.limit),
      reqs.map((r) => r.prefix),
      reqs.map((r) => r.at),
    ]);
    return r.rows;
  }
}

/**
 * What people type while they are still typing: "welc" should find "Welcome". The words
 * (letters and digits only, so nothing of tsquery syntax gets through) joined with AND,
 * the last one as a prefix ("swarm & welc:*"); null when there is no such word.
 */
export function prefixQuery(text: string): string | null {
  const words =
    text
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu)
      ?.slice(0, 8) ?? [];
  if (words.length === 0) return null;
  const last = words.length - 1;
  return words.map((w, i) => (i === last ? `${w}:*` : w)).join(' & ');
}
