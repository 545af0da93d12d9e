/**
 * A small node for peer-to-peer player tests and the player bench: one HTTP server on
 * loopback serving a page that mounts the P2P player, the player bundle and Service Worker,
 * the media file with ranges (counting the bytes the origin sends), the episode's .torrent
 * (hybrid, the origin as web seed, our WebSocket tracker) and the WebSocket tracker itself on
 * the same port, as `npm start` does. No node-side seeder: every byte a page does not get from
 * the origin came from another page.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import {
  durationHint,
  MarkedReads,
  openEnded,
  p2pDurationParam,
  p2pParam,
  windowedEnd,
} from '@swarmcast/bittorrent/media-window';
import { createTorrent } from '@swarmcast/bittorrent/node';
import { Tracker } from '@swarmcast/tracker';
import { buildPlayerBundle, buildServiceWorkerBundle } from '../build/bundle.ts';

export interface P2pFixture {
  base: string;
  media: Buffer;
  mediaUrl: string;
  /** The page that mounts the P2P player (`webrtc: false` -> data channels off). */
  /**
   * `plain`: the player on the origin URL (no engine); `autoplay`: play (unmuted) at once and
   * record `window.marks` {playing, frame, ready (engine), firstPeerByte} in ms since navigation.
   */
  pageUrl(o?: { webrtc?: boolean; plain?: boolean; autoplay?: boolean }): string;
  /** Bytes of the media file the origin has sent so far. */
  originBytes(): number;
  /** Of those, the bytes sent for the marked URL (the media element's own reads, not the engine's web seed). */
  markedBytes(): number;
  /** Media requests the origin answered (Range header; whether the URL carried the swarm mark). */
  mediaRequests: { range: string | null; marked: boolean }[];
  playBeacons: unknown[];
  close(): Promise<void>;
}

