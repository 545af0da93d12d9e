/**
 * Creative upload and media serving. `POST /ads/api/creatives?advertiser=&name=&...` with the
 * file as the raw body and its Content-Type. Checks, in order: size (413, enforced while
 * reading), a media Content-Type (415), bytes that really are that media (415), a readable
 * duration (415). The file lands in the media folder under a fresh id, is served at
 * `/ads/media/<id>.<ext>` (ranges supported), and is published as a torrent when the node
 * provides a publisher. New creatives wait for an admin's approval.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { parseFile } from 'music-metadata';
import { absoluteUrl, withWebSeed } from '../creative-urls.ts';
import { type AdsError, adsError } from '../errors.ts';
import { checkMedia, type SniffedMedia } from '../media-sniff.ts';
import type { Creative } from '../model.ts';
import { saveCreative } from '../persistence.ts';
import { type Dimensions, mp4VideoDimensions } from '../video-dimensions.ts';
import { fail, guard, scopeOf } from './advertiser-api.ts';
import type { AdsContext } from './context.ts';

const mediaTypes = /^(audio|video)\/[a-z0-9.+-]+$/i;

export function creativeRoutes(app: FastifyInstance, ctx: AdsContext): void {
  app.register(async (scope) => {
    // Raw bodies only in this scope, handed over as the stream itself: `receiveCreative`
    // writes them to disk as they arrive (bounded, sniffed on the first bytes), so eight
    // concurrent 45 MB uploads no longer sit in memory.
    scope.addContentTypeParser(mediaTypes, (_req, payload, done) => done(null, payload));
    // Admitted in onRequest, before a byte of the (up to 50 MB) body is read.
    const onRequest = guard(ctx);
    scope.post('/ads/api/creatives', { bodyLimit: ctx.maxCreativeBytes, onRequest }, async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const advertiser = scopeOf(req, ctx).advertiser(q.advertiser);
      if (!advertiser) return fail(reply, 'ADS_NOT_FOUND', 'advertiser');
      const nameOk = typeof q.name === 'string' && q.name.length > 0 && q.name.length <= 200;
      const click = q.clickThrough;
      if (!nameOk) return fail(reply, 'ADS_BAD_REQUEST', 'name');
      if (click !== undefined && !isHttpUrl(click))
        return fail(reply, 'ADS_BAD_REQUEST', 'clickThrough must be http(s)');
      if (q.companionImage !== undefined && !isHttpUrl(q.companionImage)) {
        return fail(reply, 'ADS_BAD_REQUEST', 'companionImage must be http(s)');
      }
      const id = ctx.newId();
      const received = await receiveCreative(req.body, req.headers, ctx, join(ctx.mediaDir, `${id}.part`));
      if ('code' in received) return fail(reply, received.code, received.message);
      const { media, durationMs, bitrateKbps, dimensions, path: partPath, bytes } = received;
      const refuse = async (code: Parameters<typeof fail>[1], message: string) => {
        await rm(partPath, { force: true });
        return fail(reply, code, message);
      };
      // The file's own picture size wins; width/height in the query only fill in when the
      // header does not say (and must then be sane).
      const width = media.mediaKind === 'video' ? (dimensions?.width ?? Number(q.width)) : 0;
      const height = media.mediaKind === 'video' ? (dimensions?.height ?? Number(q.height)) : 0;
      if (media.mediaKind === 'video' && !(isDim(width) && isDim(height))) {
        return refuse('ADS_BAD_REQUEST', 'the video header has no picture size; pass width and height');
      }
      // Every check before the file is in place: a refused creative leaves nothing on disk.
      const skipOffsetMs = parseSkipOffset(q.skipOffset, durationMs);
      if (skipOffsetMs === false) {
        return refuse('ADS_BAD_REQUEST', 'skipOffset: seconds from 0 to less than the ad length');
      }
      const fileName = `${id}.${media.ext}`;
      const path = join(ctx.mediaDir, fileName);
      await rename(partPath, path);
      // Node-relative: made absolute with the public URL of the moment it is served.
      const mediaUrl = `/ads/media/${fileName}`;
      const companionText = q.companionText?.slice(0, 500);
      const creative: Creative = {
        id,
        advertiserId: advertiser.id,
        name: q.name!,
        mediaKind: media.mediaKind,
        mimeType: media.mimeType,
        durationMs,
        bytes,
        bitrateKbps,
        width,
        height,
        mediaUrl,
        alternates: [],
        clickThroughUrl: click,
        ...(skipOffsetMs !== undefined ? { skipOffsetMs } : {}),
        companion:
          companionText || q.companionImage
            ? { text: companionText, imageUrl: q.companionImage, width: 300, height: 250 }
            : undefined,
        universalAdId: { registry: 'swarmcast', value: id },
        approval: 'pending',
      };
      try {
        if (ctx.publishCreative) {
          const torrent = await ctx.publishCreative({ path, url: mediaUrl, name: fileName });
          if (torrent) creative.torrent = torrent;
        }
        if (ctx.db) await saveCreative(ctx.db, creative);
        ctx.modelChanged?.();
      } catch (err) {
        await rm(path, { force: true });
        throw err;
      }
      ctx.store.putCreative(creative);
      return reply.code(201).send(ctx.present(creative));
    });

    // Another encoding of the same ad (another MediaFile in VAST): same kind, same length.
    scope.post(
      '/ads/api/creatives/:id/alternates',
      { bodyLimit: ctx.maxCreativeBytes, onRequest },
      async (req, reply) => {
        const cr = scopeOf(req, ctx).creative((req.params as { id: string }).id);
        if (!cr) return fail(reply, 'ADS_NOT_FOUND');
        if (cr.alternates.length >= 8) return fail(reply, 'ADS_BAD_REQUEST', 'at most 8 alternates');
        const partPath = join(ctx.mediaDir, `${cr.id}-alt.${ctx.newId()}.part`);
        const inspected = await receiveCreative(req.body, req.headers, ctx, partPath);
        if ('code' in inspected) return fail(reply, inspected.code, inspected.message);
        if (
          inspected.media.mediaKind !== cr.mediaKind ||
          Math.abs(inspected.durationMs - cr.durationMs) > 500
        ) {
          await rm(partPath, { force: true });
          return fail(
            reply,
            'ADS_BAD_REQUEST',
            'an alternate must be the same kind and length as the creative',
          );
        }
        const fileName = `${cr.id}-alt${cr.alternates.length + 1}.${inspected.media.ext}`;
        await rename(partPath, join(ctx.mediaDir, fileName));
        const next: Creative = {
          ...cr,
          alternates: [
            ...cr.alternates,
            {
              url: `/ads/media/${fileName}`,
              mimeType: inspected.media.mimeType,
              bitrateKbps: inspected.bitrateKbps,
              width: cr.width,
              height: cr.height,
            },
          ],
        };
        if (ctx.db) await saveCreative(ctx.db, next);
        ctx.modelChanged?.();
        ctx.store.putCreative(next);
        return reply.code(201).send(ctx.present(next));
      },
    );
  });

  app.get('/ads/media/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const m = /^([A-Za-z0-9._-]{1,128}?)(-alt\d{1,2})?\.(mp3|m4a|mp4|ogg|webm)(\.torrent)?$/.exec(file);
    const cr = m ? ctx.store.creatives.get(m[1]!) : undefined;
    const mediaFile = m ? file.replace(/\.torrent$/, '') : '';
    const served = cr
      ? [cr.mediaUrl, ...cr.alternates.map((a) => a.url)].find((u) => u.endsWith(`/${mediaFile}`))
      : undefined;
    if (!m || !cr || !served) return fail(reply, 'ADS_NOT_FOUND');
    const mimeType =
      served === cr.mediaUrl ? cr.mimeType : cr.alternates.find((a) => a.url === served)!.mimeType;
    if (m[4]) {
      if (served !== cr.mediaUrl) return fail(reply, 'ADS_NOT_FOUND');
      if (!cr.torrent) return fail(reply, 'ADS_NOT_FOUND');
      const torrent = await readFile(join(ctx.mediaDir, file));
      return reply
        .type('application/x-bittorrent')
        .header('cache-control', 'public, max-age=3600')
        .send(withWebSeed(torrent, absoluteUrl(cr.mediaUrl, ctx.publicUrl)));
    }
    const path = join(ctx.mediaDir, file);
    const size = (await stat(path)).size;
    reply
      .header('content-type', mimeType)
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'public, max-age=86400');
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size)
        return reply.code(416).header('content-range', `bytes */${size}`).send();
      reply
        .code(206)
        .header('content-range', `bytes ${start}-${end}/${size}`)
        .header('content-length', end - start + 1);
      return reply.send(createReadStream(path, { start, end }));
    }
    reply.header('content-length', size);
    return reply.send(createReadStream(path));
  });
}

/** `skipOffset` in seconds (up to 3 decimals) below the ad's length; undefined when absent, false when bad. */
function parseSkipOffset(raw: string | undefined, durationMs: number): number | undefined | false {
  if (raw === undefined) return undefined;
  if (!/^\d{1,3}(\.\d{1,3})?$/.test(raw)) return false;
  const ms = Math.round(Number(raw) * 1000);
  return ms < durationMs ? ms : false;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && s.length <= 2000;
  } catch {
    return false;
  }
}

function isDim(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 8192;
}

/** Size is enforced while reading; this checks the bytes are the declared media and reads its length. */
/** Bytes of the head sniffed before the rest is accepted. */
const headBytes = 64 * 1024;

/**
 * Streams a creative's body to `path` (never whole in memory): refused with 413 past the size
 * limit, with 415 as soon as its first bytes are not the declared media; then its duration
 * (and picture size) is read from the file. On any refusal nothing is left on disk.
 */
async function receiveCreative(
  body: unknown,
  headers: Record<string, string | string[] | undefined>,
  ctx: AdsContext,
  path: string,
): Promise<
  | {
      media: SniffedMedia;
      durationMs: number;
      bitrateKbps?: number;
      dimensions: Dimensions | null;
      path: string;
      bytes: number;
    }
  | AdsError
> {
  const contentType = String(headers['content-type'] ?? '');
  const stream = body as Readable | undefined;
  if (!stream || typeof (stream as { pipe?: unknown }).pipe !== 'function')
    return adsError('ADS_CREATIVE_NOT_MEDIA', 'empty body');
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > ctx.maxCreativeBytes) {
    stream.resume();
    return adsError('ADS_CREATIVE_TOO_LARGE');
  }
  await mkdir(ctx.mediaDir, { recursive: true });
  let size = 0;
  let head: Buffer = Buffer.alloc(0);
  let media: SniffedMedia | null = null;
  let refusal: AdsError | null = null;
  const check = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > ctx.maxCreativeBytes) {
        refusal = adsError('ADS_CREATIVE_TOO_LARGE');
        throw new Error('too large');
      }
      if (!media && head.length < headBytes) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= headBytes) {
          media = checkMedia(head, contentType);
          if (!media) {
            refusal = adsError('ADS_CREATIVE_NOT_MEDIA', 'bytes are not the declared audio/video type');
            throw new Error('not media');
          }
        }
      }
      yield chunk;
    }
  };
  const file = createWriteStream(path, { flags: 'wx' });
  // Through a tap, so a refusal ends the file and the tap but not the request itself: its
  // connection must stay up for the 413/415 answer (the rest of the body is discarded).
  const tap = new PassThrough();
  stream.pipe(tap);
  try {
    await pipeline(tap, check, file);
  } catch {
    stream.unpipe(tap);
    stream.resume();
    if (!file.closed) await new Promise((done) => file.once('close', done));
    await rm(path, { force: true });
    return refusal ?? adsError('ADS_CREATIVE_NOT_MEDIA', 'the upload broke off');
  }
  const fail415 = async (message: string) => {
    await rm(path, { force: true });
    return adsError('ADS_CREATIVE_NOT_MEDIA', message);
  };
  if (size === 0) return fail415('empty body');
  media ??= checkMedia(head, contentType);
  if (!media) return fail415('bytes are not the declared audio/video type');
  let durationMs = 0;
  let bitrateKbps: number | undefined;
  let dimensions: Dimensions | null = null;
  try {
    const meta = await parseFile(path, { duration: true });
    durationMs = Math.round((meta.format.duration ?? 0) * 1000);
    bitrateKbps = meta.format.bitrate ? Math.round(meta.format.bitrate / 1000) : undefined;
    const video = meta.format.trackInfo?.find((t) => t.video)?.video;
    if (video?.pixelWidth && video.pixelHeight) {
      dimensions = { width: video.pixelWidth, height: video.pixelHeight };
    }
  } catch {
    durationMs = 0;
  }
  // Rare fallback (an MP4 whose parser gave no picture size): read the boxes from the file.
  if (media.mediaKind === 'video' && !dimensions && media.ext === 'mp4')
    dimensions = mp4VideoDimensions(await readFile(path));
  if (!(durationMs > 0 && durationMs <= 180_000)) return fail415('no readable duration up to 3 minutes');
  return { media, durationMs, bitrateKbps, dimensions, path, bytes: size };
}
