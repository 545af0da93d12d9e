/**
 * Starts peer-to-peer playback of one episode in this page: registers the Service Worker
 * (scope `/`), fetches and parses the episode's .torrent, starts the engine (WebRTC peers
 * through the torrent's ws:// tracker, or the node's own on this host; the torrent's web
 * seeds, or the origin URL), and serves the engine's bytes to the Service Worker. Returns
 * null when this browser cannot (no Service Worker, registration refused). The media element
 * plays `p2pStreamSrc` from the start either way: the origin until the engine runs, the
 * engine from the next range request on (stream-protocol.ts).
 */
import {
  cappedRtcFactory,
  parseTorrent,
  type RtcIceServer,
  type RtcPeerConnectionLike,
  subtleHasher,
  type WebSocketLike,
} from '@swarmcast/bittorrent';
import { fetchIceServers, hasRelay, icePath, type PeerMode } from './ice-config.ts';
import { P2pEngine } from './p2p-engine.ts';
import { type StreamSource, serveStreams } from './range-responder.ts';
import { mediaTypeOf, p2pMediaUrl, type StreamsAnnouncement, serviceWorkerPath } from './stream-protocol.ts';

export interface P2pStartOptions {
  torrentUrl: string;
  /** The origin URL of the media file (web seed of last resort, and the fallback). */
  originSrc: string;
  durationMs?: number;
  /** false: do not use WebRTC even when the browser has it. */
  webrtc?: boolean;
  /** How this page meets peers (default share); off is the same as `webrtc: false`. */
  peerMode?: PeerMode;
  /** The node's ICE servers for this page (default `/p2p/ice` at the torrent's origin). */
  iceUrl?: string;
  /** Live peer connections at most (default 12; browsers fail beyond a few hundred). */
  maxPeerConnections?: number;
  /** How long to wait for the Service Worker to control the page (default 4 s). */
  controlTimeoutMs?: number;
  onWarning?: (message: string) => void;
}

export interface P2pPlayback {
  engine: P2pEngine;
  /** The URL the media element plays (answered by the Service Worker once it controls the page). */
  src: string;
  /**
   * Media requests of this stream the engine answered, and those that went to the origin;
   * `firstEngineStart`: the first byte of the first range the engine answered (null before).
   */
  requests(): MediaRequests;
  stop(): Promise<void>;
}

export interface MediaRequests {
  engine: number;
  origin: number;
  firstEngineStart: number | null;
}

/** Running streams by key (absent while the engine starts: requests go to the origin). */
const streams = new Map<string, StreamSource>();
/** Media requests per stream key: answered by the engine, or declined (read from the origin). */
const requestCounts = new Map<string, MediaRequests>();
let serving = false;
let announcer: ReturnType<typeof setInterval> | null = null;

const sayStreams = () =>
  navigator.serviceWorker.controller?.postMessage({
    type: 'sc-streams',
    keys: [...streams.keys()],
  } satisfies StreamsAnnouncement);

/** Tells the Service Worker which streams this page answers (on change, and every 10 s). */
function announce(): void {
  const sw = navigator.serviceWorker;
  sayStreams();
  if (streams.size > 0 && !announcer) {
    announcer = setInterval(sayStreams, 10_000);
    sw.addEventListener('controllerchange', sayStreams);
  } else if (streams.size === 0 && announcer) {
    clearInterval(announcer);
    announcer = null;
    sw.removeEventListener('controllerchange', sayStreams);
  }
}

function serve(): void {
  if (serving || typeof navigator === 'undefined' || !navigator.serviceWorker) return;
  serving = true;
  serveStreams(navigator.serviceWorker, streams, (key, answered, start) => {
    const c = requestCounts.get(key) ?? { engine: 0, origin: 0, firstEngineStart: null };
    if (answered) {
      c.engine++;
      c.firstEngineStart ??= start;
    } else c.origin++;
    requestCounts.set(key, c);
  });
}

/**
 * The stream key of an episode: a hash of its .torrent URL, known before the torrent is
 * fetched, so the element gets its final URL at once.
 */
