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
 */
export async function search(db: Queryable, text: string, limit = 30): Promise<SearchHit[]> {
  const q = cleanText(text).slice(0, 200);
  if (!q) return [];
  const r = await db.query<SearchHit>(
    `with q as (select websearch_to_tsquery('english', $1) as q)
     select * from (
       select 'show' as kind, s.id, s.slug, s.title, s.title as "showTitle", s.description,
              ts_rank(s.search, q.q) * 1.2 as rank
       from catalog_shows s, q where s.search @@ q.q
       union all
       select 'episode' as kind, e.id, s.slug, e.title, s.title as "showTitle", e.description,
              ts_rank(e.search, q.q) as rank
       from catalog_episodes e join catalog_shows s on s.id = e.show_id, q where e.search @@ q.q
       union all
       -- Words said in an episode (its transcripts) find it too, ranked below its own text.
       select 'episode' as kind, e.id, s.slug, e.title, s.title as "showTitle", e.description,
              ts_rank(t.search, q.q) * 0.5 as rank
       from catalog_transcripts t join catalog_episodes e on e.id = t.episode_id
         join catalog_shows s on s.id = e.show_id, q where t.search @@ q.q
     ) hits order by rank desc, title limit $2`,
    [q, limit],
  );
  // An episode found by its text and by its transcript is listed once (its best rank).
  const seen = new Set<string>();
  return r.rows
    .filter((h) => !seen.has(`${h.kind}:${h.id}`) && seen.add(`${h.kind}:${h.id}`))
    .map((h) => ({ ...h, rank: Number(h.rank) }));
}
