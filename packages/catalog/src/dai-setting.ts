/**
 * The creator's dynamic-ad-insertion switches, per show and per episode (default on): when
 * on, the feed's enclosure of an episode with ad breaks points at the node's
 * stitched-enclosure URL; when off, at the plain file. An episode is stitched only when both
 * its show's switch and its own are on. Kept in their own tables so no row means "on".
 */
import type { Queryable } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import { fail, type Result } from './errors.ts';
import { showForEditing } from './shows.ts';

export async function daiEnabled(db: Queryable, showId: string): Promise<boolean> {
  const r = await db.query<{ dai: boolean }>('select dai from catalog_dai_settings where show_id = $1', [
    showId,
  ]);
  return r.rows[0]?.dai ?? true;
}

/** Switches DAI for a show the caller owns (or any, for an admin). */
export async function setDai(
  db: Queryable,
  who: Account,
  slug: string,
  enabled: boolean,
): Promise<Result<{ showId: string; dai: boolean }>> {
  const show = await showForEditing(db, who, slug);
  if (!show.ok) return show;
  await db.query(
    `insert into catalog_dai_settings (show_id, dai) values ($1, $2)
     on conflict (show_id) do update set dai = excluded.dai`,
    [show.value.id, enabled],
  );
  return { ok: true, value: { showId: show.value.id, dai: enabled } };
}

/** Is DAI on for this episode itself (its show's switch aside)? */
export async function episodeDaiEnabled(db: Queryable, episodeId: string): Promise<boolean> {
  const r = await db.query('select 1 from catalog_dai_episodes_off where episode_id = $1', [episodeId]);
  return r.rows.length === 0;
}

/** The show's episodes whose creator switched DAI off. */
export async function daiOffEpisodes(db: Queryable, showId: string): Promise<Set<string>> {
  const r = await db.query<{ episode_id: string }>(
    `select o.episode_id from catalog_dai_episodes_off o join catalog_episodes e on e.id = o.episode_id
      where e.show_id = $1`,
    [showId],
  );
  return new Set(r.rows.map((row) => row.episode_id));
}

/** Switches DAI for one episode of a show the caller owns (or any, for an admin). */
export async function setEpisodeDai(
  db: Queryable,
  who: Account,
  slug: string,
  episodeId: string,
  enabled: boolean,
): Promise<Result<{ showId: string; episodeId: string; dai: boolean }>> {
  const show = await showForEditing(db, who, slug);
  if (!show.ok) return show;
  const mine = await db.query('select 1 from catalog_episodes where id = $1 and show_id = $2', [
    episodeId,
    show.value.id,
  ]);
  if (mine.rows.length === 0) return fail('CAT_NOT_FOUND', 'no such episode in this show');
  if (enabled) await db.query('delete from catalog_dai_episodes_off where episode_id = $1', [episodeId]);
  else
    await db.query(
      'insert into catalog_dai_episodes_off (episode_id) values ($1) on conflict (episode_id) do nothing',
      [episodeId],
    );
  return { ok: true, value: { showId: show.value.id, episodeId, dai: enabled } };
}
