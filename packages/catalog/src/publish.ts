import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
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
  }>('select id, account_id, original_name, path, size, probe from catalog_uploads where id = $1', [
    String(id),
  ]);
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
  await mkdir(join(ctx.mediaDir, show.value.slug), { recursive: true });
  await rename(upload.value.path, finalPath);

  let made: MadeTorrent | null = null;
  let legacy: V1Companion | null = null;
  try {
    if (ctx.torrents) {
      const where = { announce: ctx.trackers(), webSeeds: [ctx.mediaUrl(relPath)] };
      made = await ctx.torrents.make({ path: finalPath, name: fileName }, where);
      legacy = made.infoHashV2 ? v1Companion(made.torrent, where) : null;
    }
    await ctx.db.transaction(async (tx) => {
      await tx.query(
        `insert into catalog_episodes (id, show_id, guid, title, description, published_at, duration_ms, media_kind, ad_breaks, chapters,
           season, episode_number, episode_type, explicit, persons, notes_html)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
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
      await tx.query('delete from catalog_uploads where id = $1', [upload.value.id]);
    });
  } catch (err) {
    // Put the file back so the creator can retry; the transaction left no rows.
    await rename(finalPath, upload.value.path).catch(() => rm(finalPath, { force: true }));
    return fail('CAT_TORRENT_FAILED', `publishing failed: ${(err as Error).message}`);
  }
  if (made && ctx.torrents?.seed) {
    try {
      await ctx.torrents.seed(made.torrent, finalPath);
      if (legacy) await ctx.torrents.seed(legacy.torrent, finalPath);
    } catch (err) {
      return fail('CAT_TORRENT_FAILED', `published on HTTP, but seeding failed: ${(err as Error).message}`);
    }
  }
  return ok((await getEpisode(ctx.db, id)) as EpisodeDetail);
}
