/**
 * Tells measurement about published episodes (its `registerEpisode` port): which file path
 * and info-hash belong to which episode, show and creator, so download facts from the
 * origin and announce facts from the tracker are attributed. Idempotent (an upsert each).
 */
import { registerEpisode } from '@swarmcast/measure';
import type { Db } from '@swarmcast/platform';

interface Row {
  episodeId: string;
  showId: string;
  creatorId: string;
  title: string;
  path: string;
  size: string | number;
  durationMs: number;
  infoHash: string | null;
}

/** Registers every published episode that has its media file (all of them, or the one given). */
export async function registerPublishedEpisodes(db: Db, only?: { mediaPath: string }): Promise<number> {
  const r = await db.query<Row>(
    `select e.id as "episodeId", e.show_id as "showId", s.owner_id as "creatorId", e.title,
       m.path, m.size, e.duration_ms as "durationMs", t.info_hash_v1 as "infoHash"
     from catalog_episodes e join catalog_shows s on s.id = e.show_id
       join catalog_media m on m.episode_id = e.id left join catalog_torrents t on t.episode_id = e.id
     ${only ? 'where m.path = $1' : ''}`,
    only ? [only.mediaPath] : [],
  );
  for (const e of r.rows) {
    await registerEpisode(db, {
      episodeId: e.episodeId,
      showId: e.showId,
      creatorId: e.creatorId,
      title: e.title,
      path: e.path,
      infoHash: e.infoHash,
      fileSize: Number(e.size),
      // Not measured at publish yet (the catalog's probe does not report it): the IAB
      // threshold then counts from the first byte, i.e. slightly lower than it should.
      headerBytes: 0,
      durationMs: e.durationMs,
    });
  }
  return r.rows.length;
}
