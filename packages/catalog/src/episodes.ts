import type { Queryable } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import { type AdBreakInput, type Chapter, normalizeAdBreaks } from './ad-break-rules.ts';
import type { AdBreak, EpisodeForAds } from './ad-breaks.ts';
import { fail, ok, type Result } from './errors.ts';
import type { EpisodeFeatures } from './feed/episode-features.ts';
import type { Show } from './shows.ts';
import type { Transcript } from './transcripts/transcripts.ts';

export interface MediaFile {
  /** Path under the media root, e.g. "my-show/2f1c...-first-episode.mp3". */
  path: string;
  size: number;
  mime: string;
  container: string;
  codecs: string[];
  bitrate: number | null;
  /** MP4 only: the moov box comes before mdat, so playback can start before the end arrives. */
  fastStart: boolean | null;
}

export interface TorrentInfo {
  infoHashV1: string;
  infoHashV2: string | null;
  magnet: string;
  /** The v1-only companion for legacy clients (v1-companion.ts); null for a v1 torrent. */
  legacy: { infoHashV1: string; magnet: string } | null;
}

export interface Episode extends EpisodeFeatures {
  id: string;
  showId: string;
  guid: string;
  title: string;
  description: string;
  publishedAt: Date;
  durationMs: number;
  mediaKind: 'audio' | 'video';
  adBreaks: AdBreak[];
  chapters: Chapter[];
  views: number;
  /** Media path of the episode's own artwork (itunes:image), or null: the show's. */
  artwork: string | null;
  /** Sanitised HTML show notes (imported episodes), or null: the description is the notes. */
  notesHtml: string | null;
  /** Saved but not published: no feed, page or search shows it until the creator publishes. */
  draft: boolean;
  /** An admin took this episode down (takedown.ts); it is also a draft its creator cannot publish. */
  takenDown?: boolean;
  /** Transcripts by language (podcast:transcript, captions, search). */
  transcripts: Transcript[];
}

/** An episode with what a page or a feed needs beside it. */
export interface EpisodeDetail extends Episode {
  show: Pick<Show, 'id' | 'slug' | 'title' | 'ownerId' | 'language' | 'categories' | 'author'> & {
    /** The show's artwork (media path), for cards and pages. */
    artwork?: string | null;
    /** An admin took the whole show down: none of its episodes is live (isLive). */
    takenDown?: boolean;
  };
  media: MediaFile | null;
  torrent: TorrentInfo | null;
}

const columns = `e.id, e.show_id as "showId", e.guid, e.title, e.description, e.published_at as "publishedAt",
  e.duration_ms as "durationMs", e.media_kind as "mediaKind", e.ad_breaks as "adBreaks", e.chapters, e.views,
  e.season, e.episode_number as "episodeNumber", e.episode_type as "episodeType", e.explicit, e.artwork as "episodeArtwork", e.persons, e.notes_html as "notesHtml", e.draft,
  e.taken_down_at is not null as "takenDown",
  (select coalesce(json_agg(json_build_object('language', t.language, 'format', t.format, 'path', t.path,
     'vttPath', t.vtt_path) order by t.language), '[]') from catalog_transcripts t where t.episode_id = e.id) as transcripts,
  s.slug as "showSlug", s.title as "showTitle", s.owner_id as "ownerId", s.language, s.categories, s.author, s.artwork as "showArtwork",
  s.taken_down_at is not null as "showTakenDown",
  m.path, m.size, m.mime, m.container, m.codecs, m.bitrate, m.fast_start as "fastStart",
  t.info_hash_v1 as "infoHashV1", t.info_hash_v2 as "infoHashV2", t.magnet,
  t.v1_info_hash as "legacyInfoHash", t.v1_magnet as "legacyMagnet"`;

const from = `from catalog_episodes e join catalog_shows s on s.id = e.show_id
  left join catalog_media m on m.episode_id = e.id left join catalog_torrents t on t.episode_id = e.id`;

type Row = Omit<Episode, 'artwork'> &
  Partial<MediaFile> &
  Partial<Omit<TorrentInfo, 'legacy'>> & {
    legacyInfoHash?: string | null;
    legacyMagnet?: string | null;
    showSlug: string;
    showTitle: string;
    ownerId: string;
    language: string;
    categories: string[];
    author: string;
    episodeArtwork: string | null;
    showArtwork: string | null;
    showTakenDown?: boolean;
  };

