import type { AnnounceFact, AudienceKey, ClientClass, DownloadFact } from '@swarmcast/platform';
import type { EpisodeMedia } from '../../src/rules/episode-media.ts';

export const listener: ClientClass = { app: 'Overcast', device: 'phone', os: 'iOS', bot: false };
export const key = (s: string) => s as AudienceKey;

let n = 0;
/** A 200 GET of the whole file unless overridden. */
export function dl(over: Partial<DownloadFact> & { time: number }): DownloadFact {
  const fileSize = over.fileSize ?? 6_000_000;
  return {
    kind: 'download',
    id: `d${n++}`,
    audienceKey: key('k1'),
    datacenter: false,
    path: 'show/ep1.mp3',
    method: 'GET',
    status: 200,
    fileSize,
    rangeStart: 0,
    rangeEnd: fileSize - 1,
    rangeHeader: null,
    bytesSent: fileSize,
    client: listener,
    ...over,
  };
}

/** A 206 answer to `bytes=start-end`. */
export function range(
  start: number,
  end: number,
  time: number,
  over: Partial<DownloadFact> = {},
): DownloadFact {
  return dl({
    status: 206,
    rangeStart: start,
    rangeEnd: end,
    rangeHeader: `bytes=${start}-${end}`,
    bytesSent: end - start + 1,
    time,
    ...over,
  });
}

export function announce(over: Partial<AnnounceFact> & { time: number }): AnnounceFact {
  return {
    kind: 'announce',
    id: `a${n++}`,
    audienceKey: key('k1'),
    datacenter: false,
    infoHash: 'a'.repeat(40),
    event: 'completed',
    left: 0,
    uploadedDelta: 0,
    downloadedDelta: 0,
    clientFamily: 'qBittorrent',
    transport: 'udp',
    ...over,
  };
}

/** 10 minutes, 6,000,000 bytes with a 100,000-byte header: threshold 690,000 bytes. */
export const ep1: EpisodeMedia = {
  episodeId: 'ep1',
  showId: 'show',
  creatorId: 'creator',
  path: 'show/ep1.mp3',
  infoHash: 'a'.repeat(40),
  fileSize: 6_000_000,
  headerBytes: 100_000,
  durationMs: 600_000,
};
