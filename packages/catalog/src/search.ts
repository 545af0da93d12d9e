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
 */
export async function search(
  db: Queryable,
  text: string,
  limit = 30,
  now = Date.now(),
): Promise<SearchHit[]> {
  const q = cleanText(text).slice(0, 200);
  if (!q) return [];
  // The query lives in the catalog_search function (migrations.ts, 0009) so that its plan is
  // kept between calls instead of being made again for every search.
  // The last word also counts as a prefix ("welc" finds "Welcome": prefixQuery below).
  // `now` (0016): only live episodes are found, not drafts or those scheduled later.
  const r = await db.query<SearchHit>('select * from catalog_search($1, $2, $3, $4)', [
    q,
    limit,
    prefixQuery(q) ?? '',
    new Date(now),
  ]);
  // An episode found by its text and by its transcript is listed once (its best rank).
  const seen = new Set<string>();
  return r.rows
    .filter((h) => !seen.has(`${h.kind}:${h.id}`) && seen.add(`${h.kind}:${h.id}`))
    .map((h) => ({ ...h, rank: Number(h.rank) }));
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
