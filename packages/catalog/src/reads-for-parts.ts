/**
 * What other parts need to know of the catalog, as functions, so no part reads the catalog's
 * tables itself (test/layering.test.ts): the episodes measurement registers, the episodes
 * dynamic ad insertion prepares for, shows' titles for reports, WebSub subscriptions.
 */
import type { Queryable } from '@swarmcast/platform';

/** A published episode with its media file and torrent hashes (measurement's episode list). */
export interface PublishedEpisodeMedia {
  episodeId: string;
  showId: string;
  creatorId: string;
  title: string;
  /** Media path under the media folder. */
  path: string;
  size: number;
  durationMs: number;
  infoHash: string | null;
  infoHashV2: string | null;
  companionHash: string | null;
}

/** Every episode with a media file (or the one whose file is `mediaPath`). */
export async function publishedEpisodeMedia(
  db: Queryable,
  only?: { mediaPath: string },
): Promise<PublishedEpisodeMedia[]> {
  const r = await db.query<PublishedEpisodeMedia>(
    `select e.id as "episodeId", e.show_id as "showId", s.owner_id as "creatorId", e.title,
       m.path, m.size, e.duration_ms as "durationMs", t.info_hash_v1 as "infoHash",
       t.info_hash_v2 as "infoHashV2", t.v1_info_hash as "companionHash"
     from catalog_episodes e join catalog_shows s on s.id = e.show_id
       join catalog_media m on m.episode_id = e.id left join catalog_torrents t on t.episode_id = e.id
     ${only ? 'where m.path = $1' : ''}`,
    only ? [only.mediaPath] : [],
  );
  return r.rows.map((row) => ({ ...row, size: Number(row.size) }));
}

/** The newest MP3 episodes with ad breaks (what stitching prepares creatives for), newest first. */
export async function episodesWithAdBreaks(
  db: Queryable,
  limit = 500,
): Promise<Array<{ id: string; path: string }>> {
  const r = await db.query<{ id: string; path: string }>(
    `select e.id, m.path from catalog_episodes e join catalog_media m on m.episode_id = e.id
      where m.mime = 'audio/mpeg' and jsonb_array_length(e.ad_breaks) > 0
      order by e.published_at desc limit $1`,
    [limit],
  );
  return r.rows;
}

/** Titles of the shows among `ids` (ids that are not shows are left out); at most 500 looked up. */
export async function showTitles(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  const some = ids.slice(0, 500);
  const names = new Map<string, string>();
  if (some.length === 0) return names;
  const r = await db.query<{ id: string; title: string }>(
    `select id, title from catalog_shows where id in (${some.map((_, i) => `$${i + 1}`).join(', ')})`,
    [...some],
  );
  for (const row of r.rows) names.set(row.id, row.title);
  return names;
}

/** Sets the role of the account with this e-mail; null when there is none. */
export async function setRoleByEmail(
  db: Queryable,
  email: string,
  role: 'creator' | 'advertiser' | 'admin',
): Promise<{ id: string } | null> {
  const r = await db.query<{ id: string }>(
    'update catalog_accounts set role = $1 where email = $2 returning id',
    [role, email],
  );
  return r.rows[0] ?? null;
}

/** WebSub (W3C) subscriptions to feeds, kept by the catalog for the site's hub. */
export const websubSubscriptions = {
  async subscribe(db: Queryable, topic: string, callback: string, secret: string | null, expiresAt: Date) {
    await db.query(
      `insert into catalog_websub_subscriptions (topic, callback, secret, expires_at) values ($1, $2, $3, $4)
       on conflict (topic, callback) do update set secret = $3, expires_at = $4`,
      [topic, callback, secret, expiresAt],
    );
  },
  async unsubscribe(db: Queryable, topic: string, callback: string) {
    await db.query('delete from catalog_websub_subscriptions where topic = $1 and callback = $2', [
      topic,
      callback,
    ]);
  },
  async active(
    db: Queryable,
    topic: string,
    now: Date,
  ): Promise<Array<{ callback: string; secret: string | null }>> {
    const r = await db.query<{ callback: string; secret: string | null }>(
      'select callback, secret from catalog_websub_subscriptions where topic = $1 and expires_at > $2',
      [topic, now],
    );
    return r.rows;
  },
};