export function torrentStreamKey(torrentUrl: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < torrentUrl.length; i++) {
    const c = torrentUrl.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/**
 * The URL the media element plays for an episode, from the first moment: the origin URL
 * marked with the stream key. Touches nothing of the Service Worker (the page starts
 * answering it in startP2p, before it announces a stream, after the first frame).
 */
export function p2pStreamSrc(torrentUrl: string, originSrc: string, durationMs?: number): string {
  return p2pMediaUrl(
    new URL(originSrc, location.href).href,
    torrentStreamKey(new URL(torrentUrl, location.href).href),
    durationMs,
  );
}

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

export function startP2p(o: P2pStartOptions): Promise<P2pPlayback | null> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return Promise.resolve(null);
  const key = torrentStreamKey(new URL(o.torrentUrl, location.href).href);
  const started = run(o);
  const origin = new URL(o.originSrc, location.href);
  const name = decodeURIComponent(origin.pathname.split('/').pop() || 'media');
  serve();
  return started.then((pb) => {
    if (!pb) return null;
    // From now on the element's next range request is answered by the engine.
    streams.set(key, {
      length: pb.engine.file.length,
      type: mediaTypeOf(name),
      read: (start: number, end: number, signal: AbortSignal) => pb.engine.read(start, end, signal),
    });
    announce();
    return {
      ...pb,
      src: p2pStreamSrc(o.torrentUrl, o.originSrc),
      requests: () => ({ ...(requestCounts.get(key) ?? { engine: 0, origin: 0, firstEngineStart: null }) }),
      async stop() {
        streams.delete(key);
        announce();
        await pb.stop();
      },
    };
  });
}

async function run(o: P2pStartOptions): Promise<P2pPlayback | null> {
  // The Service Worker and the .torrent are fetched at once: both are on the way to the first frame.
  const torrent = fetch(o.torrentUrl).then(async (res) => {
    if (!res.ok) throw new Error(`torrent: HTTP ${res.status}`);
    return parseTorrent(new Uint8Array(await res.arrayBuffer()), subtleHasher());
  });
  torrent.catch(() => undefined);
  const mode = o.webrtc === false ? 'off' : (o.peerMode ?? 'share');
  const rtcOk = mode !== 'off' && typeof RTCPeerConnection === 'function';
  const iceUrl = o.iceUrl ?? new URL(icePath, new URL(o.torrentUrl, location.href)).href;
  // Fetched beside the torrent (no time added before the first frame).
  const ice = rtcOk ? fetchIceServers(iceUrl, o.onWarning) : Promise.resolve([]);
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
  let servers: RtcIceServer[] = await ice;
  // Relay-only with no relay offered by the node: no peer could be reached; the web seed plays.
  const relayMissing = mode === 'relay' && !hasRelay(servers);
  if (relayMissing) o.onWarning?.('relay-only: this node offers no TURN relay; playing from the web seed');
  const policy: RTCIceTransportPolicy = mode === 'relay' ? 'relay' : 'all';
  const rtcFactory =
    rtcOk && !relayMissing
      ? cappedRtcFactory(
          () =>
            new RTCPeerConnection({
              iceServers: servers,
              iceTransportPolicy: policy,
            }) as unknown as RtcPeerConnectionLike,
          o.maxPeerConnections ?? 12,
        )
      : null;
  // TURN credentials expire: fetch fresh ones at half their life for the connections to come.
  const ttl = servers.some((v) => v.username) ? 1800_000 : 0;
  const refresh =
    ttl > 0
      ? setInterval(() => {
          void fetchIceServers(iceUrl).then((fresh) => {
            if (fresh.length > 0) servers = fresh;
          });
        }, ttl)
      : null;
  const engine = new P2pEngine({
    meta,
    hasher: subtleHasher(),
    trackers: trackers.length > 0 ? trackers : [ownTracker],
    webSeeds: meta.urlList.length > 0 ? meta.urlList : [new URL(o.originSrc, location.href).href],
    rtc: rtcFactory,
    webSocket:
      typeof WebSocket === 'function' ? (url) => new WebSocket(url) as unknown as WebSocketLike : null,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
  });
  if (o.durationMs && o.durationMs > 0) engine.setDuration(o.durationMs / 1000);
  await engine.start();
  return {
    engine,
    src: '',
    requests: () => ({ engine: 0, origin: 0, firstEngineStart: null }),
    stop: () => {
      if (refresh) clearInterval(refresh);
      return engine.close();
    },
  };
}
