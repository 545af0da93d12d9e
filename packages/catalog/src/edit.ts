import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from './accounts.ts';
import type { CatalogContext } from './context.ts';
import { type EpisodeDetail, getEpisode } from './episodes.ts';
import { fail, ok, type Result } from './errors.ts';
import { validateEpisodeFeatures } from './feed/episode-features.ts';
import { validateFeedSettings } from './feed/settings.ts';
import { validateEpisodeText } from './publish.ts';
import { getShow, type Show, type ShowInput, showForEditing, validateShow } from './shows.ts';
import { isTakenDown } from './takedown.ts';

/** Fields of a show a creator may change (the slug is the show's address and stays). */
export type ShowEdit = Omit<ShowInput, 'slug'>;

/**
 * Changes a show the caller owns (or any, for an admin). Every field is checked before the
 * one UPDATE; someone else's show is CAT_FORBIDDEN and nothing is written.
 */
export async function updateShow(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  who: Account,
  slug: string,
  input: ShowEdit,
): Promise<Result<Show>> {
  const show = await showForEditing(ctx.db, who, slug);
  if (!show.ok) return show;
  const v = validateShow({ ...input, slug: show.value.slug });
  if (!v.ok) return v;
  const s = v.value;
  await ctx.db.query(
    `update catalog_shows set title = $2, description = $3, author = $4, language = $5, categories = $6, explicit = $7
     where id = $1`,
    [
      show.value.id,
      s.title,
      s.description,
      s.author || show.value.author,
      s.language,
      JSON.stringify(s.categories),
      s.explicit,
    ],
  );
  ctx.onFeedChange?.(show.value.slug);
  return ok((await getShow(ctx.db, show.value.slug)) as Show);
}

/**
 * Replaces a show's feed settings (owner e-mail, lock, move, persons, location, funding,
 * license; see feed/settings.ts). Checked whole before the one UPDATE.
 */
export async function updateFeedSettings(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  who: Account,
  slug: string,
  input: unknown,
): Promise<Result<Show>> {
  const show = await showForEditing(ctx.db, who, slug);
  if (!show.ok) return show;
  const v = validateFeedSettings(input);
  if (!v.ok) return v;
  await ctx.db.query('update catalog_shows set settings = $2 where id = $1', [
    show.value.id,
    JSON.stringify(v.value),
  ]);
  ctx.onFeedChange?.(show.value.slug);
  return ok((await getShow(ctx.db, show.value.slug)) as Show);
}

/** The episode, if this account may change it (its show's owner, or an admin). */
export async function episodeForEditing(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  who: Account,
  id: string,
): Promise<Result<EpisodeDetail>> {
  const ep = await getEpisode(ctx.db, id);
  if (!ep) return fail('CAT_NOT_FOUND', 'no such episode');
  if (ep.show.ownerId !== who.id && who.role !== 'admin') {
    return fail('CAT_FORBIDDEN', 'this episode belongs to another creator');
  }
  return ok(ep);
}

/**
 * Changes an episode's title, description and features (season, number, type, explicit,
 * persons). The media, torrent and GUID stay as published: apps key downloads on the GUID.
 */
export async function updateEpisode(
  ctx: Pick<CatalogContext, 'db' | 'onFeedChange'>,
  who: Account,
  id: string,
  input: { title?: unknown; description?: unknown } & Record<string, unknown>,
): Promise<Result<EpisodeDetail>> {
  const ep = await episodeForEditing(ctx, who, id);
  if (!ep.ok) return ep;
  const text = validateEpisodeText(input.title ?? ep.value.title, input.description ?? ep.value.description);
  if (!text.ok) return text;
  const f = validateEpisodeFeatures(input, ep.value);
  if (!f.ok) return f;
  await ctx.db.query(
    `update catalog_episodes set title = $2, description = $3, season = $4, episode_number = $5,
       episode_type = $6, explicit = $7, persons = $8 where id = $1`,
    [
      ep.value.id,
      text.value.title,
      text.value.description,
      f.value.season,
      f.value.episodeNumber,
      f.value.episodeType,
      f.value.explicit,
      JSON.stringify(f.value.persons),
    ],
  );
  ctx.onFeedChange?.(ep.value.show.slug);
  return ok((await getEpisode(ctx.db, ep.value.id)) as EpisodeDetail);
}

/** Info-hashes (hex, v1 wire form) of an episode's torrents: the hybrid and its v1 companion. */
function infoHashesOf(ep: EpisodeDetail): string[] {
  if (!ep.torrent) return [];
  return [ep.torrent.infoHashV1, ...(ep.torrent.legacy ? [ep.torrent.legacy.infoHashV1] : [])];
}

/**
 * Removes an episode: its rows (media and torrent rows go with it), then the engine stops
 * seeding it and its file is deleted. Feeds and pages no longer list it.
 */
export async function deleteEpisode(ctx: CatalogContext, who: Account, id: string): Promise<Result<null>> {
  const ep = await episodeForEditing(ctx, who, id);
  if (!ep.ok) return ep;
  // A takedown's record stays (takedown.ts): its episode cannot be deleted until reinstated.
  if (ep.value.show.takenDown || (await isTakenDown(ctx.db, ep.value.id)))
    return fail(
      'CAT_TAKEN_DOWN',
      'an admin took this down; it cannot be deleted until an admin reinstates it',
    );
  await ctx.db.query('delete from catalog_episodes where id = $1', [ep.value.id]);
  await forgetFiles(ctx, [ep.value]);
  ctx.onFeedChange?.(ep.value.show.slug);
  return ok(null);
}

/** Removes a show with all its episodes (rows, seeding, files). */
export async function deleteShow(ctx: CatalogContext, who: Account, slug: string): Promise<Result<null>> {
  const show = await showForEditing(ctx.db, who, slug);
  if (!show.ok) return show;
  const held = await ctx.db.query(
    `select 1 from catalog_shows s where s.id = $1 and (s.taken_down_at is not null
       or exists (select 1 from catalog_episodes e where e.show_id = s.id and e.taken_down_at is not null))`,
    [show.value.id],
  );
  if (held.rows.length > 0)
    return fail(
      'CAT_TAKEN_DOWN',
      'an admin took this show or one of its episodes down; it cannot be deleted until an admin reinstates it',
    );
  const r = await ctx.db.query<{ id: string }>('select id from catalog_episodes where show_id = $1', [
    show.value.id,
  ]);
  const episodes = (await Promise.all(r.rows.map((row) => getEpisode(ctx.db, row.id)))).filter(
    (e): e is EpisodeDetail => e !== null,
  );
  await ctx.db.transaction(async (tx) => {
    await tx.query('delete from catalog_episodes where show_id = $1', [show.value.id]);
    await tx.query('delete from catalog_shows where id = $1', [show.value.id]);
  });
  await forgetFiles(ctx, episodes);
  if (show.value.artwork) await rm(join(ctx.mediaDir, show.value.artwork), { force: true });
  return ok(null);
}

async function forgetFiles(ctx: CatalogContext, episodes: EpisodeDetail[]): Promise<void> {
  for (const ep of episodes) {
    for (const hash of infoHashesOf(ep)) await ctx.torrents?.unseed?.(hash);
    // The path is ours ("<slug>/<file>", made at publish), never a client's text.
    if (ep.media) await rm(join(ctx.mediaDir, ep.media.path), { force: true });
  }
}
