import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { faultPoint } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import type { AdBreakInput, Chapter } from './ad-break-rules.ts';
import { normalizeAdBreaks } from './ad-break-rules.ts';
import type { CatalogContext, MadeTorrent } from './context.ts';
import { type EpisodeDetail, getEpisode } from './episodes.ts';
import { fail, ok, type Result } from './errors.ts';
import { validateEpisodeFeatures } from './feed/episode-features.ts';
import { type Probe, probeMedia } from './media/probe.ts';
import { receiveUpload } from './media/receive-upload.ts';
import { showForEditing } from './shows.ts';
import { cleanText, slugify } from './slug.ts';
import { type V1Companion, v1Companion } from './v1-companion.ts';

export interface Upload {
  id: string;
  originalName: string;
  size: number;
  probe: Probe;
}

/** The display name a client gave its file: kept as text only, never used as a path. */
function cleanName(name: string | null | undefined): string {
  return (
    String(name ?? 'upload')
      .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
      .slice(-200) || 'upload'
  );
}

/**
 * Receives and probes one upload. Creators only. What arrives is stored under a random
 * name in the uploads folder; anything that fails (too large, truncated, not media) is
 * deleted before returning, so a refused upload leaves nothing behind.
 */
export async function storeUpload(
  ctx: CatalogContext,
  who: Account,
  body: Readable,
  o: { originalName?: string | null; declaredBytes?: number | null; signal?: AbortSignal },
): Promise<Result<Upload>> {
  if (who.role !== 'creator' && who.role !== 'admin') {
    body.resume();
    return fail('CAT_FORBIDDEN', 'only creator accounts upload media');
  }
  await mkdir(ctx.uploadsDir, { recursive: true });
  const id = randomUUID();
  const path = join(ctx.uploadsDir, `${id}.part`);
  const received = await receiveUpload(body, {
    path,
    maxBytes: ctx.maxUploadBytes,
    declaredBytes: o.declaredBytes ?? null,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!received.ok) return received;
  faultPoint('upload:after-receive');
  const probe = await probeMedia(path);
  if (!probe.ok) {
    await rm(path, { force: true });
    return probe;
  }
  const originalName = cleanName(o.originalName);
  await ctx.db.query(
    'insert into catalog_uploads (id, account_id, original_name, path, size, probe) values ($1, $2, $3, $4, $5, $6)',
    [id, who.id, originalName, path, received.value.size, JSON.stringify(probe.value)],
  );
  return ok({ id, originalName, size: received.value.size, probe: probe.value });
}

/**
 * Probes a file already in the uploads folder (an import's fetched enclosure) and records
 * it as the account's upload, as storeUpload does for a received body. A file that is not
 * media is deleted.
 */
export async function adoptUpload(
  ctx: CatalogContext,
  who: Account,
  path: string,
  size: number,
  originalName: string,
): Promise<Result<Upload>> {
  const probe = await probeMedia(path);
  if (!probe.ok) {
    await rm(path, { force: true });
    return probe;
  }
  const id = randomUUID();
  const name = cleanName(originalName);
  await ctx.db.query(
    'insert into catalog_uploads (id, account_id, original_name, path, size, probe) values ($1, $2, $3, $4, $5, $6)',
    [id, who.id, name, path, size, JSON.stringify(probe.value)],
  );
  return ok({ id, originalName: name, size, probe: probe.value });
}

export async function getUpload(
  ctx: CatalogContext,
  who: Account,
  id: string,
): Promise<Result<Upload & { path: string }>> {
  const r = await ctx.db.query<{
    id: string;
    account_id: string;
    original_name: string;
    path: string;
    size: number;
    probe: Probe;
  }>(
    'select id, account_id, original_name, path, size, probe from catalog_uploads where id = $1 and episode_id is null',
    [String(id)],
  );
  const u = r.rows[0];
  // Someone else's upload is "not found": its existence is not the caller's business.
  if (!u || (u.account_id !== who.id && who.role !== 'admin')) return fail('CAT_NOT_FOUND', 'no such upload');
  return ok({ id: u.id, originalName: u.original_name, path: u.path, size: Number(u.size), probe: u.probe });
}

export interface PublishInput {
  showSlug: string;
  uploadId: string;
  title: string;
  description?: string;
  adBreaks?: AdBreakInput[];
  /** An imported episode keeps its GUID (apps would download it again otherwise) and date. */
  guid?: string;
  publishedAt?: Date;
  /** Season, number, type, explicit, persons (validateEpisodeFeatures). */
  features?: Record<string, unknown>;
  /** Sanitised HTML show notes (import/sanitize.ts); the feed's description when present. */
  notesHtml?: string;
  /** Chapters from a podcast:chapters file, instead of those read from the media file. */
  chapters?: Chapter[];
  /** Save without publishing (no feed, page or search shows it until published). */
  draft?: boolean;
}

export function validateEpisodeText(
  title: unknown,
  description: unknown,
): Result<{ title: string; description: string }> {
  const t = cleanText(title);
  const d = cleanText(description);
  if (t.length < 1 || t.length > 200) return fail('CAT_BAD_INPUT', 'title: 1 to 200 characters');
  if (d.length > 10_000) return fail('CAT_BAD_INPUT', 'description: at most 10000 characters');
  return ok({ title: t, description: d });
}

/**
 * Publishes an upload as an episode of a show the caller owns: moves the file into the
 * media folder under a name we make, makes the hybrid torrent (this node's trackers, the
 * origin URL as web seed), records everything in one transaction, then starts seeding.
 * Every check happens before anything is written.
 */
export async function publishEpisode(
  ctx: CatalogContext,
  who: Account,
  input: PublishInput,
): Promise<Result<EpisodeDetail>> {
  const show = await showForEditing(ctx.db, who, input.showSlug);
  if (!show.ok) return show;
  const text = validateEpisodeText(input.title, input.description);
  if (!text.ok) return text;
  const upload = await getUpload(ctx, who, input.uploadId);
  if (!upload.ok) return upload;
  const probe = upload.value.probe;
  const chapters = input.chapters ?? probe.chapters;
  const breaks = normalizeAdBreaks(input.adBreaks ?? [], probe.durationMs, chapters);
  if (!breaks.ok) return breaks;
  const features = validateEpisodeFeatures(input.features ?? {});
  if (!features.ok) return features;
  const guid = input.guid === undefined ? null : cleanText(input.guid);
  if (guid !== null && (guid.length < 1 || guid.length > 1000))
    return fail('CAT_BAD_INPUT', 'guid: 1 to 1000 characters');
  if (input.publishedAt && Number.isNaN(input.publishedAt.getTime()))
    return fail('CAT_BAD_INPUT', 'publishedAt: a date');

  const id = randomUUID();
  const fileName = `${slugify(text.value.title)}-${id.slice(0, 8)}.${probe.extension}`;
  const relPath = `${show.value.slug}/${fileName}`;
  const finalPath = join(ctx.mediaDir, show.value.slug, fileName);

  // Atomic as seen from outside: the file stays in the uploads folder (never served) while
  // the torrent is made and the rows are committed; only then does it move into the media
  // folder. A kill -9 before the commit leaves the upload to retry; after it, the upload row
  // names the episode and `recoverPublishing` finishes the move at the next start.
  let made: MadeTorrent | null = null;
  let legacy: V1Companion | null = null;
  try {
    if (ctx.torrents) {
      const where = { announce: ctx.trackers(), webSeeds: [ctx.mediaUrl(relPath)] };
      made = await ctx.torrents.make({ path: upload.value.path, name: fileName }, where);
      legacy = made.infoHashV2 ? v1Companion(made.torrent, where) : null;
    }
    faultPoint('publish:after-torrent');
    await ctx.db.transaction(async (tx) => {
      // Claims the upload: a concurrent or repeated publish of it finds it taken.
      const claimed = await tx.query(
        'update catalog_uploads set episode_id = $2 where id = $1 and episode_id is null',
        [upload.value.id, id],
      );
      if (claimed.affectedRows !== 1) throw new UploadTaken();
      await tx.query(
        `insert into catalog_episodes (id, show_id, guid, title, description, published_at, duration_ms, media_kind, ad_breaks, chapters,
           season, episode_number, episode_type, explicit, persons, notes_html, draft)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [
          id,
          show.value.id,
          guid ?? `urn:uuid:${id}`,
          text.value.title,
          text.value.description,
          input.publishedAt ?? new Date(ctx.clock.now()),
          probe.durationMs,
          probe.mediaKind,
          JSON.stringify(breaks.value),
          JSON.stringify(chapters),
          features.value.season,
          features.value.episodeNumber,
          features.value.episodeType,
          features.value.explicit,
          JSON.stringify(features.value.persons),
          input.notesHtml || null,
          !!input.draft,
        ],
      );
      await tx.query(
        `insert into catalog_media (episode_id, path, size, mime, container, codecs, bitrate, fast_start)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          relPath,
          upload.value.size,
          probe.mime,
          probe.container,
          JSON.stringify(probe.codecs),
          probe.bitrate,
          probe.fastStart,
        ],
      );
      if (made) {
        await tx.query(
          `insert into catalog_torrents (episode_id, info_hash_v1, info_hash_v2, magnet, torrent, v1_info_hash, v1_magnet, v1_torrent)
           values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            id,
            made.infoHashV1,
            made.infoHashV2,
            made.magnet,
            made.torrent,
            legacy?.infoHashV1 ?? null,
            legacy?.magnet ?? null,
            legacy?.torrent ?? null,
          ],
        );
      }
    });
  } catch (err) {
    if (err instanceof UploadTaken) return fail('CAT_NOT_FOUND', 'this upload is already published');
    // Nothing was committed and the upload is untouched: the creator can retry. The reason
    // stays in the server's log, never in the answer (it may name a server path).
    ctx.log?.('publish failed', err);
    return fail('CAT_TORRENT_FAILED', 'publishing failed; the upload is kept, try again');
  }
  faultPoint('publish:after-commit');
  try {
    await mkdir(join(ctx.mediaDir, show.value.slug), { recursive: true });
    await rename(upload.value.path, finalPath);
    faultPoint('publish:after-move');
    await ctx.db.query('delete from catalog_uploads where id = $1', [upload.value.id]);
  } catch (err) {
    // Committed: the next start moves the file (recoverPublishing).
    ctx.log?.('publish: moving the file failed', err);
    return fail(
      'CAT_TORRENT_FAILED',
      'published, but the file is not in place yet; it will be at the next start',
    );
  }
  if (made && ctx.torrents?.seed) {
    try {
      await ctx.torrents.seed(made.torrent, finalPath);
      if (legacy) await ctx.torrents.seed(legacy.torrent, finalPath);
    } catch (err) {
      ctx.log?.('publish: seeding failed', err);
      return fail('CAT_TORRENT_FAILED', 'published on HTTP, but seeding failed; see the node log');
    }
  }
  ctx.onFeedChange?.(show.value.slug);
  if (!input.draft && input.publishedAt && input.publishedAt.getTime() > ctx.clock.now())
    ctx.onSchedule?.(input.publishedAt);
  return ok((await getEpisode(ctx.db, id)) as EpisodeDetail);
}

class UploadTaken extends Error {}

/** What `recoverPublishing` did at start. */
export interface RecoveryReport {
  /** Episodes whose file was moved into place (the publish was cut after its commit). */
  finished: number;
  /** Orphaned `.part` files and upload rows without a file, removed. */
  swept: number;
}

/**
 * Run at start, before serving: finishes publishes cut after their commit (moves the file
 * into the media folder), removes upload files nobody refers to (a receive cut by kill -9),
 * and upload rows whose file is gone. Uploads are per node (its data dir); rows of another
 * node sharing the database are left alone unless their file is under this uploads folder.
 */
export async function recoverPublishing(ctx: CatalogContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { finished: 0, swept: 0 };
  await mkdir(ctx.uploadsDir, { recursive: true });
  const rows = await ctx.db.query<{
    id: string;
    path: string;
    episode_id: string | null;
    media: string | null;
  }>(
    `select u.id, u.path, u.episode_id, m.path as media
     from catalog_uploads u left join catalog_media m on m.episode_id = u.episode_id`,
  );
  const mine = rows.rows.filter((r) => resolve(dirname(r.path)) === resolve(ctx.uploadsDir));
  for (const r of mine) {
    const here = await exists(r.path);
    if (r.episode_id && r.media) {
      const target = join(ctx.mediaDir, r.media);
      if (here && !(await exists(target))) {
        await mkdir(dirname(target), { recursive: true });
        await rename(r.path, target);
        report.finished++;
      } else if (here) {
        await rm(r.path, { force: true });
      }
      await ctx.db.query('delete from catalog_uploads where id = $1', [r.id]);
    } else if (r.episode_id) {
      // The episode was deleted since: its upload is garbage.
      await rm(r.path, { force: true });
      await ctx.db.query('delete from catalog_uploads where id = $1', [r.id]);
      report.swept++;
    } else if (!here) {
      await ctx.db.query('delete from catalog_uploads where id = $1', [r.id]);
      report.swept++;
    }
  }
  const known = new Set(mine.map((r) => basename(r.path)));
  for (const name of await readdir(ctx.uploadsDir)) {
    // An import's download is resumed by the next run of that import (import-feed.ts).
    if (known.has(name) || name.startsWith('import-')) continue;
    await rm(join(ctx.uploadsDir, name), { force: true, recursive: true });
    report.swept++;
  }
  return report;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
