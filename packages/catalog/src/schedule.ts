import type { Account } from './accounts.ts';
import type { CatalogContext } from './context.ts';
import { episodeForEditing } from './edit.ts';
import { type EpisodeDetail, getEpisode, isLive } from './episodes.ts';
import { fail, ok, type Result } from './errors.ts';
import { isTakenDown } from './takedown.ts';

/**
 * Drafts and scheduled publishing (owner or admin): `draft: true` takes an episode out of
 * feeds, pages and search; `draft: false` publishes it, at `publishAt` when given (in the
 * future: scheduled, it goes live then), else now if it was never live. The GUID never
 * changes, so apps that already have the episode do not fetch it again.
 */
export async function scheduleEpisode(
  ctx: Pick<CatalogContext, 'db' | 'clock' | 'onFeedChange' | 'onSchedule'>,
  who: Account,
  episodeId: string,
  input: { draft?: unknown; publishAt?: unknown },
): Promise<Result<EpisodeDetail>> {
  const ep = await episodeForEditing(ctx, who, episodeId);
  if (!ep.ok) return ep;
  const now = ctx.clock.now();
  if (await isTakenDown(ctx.db, ep.value.id))
    return fail('CAT_FORBIDDEN', 'an admin took this episode down; it cannot be published again');
  const draft = input.draft === undefined ? ep.value.draft : input.draft === true || input.draft === 'true';
  let at = ep.value.publishedAt;
  if (input.publishAt !== undefined && input.publishAt !== null && input.publishAt !== '') {
    const d = new Date(String(input.publishAt));
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999)
      return fail('CAT_BAD_INPUT', 'publishAt: a date and time such as 2026-12-24T18:00:00Z');
    at = d;
  } else if (!draft && ep.value.draft && ep.value.publishedAt.getTime() < now) {
    // Publishing a draft without a time: it is new now (apps sort by date).
    at = new Date(now);
  }
  await ctx.db.query('update catalog_episodes set draft = $2, published_at = $3 where id = $1', [
    ep.value.id,
    draft,
    at,
  ]);
  const after = (await getEpisode(ctx.db, ep.value.id)) as EpisodeDetail;
  if (isLive(ep.value, now) || isLive(after, now)) ctx.onFeedChange?.(ep.value.show.slug);
  if (!draft && at.getTime() > now) ctx.onSchedule?.(at);
  return ok(after);
}

/**
 * Scheduled episodes whose time came in (after, upTo]: the node tells WebSub and Podping
 * then, since no request changed anything. Also the next time to look again.
 */
export async function episodesGoingLive(
  ctx: Pick<CatalogContext, 'db'>,
  after: number,
  upTo: number,
): Promise<{ shows: string[]; next: number | null }> {
  const r = await ctx.db.query<{ slug: string }>(
    `select distinct s.slug from catalog_episodes e join catalog_shows s on s.id = e.show_id
     where not e.draft and e.published_at > $1 and e.published_at <= $2`,
    [new Date(after), new Date(upTo)],
  );
  const n = await ctx.db.query<{ next: Date | null }>(
    'select min(published_at) as next from catalog_episodes where not draft and published_at > $1',
    [new Date(upTo)],
  );
  const next = n.rows[0]?.next;
  return { shows: r.rows.map((x) => x.slug), next: next ? new Date(next).getTime() : null };
}
