import { randomBytes } from 'node:crypto';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { announceQuery } from './helpers/announce.ts';

/** A WebSocket that queues incoming JSON messages for `next()`, each wait bounded. */
async function openSocket(url: string) {
  const ws = new WebSocket(url);
  const inbox: Array<Record<string, unknown>> = [];
  const waiters: Array<(m: Record<string, unknown>) => void> = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    next: (timeoutMs = 2000) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const m = inbox.shift();
        if (m) return resolve(m);
        const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
        waiters.push((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      }),
  };
}

const bin = (b: Buffer) => b.toString('latin1');

describe('WebSocket tracker (WebTorrent protocol)', () => {
  let t: RunningTracker;
  let url: string;
  beforeAll(async () => {
    // A short WebSocket interval: when one WebRTC negotiation fails on a loaded machine, the
    // WebTorrent client offers again at the next announce instead of after the default 120 s.
    t = await runStandaloneTracker({
      port: 0,
      host: '127.0.0.1',
      rateLimit: null,
      intervals: { wsInterval: 10 },
    });
    url = `ws://127.0.0.1:${t.port}/announce`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('relays offers and answers between two browser peers of one swarm', async () => {
    const hash = randomBytes(20);
    const idA = Buffer.from('-WW0208-aaaaaaaaaaaa');
    const idB = Buffer.from('-WW0208-bbbbbbbbbbbb');
    const a = await openSocket(url);
    const b = await openSocket(url);
    const offer = (n: number) => ({
      offer: { type: 'offer', sdp: `sdp-${n}` },
      offer_id: bin(randomBytes(20)),
    });
    a.send({
      action: 'announce',
      info_hash: bin(hash),
      peer_id: bin(idA),
      left: 0,
      event: 'started',
      numwant: 2,
      offers: [offer(1), offer(2)],
    });
    expect(await a.next()).toMatchObject({
      action: 'announce',
      complete: 1,
      incomplete: 0,
      info_hash: bin(hash),
    });
    const offerB = offer(3);
    b.send({
      action: 'announce',
      info_hash: bin(hash),
      peer_id: bin(idB),
      left: 100,
      event: 'started',
      numwant: 1,
      offers: [offerB],
    });
    expect(await b.next()).toMatchObject({ complete: 1, incomplete: 1 });
    const relayed = await a.next();
    expect(relayed).toEqual({
      action: 'announce',
      offer: offerB.offer,
      offer_id: offerB.offer_id,
      peer_id: bin(idB),
      info_hash: bin(hash),
    });
    a.send({
      action: 'announce',
      info_hash: bin(hash),
      peer_id: bin(idA),
      to_peer_id: bin(idB),
      answer: { type: 'answer', sdp: 'x' },
      offer_id: offerB.offer_id,
    });
    expect(await b.next()).toEqual({
      action: 'announce',
      answer: { type: 'answer', sdp: 'x' },
      offer_id: offerB.offer_id,
      peer_id: bin(idA),
      info_hash: bin(hash),
    });
    // The socket closing removes the peer from the swarm.
    b.ws.close();
    await new Promise((r) => setTimeout(r, 200));
    const s = await t.tracker.core.scrape({
      type: 'scrape',
      transport: 'ws',
      infoHashes: [hash.toString('hex') as never],
      ip: '127.0.0.1',
      passkey: null,
    });
    expect('files' in s && s.files.get(hash.toString('hex') as never)).toEqual({
      complete: 1,
      incomplete: 0,
      downloaded: 0,
    });
    a.ws.close();
  });

  it("a peer id seeding two swarms on two sockets gets each swarm's offers on that swarm's socket", async () => {
    // A node seeds every torrent with one peer id and one socket per torrent.
    const [h1, h2] = [randomBytes(20), randomBytes(20)];
    const seedId = Buffer.from('-SC0001-seedseedseed');
    const s1 = await openSocket(url);
    const s2 = await openSocket(url);
    for (const [sock, h] of [
      [s1, h1],
      [s2, h2],
    ] as const) {
      sock.send({
        action: 'announce',
        info_hash: bin(h),
        peer_id: bin(seedId),
        left: 0,
        event: 'started',
        numwant: 0,
        offers: [],
      });
      expect(await sock.next()).toMatchObject({ complete: 1 });
    }
    const leech = await openSocket(url);
    const idL = Buffer.from('-WW0208-llllllllllll');
    const offerL = { offer: { type: 'offer', sdp: 'sdp-l' }, offer_id: bin(randomBytes(20)) };
    leech.send({
      action: 'announce',
      info_hash: bin(h1),
      peer_id: bin(idL),
      left: 10,
      event: 'started',
      numwant: 1,
      offers: [offerL],
    });
    expect(await leech.next()).toMatchObject({ complete: 1, incomplete: 1 });
    // The offer for swarm 1 reaches the socket that announced in swarm 1 (not the newest one).
    expect(await s1.next()).toMatchObject({ offer: offerL.offer, info_hash: bin(h1) });
    s1.send({
      action: 'announce',
      info_hash: bin(h1),
      peer_id: bin(seedId),
      to_peer_id: bin(idL),
      answer: { type: 'answer', sdp: 'a' },
      offer_id: offerL.offer_id,
    });
    expect(await leech.next()).toMatchObject({ answer: { type: 'answer', sdp: 'a' }, info_hash: bin(h1) });
    await expect(s2.next(300)).rejects.toThrow('no message');
    for (const x of [s1, s2, leech]) x.ws.close();
  });

  it('counts a TCP client and a browser peer of one torrent in one swarm', async () => {
    const hash = randomBytes(20);
    await fetch(
      `http://127.0.0.1:${t.port}/announce?${announceQuery({ infoHash: hash, left: 0, event: 'started' })}`,
    );
    const w = await openSocket(url);
    w.send({
      action: 'announce',
      info_hash: bin(hash),
      peer_id: bin(randomBytes(20)),
      left: 5,
      event: 'started',
      offers: [],
    });
    expect(await w.next()).toMatchObject({ complete: 1, incomplete: 1 });
    w.send({ action: 'scrape', info_hash: [bin(hash)] });
    const scrape = (await w.next()) as { files: Record<string, unknown> };
    expect(scrape.files[bin(hash)]).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
    const http = await fetch(
      `http://127.0.0.1:${t.port}/scrape?info_hash=${[...hash].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')}`,
    );
    const files = (
      bencode.decode(new Uint8Array(await http.arrayBuffer())) as { files: Record<string, unknown> }
    ).files;
    expect(Object.values(files)).toEqual([{ complete: 1, downloaded: 0, incomplete: 1 }]);
    w.ws.close();
  });

  it.each([
    ['not JSON', '{{{'],
    ['a JSON array', '[1,2]'],
    ['an unknown action', JSON.stringify({ action: 'explode' })],
    ['a short info_hash', JSON.stringify({ action: 'announce', info_hash: 'abc', peer_id: 'x'.repeat(20) })],
    [
      'a wide-char info_hash',
      JSON.stringify({ action: 'announce', info_hash: '\u1234'.repeat(20), peer_id: 'x'.repeat(20) }),
    ],
    [
      'an answer with no target',
      JSON.stringify({ action: 'announce', info_hash: 'h'.repeat(20), peer_id: 'x'.repeat(20), answer: {} }),
    ],
  ])('answers %s with a failure reason and stays up', async (_n, frame) => {
    const w = await openSocket(url);
    w.ws.send(frame);
    const m = await w.next();
    expect(typeof m['failure reason']).toBe('string');
    w.ws.close();
  });
});

/**
 * WebTorrent's own tracker client (bittorrent-tracker, what the webtorrent package uses to
 * find browser peers), with real WebRTC in Node (webrtc-polyfill, libdatachannel). Two
 * clients announce to our WebSocket endpoint, we relay the offer and the answer, and the two
 * peers open a data channel and exchange a message. The full `webtorrent` 2.8.5 package
 * cannot be driven in Node here: its Torrent calls uint8-util's arr2hex on a hex string and
 * throws (a version mismatch inside its dependencies), so its tracker client is used instead.
 */
describe('a WebTorrent tracker client finds a peer through our WebSocket endpoint', () => {
  let t: RunningTracker;
  const clients: Array<{ destroy(cb?: () => void): void }> = [];
  beforeAll(async () => {
    // A short WebSocket interval: when one WebRTC negotiation fails on a loaded machine, the
    // WebTorrent client offers again at the next announce instead of after the default 120 s.
    t = await runStandaloneTracker({
      port: 0,
      host: '127.0.0.1',
      rateLimit: null,
      intervals: { wsInterval: 10 },
    });
  });
  afterAll(async () => {
    for (const c of clients) await new Promise<void>((r) => c.destroy(() => r()));
    await t?.close();
  });

  it('two clients connect over WebRTC, introduced by our tracker', async () => {
    const { default: Client } = await import('bittorrent-tracker');
    const wrtc = await import('webrtc-polyfill');
    const infoHash = randomBytes(20).toString('hex');
    const announce = [`ws://127.0.0.1:${t.port}/announce`];
    type Peer = { on(e: string, cb: (x?: Uint8Array) => void): void; send(s: string): void };
    const received = (name: string) => {
      const c = new Client({ infoHash, peerId: randomBytes(20), announce, port: 6881, wrtc });
      c.on('warning', () => undefined);
      c.on('error', () => undefined);
      clients.push(c);
      return {
        client: c,
        message: new Promise<string>((resolve) => {
          c.on('peer', (p: Peer) => {
            p.on('connect', () => p.send(`hello from ${name}`));
            p.on('data', (d) => resolve(Buffer.from(d!).toString()));
            p.on('error', () => undefined);
          });
        }),
      };
    };
    const a = received('A');
    const b = received('B');
    // A first, B once A is in the swarm: B's offers then go to A, A's answer back to B.
    const aIn = new Promise((resolve) => a.client.once('update', resolve));
    a.client.start();
    await aIn;
    b.client.start();
    const bounded = <T>(p: Promise<T>) =>
      Promise.race([
        p,
        new Promise<T>((_, reject) => setTimeout(() => reject(new Error('no WebRTC peer in 90 s')), 90_000)),
      ]);
    expect(await bounded(a.message)).toBe('hello from B');
    expect(await bounded(b.message)).toBe('hello from A');
    const metrics = await t.tracker.metricsText();
    expect(metrics).toMatch(/swarmcast_tracker_webrtc_relays_total\{kind="offer"\} [1-9]/);
    expect(metrics).toMatch(/swarmcast_tracker_webrtc_relays_total\{kind="answer"\} [1-9]/);
  }, 120_000);
});
