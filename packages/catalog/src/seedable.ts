/**
 * What a seeder needs from the catalog: the published torrents and their files. Seeders read
 * these through here, never the catalog's tables.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeBencode, isDict } from '@swarmcast/bittorrent';
import type { Queryable } from '@swarmcast/platform';
import { v1Companion } from './v1-companion.ts';

/** One episode's torrents as a seeder sees them (hex info-hashes; the file under the media root). */
export interface SeedableEpisode {
  episodeId: string;
  /** The hybrid's (or v1 torrent's) wire info-hash. */
  infoHash: string;
  /** The v1-only companion's info-hash, when it has one yet. */
  companionHash: string | null;
  /** The file, relative to the media root ("show/file.mp3"). */
  mediaPath: string;
}

/**
 * Every episode with a torrent and a media file, but those an admin took down (the episode
 * or its whole show): small rows, no torrent bytes.
 */
export async function seedableEpisodes(db: Queryable): Promise<SeedableEpisode[]> {
  const r = await db.query<SeedableEpisode>(
    `select t.episode_id as "episodeId", t.info_hash_v1 as "infoHash", t.v1_info_hash as "companionHash",
       m.path as "mediaPath"
     from catalog_torrents t join catalog_media m on m.episode_id = t.episode_id
     join catalog_episodes e on e.id = t.episode_id join catalog_shows s on s.id = e.show_id
     where e.taken_down_at is null and s.taken_down_at is null
     order by t.episode_id`,
  );
  return r.rows;
}

/**
 * One episode's torrent files: the hybrid and its v1-only companion. An episode published
 * before companions existed gets one now (derived from the hybrid, no hashing) and kept.
 */
export async function seedableTorrents(
  db: Queryable,
  episodeId: string,
): Promise<{ torrent: Uint8Array; companion: Uint8Array | null } | null> {
  const r = await db.query<{ torrent: Uint8Array; v1: Uint8Array | null }>(
    'select torrent, v1_torrent as v1 from catalog_torrents where episode_id = $1',
    [episodeId],
  );
  const row = r.rows[0];
  if (!row) return null;
  if (row.v1 || !isHybrid(row.torrent)) return { torrent: row.torrent, companion: row.v1 };
  const companion = v1Companion(row.torrent);
  await db.query(
    'update catalog_torrents set v1_info_hash = $2, v1_magnet = $3, v1_torrent = $4 where episode_id = $1',
    [episodeId, companion.infoHashV1, companion.magnet, companion.torrent],
  );
  return { torrent: row.torrent, companion: companion.torrent };
}

/** A hybrid's info dict has both v1 `pieces` and v2 `meta version`. */
function isHybrid(torrent: Uint8Array): boolean {
  const top = decodeBencode(torrent);
  if (!top.ok || !isDict(top.value.value)) return false;
  const info = top.value.value.info;
  return isDict(info) && info.pieces !== undefined && info['meta version'] !== undefined;
}

/** A published episode whose file is not in this node's media folder. */
export interface MissingMedia {
  episodeId: string;
  title: string;
  /** The file, relative to the media root ("show/file.mp3"). */
  mediaPath: string;
}

/**
 * Published episodes (those an admin took down aside) whose media file is not under
 * `mediaDir`: a node sharing the database with another data dir, or a lost disk. They are
 * reported to the operator (admin page, log), not fatal: this node neither serves nor seeds
 * them. Newest first, at most `limit`.
 */
export async function missingMedia(
  ctx: { db: Queryable; mediaDir: string },
  limit = 200,
): Promise<MissingMedia[]> {
  const r = await ctx.db.query<MissingMedia>(
    `select e.id as "episodeId", e.title, m.path as "mediaPath"
     from catalog_media m join catalog_episodes e on e.id = m.episode_id
       join catalog_shows s on s.id = e.show_id
     where e.taken_down_at is null and s.taken_down_at is null
     order by e.published_at desc, e.id`,
  );
  const missing: MissingMedia[] = [];
  for (const row of r.rows) {
    if (!(await mediaPresent(ctx.mediaDir, row.mediaPath))) missing.push(row);
    if (missing.length >= limit) break;
  }
  return missing;
}

/** Whether the media file `mediaPath` ("show/file.mp3") is a file under `mediaDir`. */
export function mediaPresent(mediaDir: string, mediaPath: string): Promise<boolean> {
  return stat(join(mediaDir, mediaPath)).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Of these episodes, the ids whose media file is not under `mediaDir` (see missingMedia):
 * the API, feed and pages mark them unavailable on this node instead of linking a 404.
 */
export async function absentMedia(
  mediaDir: string,
  episodes: readonly { id: string; media: { path: string } | null }[],
): Promise<Set<string>> {
  const absent = new Set<string>();
  await Promise.all(
    episodes.map(async (e) => {
      if (e.media && !(await mediaPresent(mediaDir, e.media.path))) absent.add(e.id);
    }),
  );
  return absent;
}

/** True when `mediaPath` ("show/file.mp3") is an episode's file (not, say, a show's index feed). */
export async function isEpisodeMedia(db: Queryable, mediaPath: string): Promise<boolean> {
  const r = await db.query('select 1 from catalog_media where path = $1', [mediaPath]);
  return r.rows.length > 0;
}
