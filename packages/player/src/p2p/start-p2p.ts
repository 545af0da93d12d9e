/**
 * Starts peer-to-peer playback of one episode in this page: registers the Service Worker
 * (scope `/`), fetches and parses the episode's .torrent, starts the engine (WebRTC peers
 * through the torrent's ws:// tracker, or the node's own on this host; the torrent's web
 * seeds, or the origin URL), and serves the engine's bytes to the Service Worker. Returns
 * null when this browser cannot (no Service Worker, registration refused): the caller then
 * plays the origin URL directly.
 */
import {
  parseTorrent,
  type RtcPeerConnectionLike,
  subtleHasher,
  toHex,
  type WebSocketLike,
  wireInfoHash,
} from '@swarmcast/bittorrent';
import { P2pEngine } from './p2p-engine.ts';
import { type StreamSource, serveStreams } from './range-responder.ts';
import { mediaTypeOf, serviceWorkerPath, streamUrl } from './stream-protocol.ts';

export interface P2pStartOptions {
  torrentUrl: string;
  /** The origin URL of the media file (web seed of last resort, and the fallback). */
  originSrc: string;
  durationMs?: number;
  /** false: do not use WebRTC even when the browser has it. */
  webrtc?: boolean;
  /** How long to wait for the Service Worker to control the page (default 4 s). */
  controlTimeoutMs?: number;
  onWarning?: (message: string) => void;
}

export interface P2pPlayback {
  engine: P2pEngine;
  /** The URL the media element plays (answered by the Service Worker). */
  src: string;
  stop(): Promise<void>;
}

const streams = new Map<string, StreamSource>();
let serving = false;

async function controlled(timeoutMs: number): Promise<boolean> {
  const sw = navigator.serviceWorker;
  await sw.register(serviceWorkerPath, { scope: '/' });
  await sw.ready;
  if (sw.controller) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(sw.controller !== null), timeoutMs);
    sw.addEventListener(
      'controllerchange',
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      { once: true },
    );
  });
}

export async function startP2p(o: P2pStartOptions): Promise<P2pPlayback | null> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return null;
  // The Service Worker and the .torrent are fetched at once: both are on the way to the first frame.
  const torrent = fetch(o.torrentUrl).then(async (res) => {
    if (!res.ok) throw new Error(`torrent: HTTP ${res.status}`);
    return parseTorrent(new Uint8Array(await res.arrayBuffer()), subtleHasher());
  });
  torrent.catch(() => undefined);
  try {
    if (!(await controlled(o.controlTimeoutMs ?? 4000))) return null;
  } catch (err) {
    o.onWarning?.(`service worker: ${(err as Error).message}`);
    return null;
  }
  const parsed = await torrent;
  if (!parsed.ok) throw new Error(`torrent: ${parsed.error.code} ${parsed.error.message}`);
  const meta = parsed.value;
  const here = new URL(location.href);
  const ownTracker = `${here.protocol === 'https:' ? 'wss' : 'ws'}://${here.host}/announce`;
  const trackers = meta.announce.flat().filter((u) => /^wss?:\/\//.test(u));
  const rtcOk = o.webrtc !== false && typeof RTCPeerConnection === 'function';
  const engine = new P2pEngine({
    meta,
    hasher: subtleHasher(),
    trackers: trackers.length > 0 ? trackers : [ownTracker],
    webSeeds: meta.urlList.length > 0 ? meta.urlList : [new URL(o.originSrc, location.href).href],
    rtc: rtcOk ? () => new RTCPeerConnection({ iceServers: [] }) as unknown as RtcPeerConnectionLike : null,
    webSocket:
      typeof WebSocket === 'function' ? (url) => new WebSocket(url) as unknown as WebSocketLike : null,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
  });
  if (o.durationMs && o.durationMs > 0) engine.setDuration(o.durationMs / 1000);
  await engine.start();
  const key = toHex(wireInfoHash(meta));
  const name = engine.file.path[engine.file.path.length - 1] ?? 'media';
  streams.set(key, {
    length: engine.file.length,
    type: mediaTypeOf(name),
    read: (start, end, signal) => engine.read(start, end, signal),
  });
  if (!serving) {
    serving = true;
    serveStreams(navigator.serviceWorker, streams);
  }
  return {
    engine,
    src: streamUrl(key, name, new URL(o.originSrc, location.href).href),
    async stop() {
      if (streams.get(key)?.length === engine.file.length) streams.delete(key);
      await engine.close();
    },
  };
}