function toDetail(r: Row): EpisodeDetail {
  return {
    id: r.id,
    showId: r.showId,
    guid: r.guid,
    title: r.title,
    description: r.description,
    publishedAt: r.publishedAt,
    durationMs: r.durationMs,
    mediaKind: r.mediaKind,
    adBreaks: r.adBreaks,
    chapters: r.chapters,
    views: r.views,
    season: r.season ?? null,
    episodeNumber: r.episodeNumber ?? null,
    episodeType: r.episodeType ?? 'full',
    explicit: r.explicit ?? null,
    persons: r.persons ?? [],
    artwork: r.episodeArtwork ?? null,
    notesHtml: r.notesHtml ?? null,
    transcripts: r.transcripts ?? [],
    draft: r.draft ?? false,
    takenDown: r.takenDown === true,
    show: {
      id: r.showId,
      slug: r.showSlug,
      title: r.showTitle,
      ownerId: r.ownerId,
      language: r.language,
      categories: r.categories,
      author: r.author,
      artwork: r.showArtwork ?? null,
      takenDown: r.showTakenDown === true,
    },
    media: r.path
      ? {
          path: r.path,
          size: Number(r.size),
          mime: r.mime as string,
          container: r.container as string,
          codecs: r.codecs ?? [],
          bitrate: r.bitrate ?? null,
          fastStart: r.fastStart ?? null,
        }
      : null,
    torrent: r.infoHashV1
      ? {
          infoHashV1: r.infoHashV1,
          infoHashV2: r.infoHashV2 ?? null,
          magnet: r.magnet as string,
          legacy:
            r.legacyInfoHash && r.legacyMagnet
              ? { infoHashV1: r.legacyInfoHash, magnet: r.legacyMagnet }
              : null,
        }
      : null,
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function getEpisode(db: Queryable, id: string): Promise<EpisodeDetail | null> {
  if (!uuidPattern.test(String(id))) return null;
  const r = await db.query<Row>(`select ${columns} ${from} where e.id = $1`, [id]);
  return r.rows[0] ? toDetail(r.rows[0]) : null;
}

/**
 * Is the episode out (issue 16: drafts and scheduled episodes)? Not a draft, its
 * publication time has come, and its show is not taken down (issue 15). Public lists,
 * feeds and pages show only these.
 */
export function isLive(
  e: Pick<Episode, 'draft' | 'publishedAt'> & { show?: { takenDown?: boolean } },
  now: number,
): boolean {
  return !e.draft && e.publishedAt.getTime() <= now && e.show?.takenDown !== true;
}

/** What a creator sees beside an episode in the dashboard. */
export function episodeStatus(
  e: Pick<Episode, 'draft' | 'publishedAt'>,
  now: number,
): 'draft' | 'scheduled' | 'published' {
  return e.draft ? 'draft' : e.publishedAt.getTime() > now ? 'scheduled' : 'published';
}

/** The newest live episodes across shows (`now`: the node's clock, default the wall clock). */
export async function latestEpisodes(
  db: Queryable,
  limit: number,
  now = Date.now(),
): Promise<EpisodeDetail[]> {
  const r = await db.query<Row>(
    `select ${columns} ${from} where not e.draft and e.published_at <= $2 and s.taken_down_at is null
     order by e.published_at desc limit $1`,
    [limit, new Date(now)],
  );
  return r.rows.map(toDetail);
}

/**
 * A show's live episodes, newest first (none while the show is taken down); `all` adds
 * drafts and scheduled ones and ignores a show takedown (the dashboard, the admin).
 */
export async function episodesOfShow(
  db: Queryable,
  showId: string,
  limit = 500,
  o: { all?: boolean; now?: number } = {},
): Promise<EpisodeDetail[]> {
  const r = await db.query<Row>(
    `select ${columns} ${from} where e.show_id = $1 ${o.all ? '' : 'and not e.draft and e.published_at <= $3 and s.taken_down_at is null'}
     order by e.published_at desc limit $2`,
    o.all ? [showId, limit] : [showId, limit, new Date(o.now ?? Date.now())],
  );
  return r.rows.map(toDetail);
}

/** Counts a page view (the portal's "popular" ranking; not the IAB download count). */
export async function countView(db: Queryable, id: string): Promise<void> {
  await db.query('update catalog_episodes set views = views + 1 where id = $1', [id]);
}

/** The creator's ad breaks for an episode they own; replaces the previous set. */
export async function setAdBreaks(
  db: Queryable,
  who: Account,
  episodeId: string,
  inputs: AdBreakInput[],
): Promise<Result<AdBreak[]>> {
  const ep = await getEpisode(db, episodeId);
  if (!ep) return fail('CAT_NOT_FOUND', 'no such episode');
  if (ep.show.ownerId !== who.id && who.role !== 'admin') {
    return fail('CAT_FORBIDDEN', 'this episode belongs to another creator');
  }
  const breaks = normalizeAdBreaks(inputs, ep.durationMs, ep.chapters);
  if (!breaks.ok) return breaks;
  await db.query('update catalog_episodes set ad_breaks = $2 where id = $1', [
    episodeId,
    JSON.stringify(breaks.value),
  ]);
  return ok(breaks.value);
}

/**
 * The episode as the ad server sees it (the contract in ad-breaks.ts), or null when there is
 * no such episode. This is the function the ad server calls.
 */
export async function episodeForAds(db: Queryable, episodeId: string): Promise<EpisodeForAds | null> {
  const ep = await getEpisode(db, episodeId);
  if (!ep) return null;
  return {
    id: ep.id,
    showId: ep.showId,
    creatorId: ep.show.ownerId,
    title: ep.title,
    durationMs: ep.durationMs,
    language: ep.show.language,
    categories: ep.show.categories,
    mediaKind: ep.mediaKind,
    adBreaks: ep.adBreaks,
  };
}

/** The .torrent bytes of a published episode (`v1`: its v1-only companion). */
export async function torrentFile(
  db: Queryable,
  episodeId: string,
  which: 'hybrid' | 'v1' = 'hybrid',
): Promise<Uint8Array | null> {
  if (!uuidPattern.test(String(episodeId))) return null;
  const r = await db.query<{ torrent: Uint8Array | null }>(
    `select ${which === 'v1' ? 'v1_torrent' : 'torrent'} as torrent from catalog_torrents where episode_id = $1`,
    [episodeId],
  );
  return r.rows[0]?.torrent ?? null;
}
