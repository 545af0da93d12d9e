import type { Account } from '../accounts.ts';
import type { Chapter } from '../ad-break-rules.ts';
import type { CatalogContext } from '../context.ts';
import { episodeForEditing } from '../edit.ts';
import { type EpisodeDetail, getEpisode } from '../episodes.ts';
import { fail, ok, type Result } from '../errors.ts';
import { httpUrl } from '../feed/settings.ts';
import { cleanText } from '../slug.ts';

/**
 * The chapter editor's save (owner or admin): replaces an episode's chapters, which the
 * feed serves as podcast:chapters JSON. Each chapter has a title and a start inside the
 * episode, optionally a link and an image; starts are unique and sorted here.
 */
export async function setChapters(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  who: Account,
  episodeId: string,
  input: unknown,
): Promise<Result<EpisodeDetail>> {
  const ep = await episodeForEditing(ctx, who, episodeId);
  if (!ep.ok) return ep;
  if (!Array.isArray(input) || input.length > 500)
    return fail('CAT_BAD_INPUT', 'chapters: a list of at most 500');
  const out: Chapter[] = [];
  for (const [i, raw] of input.entries()) {
    const c = (raw ?? {}) as Record<string, unknown>;
    const title = cleanText(c.title);
    if (title.length < 1 || title.length > 200)
      return fail('CAT_BAD_INPUT', `chapters[${i}].title: 1 to 200 characters`);
    const startMs = Number(c.startMs);
    if (!Number.isInteger(startMs) || startMs < 0 || startMs >= ep.value.durationMs)
      return fail('CAT_BAD_INPUT', `chapters[${i}].startMs: inside the episode`);
    const chapter: Chapter = { title, startMs };
    for (const k of ['url', 'img'] as const) {
      if (c[k] === undefined || c[k] === null || c[k] === '') continue;
      const u = httpUrl(c[k]);
      if (!u) return fail('CAT_BAD_INPUT', `chapters[${i}].${k}: an http or https URL`);
      chapter[k] = u;
    }
    if (out.some((o) => o.startMs === startMs))
      return fail('CAT_BAD_INPUT', `chapters[${i}]: two chapters start at one time`);
    out.push(chapter);
  }
  out.sort((a, b) => a.startMs - b.startMs);
  await ctx.db.query('update catalog_episodes set chapters = $2 where id = $1', [
    ep.value.id,
    JSON.stringify(out),
  ]);
  ctx.onFeedChange?.(ep.value.show.slug);
  return ok((await getEpisode(ctx.db, ep.value.id)) as EpisodeDetail);
}
