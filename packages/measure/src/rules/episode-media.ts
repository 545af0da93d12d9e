/** What measurement needs to know of a published episode file (registered by the catalog). */
export interface EpisodeMedia {
  episodeId: string;
  showId: string;
  creatorId: string;
  /** The file's path under the media root, as in DownloadFact.path. */
  path: string;
  /** v1 info-hash (40 lower-case hex) of its torrent, as in AnnounceFact.infoHash. */
  infoHash: string | null;
  fileSize: number;
  /** Bytes before the media payload (ID3 tag, MP4 moov...), measured at publish. */
  headerBytes: number;
  durationMs: number;
}

/**
 * IAB v2.3 step 2 (5.5.3): header bytes plus enough content to play one minute; the
 * whole file when the episode is one minute or shorter. One minute of content is taken
 * at the episode's average bitrate: (fileSize - headerBytes) x 60 s / duration, rounded up.
 */
export function downloadThreshold(e: Pick<EpisodeMedia, 'fileSize' | 'headerBytes' | 'durationMs'>): number {
  if (e.durationMs <= 60_000) return e.fileSize;
  const payload = Math.max(0, e.fileSize - e.headerBytes);
  const oneMinute = Math.ceil((payload * 60_000) / e.durationMs);
  return Math.min(e.fileSize, e.headerBytes + oneMinute);
}
