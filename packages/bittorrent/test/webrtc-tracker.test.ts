import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@swarmcast/testkit';
import TrackerClient, { Server } from 'bittorrent-tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  systemTimers,
  type Transport,
  utf8,
  type WebSocketFactory,
  type WebSocketLike,
  WebSocketTrackerClient,
  type WsTrackerEvent,
} from '../src/index.ts';
import { nodeRtcFactory, nodeWebSocket } from '../src/node/index.ts';

/**
 * WebRTC peers signalled through a WebSocket tracker, for real: node-datachannel bound to
 * 127.0.0.1, bittorrent-tracker's own WebSocket server (the reference implementation of the
 * protocol), and WebTorrent's signalling client on the other side.
 */
const signalling = { factory: nodeRtcFactory({ bindAddress: '127.0.0.1' }), timers: systemTimers };

function client(
  url: string,
  infoHash: Uint8Array,
  peerId: Uint8Array,
  onTransport: (t: Transport) => void,
  onEvent?: (e: WsTrackerEvent) => void,
  webSocket: WebSocketFactory = nodeWebSocket,
) {
  return new WebSocketTrackerClient({
    url,
    infoHash,
    peerId,
    webSocket,
    signalling,
    timers: systemTimers,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
    onTransport: (t) => onTransport(t),
    onEvent,
    offers: 2,
  });
}

function collect(transport: Transport, until: (bytes: Uint8Array[]) => boolean): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const got: Uint8Array[] = [];
    const timer = setTimeout(() => reject(new Error('no data within 20 s')), 20_000);
    transport.start({
      data(chunk) {
        got.push(chunk.slice());
        if (until(got)) {
          clearTimeout(timer);
          resolve(got);
        }
      },
      drain() {},
      close(reason) {
        clearTimeout(timer);
        reject(new Error(`closed before the data arrived: ${reason?.code ?? 'remote close'}`));
      },
    });
  });
}

interface SimplePeer {
  connected: boolean;
  send(data: Uint8Array): void;
  once(event: 'data', fn: (data: Uint8Array) => void): void;
  once(event: 'connect', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
}

/** A real WebSocket that loses the first relayed answer it receives (a failed negotiation). */
class AnswerLosingSocket implements WebSocketLike {
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  lost = 0;
  private readonly ws: WebSocketLike;
  constructor(url: string) {
    this.ws = nodeWebSocket(url);
    this.ws.onopen = (ev) => this.onopen?.(ev);
    this.ws.onclose = (ev) => this.onclose?.(ev);
    this.ws.onerror = (ev) => this.onerror?.(ev);
    this.ws.onmessage = (ev) => {
      if (this.lost === 0 && typeof ev.data === 'string' && ev.data.includes('"answer"')) {
        this.lost++;
        return;
      }
      this.onmessage?.(ev);
    };
  }
  get readyState(): number {
    return this.ws.readyState;
  }
  send(data: string): void {
    this.ws.send(data);
  }
  close(): void {
    this.ws.close();
  }
}

const total = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);

