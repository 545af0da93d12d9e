/**
 * The creator's dynamic-ad-insertion switch, per show (default on): when on, the feed's
 * enclosure of an episode with ad breaks points at the node's stitched-enclosure URL; when
 * off, at the plain file. Kept in its own table so a show without a row is simply "on".
 */
import type { Queryable } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import type { Result } from './errors.ts';
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
