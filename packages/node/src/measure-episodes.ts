/**
 * Tells measurement about published episodes (its `registerEpisode` port): which file path
 * and info-hash belong to which episode, show and creator, so download facts from the
 * origin and announce facts from the tracker are attributed. Idempotent (an upsert each).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { mp4HeaderBytes, publishedEpisodeMedia } from '@swarmcast/catalog';
import { registerEpisode } from '@swarmcast/measure';
import type { Db } from '@swarmcast/platform';
import { headerBytesOf } from './header-bytes.ts';

/** Registers every published episode that has its media file (all of them, or the one given). */
export async function registerPublishedEpisodes(
  db: Db,
  mediaDir: string,
  only?: { mediaPath: string },
): Promise<number> {
  const episodes = await publishedEpisodeMedia(db, only);
  for (const e of episodes) {
    await registerEpisode(db, {
      episodeId: e.episodeId,
      showId: e.showId,
      creatorId: e.creatorId,
      title: e.title,
      path: e.path,
      infoHash: e.infoHash,
      // Announces on the truncated v2 hash (v2 clients) and the v1-only companion (aria2,
      // older clients) are the same episode's.
      otherInfoHashes: [e.infoHashV2?.slice(0, 40), e.companionHash].filter((h): h is string => !!h),
      fileSize: e.size,
      headerBytes: await headerBytesOfFile(join(mediaDir, e.path)),
      durationMs: e.durationMs,
    });
  }
  return episodes.length;
}

/**
 * The file's header bytes: the ID3 tag of an MP3, the boxes before the samples of an MP4
 * (ftyp at byte 4). 0 when it cannot be read: the threshold is then slightly low.
 */
export async function headerBytesOfFile(path: string): Promise<number> {
  const file = await open(path, 'r').catch(() => null);
  if (!file) return 0;
  let head: Uint8Array;
  try {
    const buf = new Uint8Array(10);
    const { bytesRead } = await file.read(buf, 0, 10, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
  const isMp4 = head.length >= 8 && Buffer.from(head.subarray(4, 8)).toString('latin1') === 'ftyp';
  return isMp4 ? mp4HeaderBytes(path).catch(() => 0) : headerBytesOf(head);
}