describe('WebSocket tracker client + WebRTC data channels', () => {
  let server: InstanceType<typeof Server>;
  let url: string;

  beforeAll(async () => {
    server = new Server({ udp: false, http: false, ws: true, stats: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `ws://127.0.0.1:${(server.http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('two of our peers meet through the tracker and move bytes both ways, in 16 KiB messages', async () => {
    const infoHash = new Uint8Array(randomBytes(20));
    const got: Transport[] = [];
    const cleanups: (() => Promise<void>)[] = [];
    const arrived = new Promise<void>((resolve) => {
      const take = (t: Transport) => {
        got.push(t);
        if (got.length === 2) resolve();
      };
      const a = client(url, infoHash, utf8('-SC0001-aaaaaaaaaaaa'), take);
      const b = client(url, infoHash, utf8('-SC0001-bbbbbbbbbbbb'), take);
      a.start();
      // b announces after a, so the tracker relays a's offers to b.
      setTimeout(() => b.start(), 300);
      cleanups.push(
        () => a.stop(),
        () => b.stop(),
      );
    });
    try {
      await arrived;
      const [x, y] = got as [Transport, Transport];
      const payload = new Uint8Array(100_000).map((_, i) => (i * 7) % 251);
      const receiving = collect(y, (chunks) => total(chunks) >= payload.length);
      const replying = collect(x, (chunks) => total(chunks) >= 5);
      x.write(payload);
      const received = await receiving;
      const joined = new Uint8Array(total(received));
      let at = 0;
      for (const c of received) {
        joined.set(c, at);
        at += c.length;
      }
      expect(joined).toEqual(payload);
      expect(Math.max(...received.map((c) => c.length))).toBeLessThanOrEqual(16 * 1024);
      y.write(utf8('hello'));
      expect(new TextDecoder().decode((await replying)[0])).toBe('hello');
      expect(x.remote.kind).toBe('webrtc');
      expect([x.remote.outgoing, y.remote.outgoing].sort()).toEqual([false, true]);
    } finally {
      for (const t of got) t.close();
      await Promise.all(cleanups.map((f) => f()));
    }
  });

  it('an answer lost on the way: the offerer announces again within seconds, not at the 2-minute interval', async () => {
    const infoHash = new Uint8Array(randomBytes(20));
    const sockets: AnswerLosingSocket[] = [];
    const lossy: WebSocketFactory = (u) => {
      const ws = new AnswerLosingSocket(u);
      sockets.push(ws);
      return ws;
    };
    const got: Transport[] = [];
    const a = client(url, infoHash, utf8('-SC0001-dddddddddddd'), (t) => got.push(t));
    const b = client(url, infoHash, utf8('-SC0001-eeeeeeeeeeee'), (t) => got.push(t), undefined, lossy);
    try {
      a.start();
      // Alone at first: a's offers go nowhere; b then announces and its first answer is lost.
      await waitFor(
        () => server.torrents[Buffer.from(infoHash).toString('hex')] !== undefined,
        10_000,
        'a to announce',
        50,
      );
      b.start();
      // The tracker tells clients to come back in 2 minutes; only the back-off brings them
      // together within the bound.
      await waitFor(
        () => got.length >= 2 && a.connected && b.connected,
        45_000,
        'a data channel after the lost answer',
        100,
      );
      expect(sockets[0]?.lost).toBe(1);
    } finally {
      for (const t of got) t.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("WebTorrent's signalling client (bittorrent-tracker + simple-peer) connects to us and bytes flow both ways", async () => {
    // WebTorrent's own peer (webtorrent@2 from npm) fails to add any torrent with the
    // dependency versions the registry serves today, so the browser tests of the player use
    // its browser bundle instead; this test pins down the signalling layer it shares.
    const infoHash = new Uint8Array(randomBytes(20));
    const theirs = new TrackerClient({
      infoHash: Buffer.from(infoHash),
      peerId: Buffer.from('-WW0208-reference000'),
      announce: [url],
      port: 6881,
      rtcConfig: { iceServers: [] },
      getAnnounceOpts: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
    });
    const cleanups: (() => Promise<void>)[] = [
      () => new Promise<void>((resolve) => theirs.destroy(() => resolve())),
    ];
    try {
      const theirPeer = new Promise<SimplePeer>((resolve) =>
        theirs.on('peer', (p: SimplePeer) => {
          // simple-peer reports our close as an error event; it is expected here.
          p.on('error', () => undefined);
          resolve(p);
        }),
      );
      theirs.on('warning', () => undefined);
      theirs.start();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const transport = await new Promise<Transport>((resolve) => {
        const ours = client(url, infoHash, utf8('-SC0001-cccccccccccc'), resolve);
        cleanups.push(() => ours.stop());
        ours.start();
      });
      const peer = await theirPeer;
      const fromThem = collect(transport, (chunks) => total(chunks) >= 11);
      const fromUs = new Promise<Uint8Array>((resolve) => peer.once('data', resolve));
      if (!peer.connected) await new Promise<void>((resolve) => peer.once('connect', () => resolve()));
      peer.send(utf8('from simple'));
      transport.write(utf8('from swarmcast'));
      expect(new TextDecoder().decode((await fromThem)[0])).toBe('from simple');
      expect(new TextDecoder().decode(await fromUs)).toBe('from swarmcast');
      transport.close();
    } finally {
      for (const f of cleanups.reverse()) await f();
    }
  });
});
