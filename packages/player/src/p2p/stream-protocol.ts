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
 *
 * Pull-driven, so the page never sends more than the element reads (memory stays bounded).
 */

/** Media URLs the Service Worker answers: `/assets/stream/<key>/<file name>?origin=<url>`. */
export const streamPrefix = '/assets/stream/';
/** Where the Service Worker script is served; registered with scope `/` (header Service-Worker-Allowed). */
export const serviceWorkerPath = '/assets/player-sw.js';

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
