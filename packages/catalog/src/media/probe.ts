import { parseFile } from 'music-metadata';
import type { Chapter } from '../ad-break-rules.ts';
import { fail, ok, type Result } from '../errors.ts';
import { isFastStart, topLevelBoxes } from './mp4-boxes.ts';

const trackTypeVideo = 0x01;

/** What publishing needs to know about a media file. */
export interface Probe {
  mediaKind: 'audio' | 'video';
  /** MIME type for the enclosure and the origin. */
  mime: string;
  /** File name extension we store it under (from the content, never from the upload's name). */
  extension: string;
  container: string;
  codecs: string[];
  durationMs: number;
  /** Bits per second, when the format says. */
  bitrate: number | null;
  /** MP4 only: moov before mdat. */
  fastStart: boolean | null;
  chapters: Chapter[];
}

interface Kind {
  mime: string;
  extension: string;
}

/** Containers we publish, by music-metadata's container name and whether video is present. */
function kindOf(container: string, video: boolean): Kind | null {
  const c = container.toLowerCase();
  if (c.startsWith('mpeg')) return { mime: 'audio/mpeg', extension: 'mp3' };
  if (/^(mp4|m4a|m4v|isom|iso\d|mp41|mp42|dash|avc1|qt)/.test(c) || c.includes('mp4')) {
    return video ? { mime: 'video/mp4', extension: 'mp4' } : { mime: 'audio/mp4', extension: 'm4a' };
  }
  if (c === 'ogg') return { mime: 'audio/ogg', extension: 'ogg' };
  if (c === 'webm' || c === 'ebml/webm')
    return video ? { mime: 'video/webm', extension: 'webm' } : { mime: 'audio/webm', extension: 'webm' };
  if (c === 'flac') return { mime: 'audio/flac', extension: 'flac' };
  if (c === 'wave' || c === 'riff/wave') return { mime: 'audio/wav', extension: 'wav' };
  return null;
}

const notMedia = (why: string) =>
  fail(
    'CAT_NOT_MEDIA',
    `this file is not audio or video we can publish (${why}); send MP3, M4A, MP4, Ogg, WebM, FLAC or WAV`,
  );

/**
 * Probes a file with music-metadata. Refuses anything that is not audio or video with a
 * usable duration: a text file renamed .mp3, random bytes, an image. MPEG audio must
 * also start with an ID3 tag or a frame sync, because the MPEG parser will otherwise
 * find "frames" in noise.
 */
export async function probeMedia(path: string): Promise<Result<Probe>> {
  let meta: Awaited<ReturnType<typeof parseFile>>;
  try {
    meta = await parseFile(path, { duration: true, includeChapters: true, skipCovers: true });
  } catch (err) {
    // The parser's message may name the file: the client must never see a server path.
    const why = (err as Error).message
      .split(path)
      .join('the upload')
      .replace(/(?:\/[\w.@-]+){2,}/g, 'the upload');
    return notMedia(why.slice(0, 120));
  }
  const f = meta.format;
  // music-metadata's track types are Matroska's: 1 video, 2 audio (an M4A's AAC track is 2).
  const video = !!f.hasVideo || f.trackInfo.some((t) => t.video || t.type === trackTypeVideo);
  const kind = f.container ? kindOf(f.container, video) : null;
  if (!kind) return notMedia(`container ${f.container ?? 'unknown'}`);
  const durationMs = Math.round((f.duration ?? 0) * 1000);
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) return notMedia('no duration');
  if (kind.mime === 'audio/mpeg' && !(await startsLikeMpegAudio(path)))
    return notMedia('no MPEG audio header');
  const codecs = [
    ...new Set([
      ...f.trackInfo.map((t) => t.codecName?.replace(/^<(.*)>$/, '$1')).filter((c): c is string => !!c),
      ...(f.codec ? [f.codec] : []),
    ]),
  ];
  if (codecs.length === 0) return notMedia('no codec');
  let fastStart: boolean | null = null;
  if (kind.extension === 'mp4' || kind.extension === 'm4a')
    fastStart = isFastStart(await topLevelBoxes(path));
  const chapters: Chapter[] = (f.chapters ?? [])
    .map((c) => ({
      title: String(c.title ?? '').slice(0, 200),
      startMs: Math.round((c.timeScale ? c.start / c.timeScale : c.start) * 1000),
    }))
    .filter((c) => Number.isFinite(c.startMs) && c.startMs >= 0 && c.startMs < durationMs);
  return ok({
    mediaKind: video ? 'video' : 'audio',
    mime: kind.mime,
    extension: kind.extension,
    container: f.container as string,
    codecs,
    durationMs,
    bitrate: f.bitrate ? Math.round(f.bitrate) : null,
    fastStart,
    chapters,
  });
}

async function startsLikeMpegAudio(path: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    if (b.toString('latin1', 0, 3) === 'ID3') return true;
    return b[0] === 0xff && ((b[1] as number) & 0xe0) === 0xe0;
  } finally {
    await fh.close();
  }
}
