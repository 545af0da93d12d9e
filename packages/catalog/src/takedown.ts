/**
 * Content takedown by an admin: the episode leaves the feeds, pages, search and the swarm
 * (it becomes a draft its creator cannot publish again, the node stops seeding it and the
 * origin answers 410 for its file), but its record stays: the row, the media file, the
 * torrent and who took it down, when and why, listed on the admin's content page.
 * Reinstating it lifts the block; the episode stays a draft until its creator publishes it.
 *
 * A whole show can be taken down the same way: its page, feed and every episode are hidden
 * (isLive is false for them, lists and search skip the show), nothing of it is seeded and
 * its files answer 410, while each episode keeps its own state. Reinstating the show
 * brings back exactly what was live before; its owner cannot delete it meanwhile.
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

/** A show an admin took down, as the admin's record lists it. */
export interface TakenDownShow {
  showId: string;
  slug: string;
  title: string;
  /** Its episodes (live or not) at the time of listing. */
  episodes: number;
  reason: string;
  at: Date;
  by: string | null;
}

/** Takes a whole show down (admins only); see the top of this file. */
export async function takeDownShow(
  ctx: Pick<CatalogContext, 'db' | 'clock' | 'onFeedChange'>,
  admin: Account,
  showId: string,
  reason: string,
): Promise<Result<TakenDownShow>> {
  if (admin.role !== 'admin') return fail('CAT_FORBIDDEN', 'only an admin takes content down');
  const why = String(reason ?? '').trim();
  if (why.length === 0 || why.length > 500) return fail('CAT_BAD_INPUT', 'reason: 1 to 500 characters');
  const r = await ctx.db.query<{ slug: string }>(
    `update catalog_shows set taken_down_at = $2, taken_down_reason = $3, taken_down_by = $4
     where id = $1 and taken_down_at is null returning slug`,
    [String(showId), new Date(ctx.clock.now()), why, admin.id],
  );
  const slug = r.rows[0]?.slug;
  if (!slug) return fail('CAT_NOT_FOUND', 'no such show, or it is taken down already');
  ctx.onFeedChange?.(slug);
  const listed = (await takenDownShows(ctx.db)).find((t) => t.showId === showId);
  return ok(listed as TakenDownShow);
}

/** Lifts a show's takedown (admins only): what was live before is live again. */
export async function reinstateShow(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  admin: Account,
  showId: string,
): Promise<Result<null>> {
  if (admin.role !== 'admin') return fail('CAT_FORBIDDEN', 'only an admin reinstates content');
  const r = await ctx.db.query<{ slug: string }>(
    `update catalog_shows set taken_down_at = null, taken_down_reason = null, taken_down_by = null
     where id = $1 and taken_down_at is not null returning slug`,
    [String(showId)],
  );
  const slug = r.rows[0]?.slug;
  if (!slug) return fail('CAT_NOT_FOUND', 'no such taken-down show');
  ctx.onFeedChange?.(slug);
  return ok(null);
}

/** Every taken-down show, newest takedown first (the admin's record). */
export async function takenDownShows(db: Queryable): Promise<TakenDownShow[]> {
  const r = await db.query<TakenDownShow>(
    `select s.id as "showId", s.slug, s.title, s.taken_down_reason as reason, s.taken_down_at as at,
       a.email as by, (select count(*)::int from catalog_episodes e where e.show_id = s.id) as episodes
     from catalog_shows s left join catalog_accounts a on a.id = s.taken_down_by
     where s.taken_down_at is not null order by s.taken_down_at desc`,
  );
  return r.rows;
}

/**
 * The media paths ("show/file.mp3") the origin must refuse: files of taken-down episodes
 * and of every episode of a taken-down show.
 */
export async function takenDownMediaPaths(db: Queryable): Promise<string[]> {
  const r = await db.query<{ path: string }>(
    `select m.path from catalog_media m join catalog_episodes e on e.id = m.episode_id
       join catalog_shows s on s.id = e.show_id
     where e.taken_down_at is not null or s.taken_down_at is not null`,
  );
  return r.rows.map((row) => row.path);
}
