/**
 * What the Service Worker and the page running the engine say to each other, over one
 * MessageChannel per media request:
 *
 *   SW -> page (client.postMessage, port transferred): `{type: 'sc-range', key, range}`
 *   page -> SW: `{type: 'head', status, headers}` or `{type: 'not-mine'}`
 *   SW -> page: `{type: 'pull'}` each time the media element's stream wants more,
 *               `{type: 'cancel'}` when it stops reading (seek, pause, unload)
 *   page -> SW: `{type: 'chunk', bytes}` (ArrayBuffer, transferred), `{type: 'end'}`,
 *               or `{type: 'error', message}`
 *   page -> SW (controller.postMessage): `{type: 'sc-streams', keys}`, the streams the page's
 *               engine answers now; sent on every change and every 10 s (a restarted worker
 *               has forgotten them, and sends marked requests to the network until told).
 *
 * Pull-driven, so the page never sends more than the element reads (memory stays bounded).
 *
 * The media element plays the origin URL with the query parameter `sc-p2p=<key>`
 * (`p2pMediaUrl`), from the first moment: on a first visit the page is not controlled yet and
 * the browser reads the origin directly; once the Service Worker controls the page, it
 * answers the requests carrying the parameter from the page's engine once the page has said
 * it runs (`sc-streams`), and leaves them to the network before that. The
 * origin answers such requests in windows (bittorrent's media-window.ts: a 206 shorter than an open-ended
 * range asked for, which the browser follows with a request for the rest), so reads move to
 * the swarm at the next window once it is ready, inside the element's byte stream: no new
 * `src`, no reload, no glitch.
 */

import { p2pDurationParam, p2pParam } from '@swarmcast/bittorrent/media-window';

export { p2pParam, p2pWindowBytes } from '@swarmcast/bittorrent/media-window';

/**
 * The URL the media element plays: the origin URL, marked with the stream key, and with the
 * episode's duration when known (the origin's start-up hold is sized by it: media-window.ts).
 */
export function p2pMediaUrl(originUrl: string, key: string, durationMs?: number): string {
  const u = new URL(originUrl);
  u.searchParams.set(p2pParam, key);
  if (durationMs !== undefined && durationMs >= 1000)
    u.searchParams.set(p2pDurationParam, String(Math.round(durationMs / 1000)));
  return u.href;
}

/** The stream key of a request URL: the `sc-p2p` parameter or the legacy stream path; else null. */
export function streamKeyOfUrl(url: URL): string | null {
  const k = url.searchParams.get(p2pParam);
  if (k !== null) return /^[0-9a-f]{8,64}$/i.test(k) ? k : null;
  return streamKeyOf(url.pathname);
}

/** Legacy media URLs the Service Worker still answers: `/assets/stream/<key>/<file name>?origin=<url>`. */
export const streamPrefix = '/assets/stream/';
/** Where the Service Worker script is served; registered with scope `/` (header Service-Worker-Allowed). */
export const serviceWorkerPath = '/assets/player-sw.js';

/** Page -> Service Worker: the stream keys this page's engine answers now. */
export interface StreamsAnnouncement {
  type: 'sc-streams';
  keys: string[];
}

export type SwToPage =
  | { type: 'sc-range'; key: string; range: string | null }
  | { type: 'pull' }
  | { type: 'cancel' };

export type PageToSw =
  | { type: 'head'; status: number; headers: Record<string, string> }
  | { type: 'not-mine' }
  | { type: 'chunk'; bytes: ArrayBuffer }
  | { type: 'end' }
  | { type: 'error'; message: string };

/** The stream URL of an episode's media file (the origin URL is the fallback when the page is gone). */
export function streamUrl(key: string, fileName: string, originUrl: string): string {
  return `${streamPrefix}${encodeURIComponent(key)}/${encodeURIComponent(fileName)}?origin=${encodeURIComponent(originUrl)}`;
}

/** The key of a stream URL's path, or null when the path is not one of ours. */
export function streamKeyOf(pathname: string): string | null {
  if (!pathname.startsWith(streamPrefix)) return null;
  const key = pathname.slice(streamPrefix.length).split('/')[0] ?? '';
  if (!/^[0-9a-f]{8,64}$/i.test(key)) return null;
  return key;
}

const types: Record<string, string> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  flac: 'audio/flac',
  wav: 'audio/wav',
};

/** A media type from the file name (the torrent carries no type). */
export function mediaTypeOf(fileName: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase() ?? '';
  return types[ext] ?? 'application/octet-stream';
}