export async function startP2pFixture(o: {
  mediaPath: string;
  type: string;
  kind: 'audio' | 'video';
  durationMs: number;
  pieceLength?: number;
  /** Address to listen on (default 127.0.0.1; the NAT lab's public address for its homes). */
  host?: string;
  /** The ICE servers `/p2p/ice` gives each page (default: none, the player then uses host candidates). */
  iceServers?: () => unknown[];
  /** false: no start-up hold on marked reads (the origin before it had one), for the bench's comparison. */
  startupHold?: boolean;
}): Promise<P2pFixture> {
  const media = await readFile(o.mediaPath);
  const name = basename(o.mediaPath);
  const [playerJs, swJs] = await Promise.all([
    buildPlayerBundle({ minify: false }),
    buildServiceWorkerBundle(),
  ]);
  const tracker = new Tracker({ rateLimit: null });
  const markedReads = new MarkedReads();
  let originBytes = 0;
  let markedBytes = 0;
  const mediaRequests: { range: string | null; marked: boolean }[] = [];
  let torrent: Uint8Array = new Uint8Array(0);
  const playBeacons: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/assets/player.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(playerJs);
    } else if (url.pathname === '/assets/player-sw.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'service-worker-allowed': '/' }).end(swJs);
    } else if (url.pathname === '/episode.torrent') {
      res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(torrent);
    } else if (url.pathname === `/media/${name}`) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const marked = url.searchParams.has(p2pParam);
      const start = m ? Number(m[1]) : 0;
      let end = m?.[2] ? Math.min(Number(m[2]), media.length - 1) : media.length - 1;
      // As the node's origin does: the P2P player's open-ended reads are answered in windows,
      // with the first visit's start-up hold (origin/src/serve.ts).
      let waitMs = 0;
      if (m) end = windowedEnd(url.searchParams.has(p2pParam), req.headers.range, start, end);
      if (m && o.startupHold !== false && url.searchParams.has(p2pParam) && openEnded(req.headers.range)) {
        const client = `${url.searchParams.get(p2pParam)}\0${req.socket.remoteAddress}\0${req.headers['user-agent']}`;
        const read = markedReads.plan(
          client,
          start,
          media.length - 1,
          media.length,
          durationHint(url.searchParams.get(p2pDurationParam) ?? undefined),
        );
        [waitMs, end] = [read.waitMs, read.end];
      }
      mediaRequests.push({ range: req.headers.range ?? null, marked: url.searchParams.has(p2pParam) });
      const headers: Record<string, string | number> = {
        'content-type': o.type,
        'accept-ranges': 'bytes',
        'content-length': end - start + 1,
        'access-control-allow-origin': '*',
      };
      if (m) headers['content-range'] = `bytes ${start}-${end}/${media.length}`;
      res.writeHead(m ? 206 : 200, headers);
      // Counted as written, 64 KiB at a time, so a request the browser aborts counts what left.
      let at = start;
      let gone = false;
      res.on('close', () => {
        gone = true;
      });
      const pump = () => {
        while (at <= end && !gone) {
          const chunk = media.subarray(at, Math.min(end + 1, at + 65_536));
          at += chunk.length;
          originBytes += chunk.length;
          if (marked) markedBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!gone) res.end();
      };
      if (waitMs > 0) setTimeout(pump, waitMs);
      else pump();
    } else if (url.pathname === '/p2p/ice') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ iceServers: o.iceServers?.() ?? [] }));
    } else if (url.pathname === '/beacon/play' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => {
        if (body.length < 10_000) body += c;
      });
      req.on('end', () => {
        try {
          playBeacons.push(JSON.parse(body));
        } catch {
          playBeacons.push(body);
        }
        res.writeHead(204).end();
      });
    } else if (url.pathname === '/page.html') {
      const webrtc = url.searchParams.get('webrtc') !== 'off';
      const plain = url.searchParams.get('plain') === '1';
      const autoplay = url.searchParams.get('autoplay') === '1';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html><head><meta charset="utf-8"><title>p2p</title></head><body>
<div id="player"></div>
<script src="/assets/player.js"></script>
<script>
  const el = document.getElementById('player');
  const opts = { kind: ${JSON.stringify(o.kind)}, src: '/media/${name}', episodeId: 'ep-1', vmapUrl: null, collectorBase: '', progressIntervalMs: 1000 };
  window.player = ${plain ? 'Swarmcast.mountPlayer(el, opts)' : `Swarmcast.mountP2pPlayer(el, opts, { torrentUrl: '/episode.torrent', durationMs: ${o.durationMs}, webrtc: ${webrtc} })`};
  window.marks = {};
  ${
    autoplay
      ? `(async () => {
    const v = window.player.content;
    v.addEventListener('playing', () => { window.marks.playing ??= performance.now(); });
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(() => { window.marks.frame ??= performance.now(); });
    // Play at once, as a listener pressing play would: the element never waits on the engine.
    v.play();
    const pb = window.player.p2p ? await window.player.p2p : null;
    window.marks.ready = performance.now();
    // The first byte from a peer (polled every 20 ms, so within 20 ms).
    const poll = setInterval(() => {
      if (!pb || pb.engine.stats().bytesFromPeers > 0) {
        if (pb) window.marks.firstPeerByte = performance.now();
        clearInterval(poll);
      }
    }, 20);
  })();`
      : ''
  }
</script></body></html>`);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('upgrade', (req, socket, head) => tracker.ws.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, o.host ?? '127.0.0.1', r));
  const base = `http://${o.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const mediaUrl = `${base}/media/${name}`;
  const made = await createTorrent(o.mediaPath, {
    version: 'hybrid',
    ...(o.pieceLength ? { pieceLength: o.pieceLength } : {}),
    announce: [[`${base.replace('http', 'ws')}/announce`]],
    webSeeds: [mediaUrl],
  });
  if (!made.ok) throw new Error(made.error.message);
  torrent = made.value.torrent;
  return {
    base,
    media,
    mediaUrl,
    pageUrl: (p = {}) =>
      `${base}/page.html?webrtc=${p.webrtc === false ? 'off' : 'on'}${p.plain ? '&plain=1' : ''}${p.autoplay ? '&autoplay=1' : ''}`,
    originBytes: () => originBytes,
    markedBytes: () => markedBytes,
    mediaRequests,
    playBeacons,
    async close() {
      tracker.ws.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
