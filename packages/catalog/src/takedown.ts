/**
 * Content takedown by an admin: the episode leaves the feeds, pages, search and the swarm
 * (it becomes a draft its creator cannot publish again, the node stops seeding it and the
 * origin answers 410 for its file), but its record stays: the row, the media file, the
 * torrent and who took it down, when and why, listed on the admin's content page.
 * Reinstating it lifts the block; the episode stays a draft until its creator publishes it.
 */
import type { Queryable } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import type { CatalogContext } from './context.ts';
import { fail, ok, type Result } from './errors.ts';

export interface TakenDown {
  episodeId: string;
  title: string;
  showTitle: string;
  showSlug: string;
  reason: string;
  at: Date;
  by: string | null;
  mediaPath: string | null;
}

export async function takeDownEpisode(
  ctx: Pick<CatalogContext, 'db' | 'clock' | 'onFeedChange'>,
  admin: Account,
  episodeId: string,
  reason: string,
): Promise<Result<TakenDown>> {
  if (admin.role !== 'admin') return fail('CAT_FORBIDDEN', 'only an admin takes content down');
  const why = String(reason ?? '').trim();
  if (why.length === 0 || why.length > 500) return fail('CAT_BAD_INPUT', 'reason: 1 to 500 characters');
  const r = await ctx.db.query<{ slug: string }>(
    `update catalog_episodes e set draft = true, taken_down_at = $2, taken_down_reason = $3, taken_down_by = $4
     from catalog_shows s where e.id = $1 and s.id = e.show_id returning s.slug`,
    [String(episodeId), new Date(ctx.clock.now()), why, admin.id],
  );
  const slug = r.rows[0]?.slug;
  if (!slug) return fail('CAT_NOT_FOUND', 'no such episode');
  ctx.onFeedChange?.(slug);
  const listed = (await takenDownEpisodes(ctx.db)).find((t) => t.episodeId === episodeId);
  return ok(listed as TakenDown);
}

/** Lifts a takedown (admins only); the episode stays a draft until its creator publishes it. */
export async function reinstateEpisode(
  db: Queryable,
  admin: Account,
  episodeId: string,
): Promise<Result<null>> {
  if (admin.role !== 'admin') return fail('CAT_FORBIDDEN', 'only an admin reinstates content');
  const r = await db.query(
    `update catalog_episodes set taken_down_at = null, taken_down_reason = null, taken_down_by = null
     where id = $1 and taken_down_at is not null`,
    [String(episodeId)],
  );
  return r.affectedRows ? ok(null) : fail('CAT_NOT_FOUND', 'no such taken-down episode');
}

/** Every taken-down episode, newest takedown first (the admin's record). */
export async function takenDownEpisodes(db: Queryable): Promise<TakenDown[]> {
  const r = await db.query<TakenDown>(
    `select e.id as "episodeId", e.title, s.title as "showTitle", s.slug as "showSlug",
       e.taken_down_reason as reason, e.taken_down_at as at, a.email as by, m.path as "mediaPath"
     from catalog_episodes e join catalog_shows s on s.id = e.show_id
     left join catalog_accounts a on a.id = e.taken_down_by
     left join catalog_media m on m.episode_id = e.id
     where e.taken_down_at is not null order by e.taken_down_at desc`,
  );
  return r.rows;
}

/** Is this episode taken down (its creator may not publish it)? */
export async function isTakenDown(db: Queryable, episodeId: string): Promise<boolean> {
  const r = await db.query('select 1 from catalog_episodes where id = $1 and taken_down_at is not null', [
    String(episodeId),
  ]);
  return r.rows.length > 0;
}
