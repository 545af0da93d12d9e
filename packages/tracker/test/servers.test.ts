import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { encodeBindingRequest, ManualClock, mappedAddressOf } from '@swarmcast/platform';
import { requireBinaries } from '@swarmcast/testkit';
import bencode from 'bencode';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackerPlugin } from '../src/server/fastify-plugin.ts';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { Tracker } from '../src/tracker.ts';
import { announceQuery, peerId, udpAnnounce, udpConnect } from './helpers/announce.ts';
import { UdpTestClient } from './helpers/udp-client.ts';

function failure(body: Uint8Array): string | null {
  const d = bencode.decode(body) as Record<string, Uint8Array>;
  return d['failure reason'] ? Buffer.from(d['failure reason']).toString() : null;
}

describe('standalone tracker on real sockets', () => {
  let t: RunningTracker;
  let base: string;
  let udp: UdpTestClient;
  beforeAll(async () => {
    t = await runStandaloneTracker({ port: 0, host: '127.0.0.1', rateLimit: { perSecond: 50, burst: 400 } });
    base = `http://127.0.0.1:${t.port}`;
    udp = await UdpTestClient.open(t.port);
  });
  afterAll(async () => {
    await udp?.close();
    await t?.close();
  });

  it('serves announce, scrape, stats and metrics over HTTP', async () => {
    const hash = new Uint8Array(20).fill(0x42);
    const a = await fetch(
      `${base}/announce?${announceQuery({ infoHash: hash, left: 0, event: 'started', port: 7000 })}`,
    );
    expect(a.status).toBe(200);
    const body = bencode.decode(new Uint8Array(await a.arrayBuffer())) as Record<string, unknown>;
    expect(body.complete).toBe(1);
    const b = await fetch(
      `${base}/announce?${announceQuery({ infoHash: hash, left: 10, port: 7001, peerId: peerId('-TR3000-') })}`,
    );
    const peers = (bencode.decode(new Uint8Array(await b.arrayBuffer())) as { peers: Uint8Array }).peers;
    expect(Buffer.from(peers).toString('hex')).toBe('7f0000011b58');
    const s = await fetch(`${base}/scrape?info_hash=${'%42'.repeat(20)}`);
    const files = (
      bencode.decode(new Uint8Array(await s.arrayBuffer())) as { files: Record<string, unknown> }
    ).files;
    expect(Object.values(files)).toEqual([{ complete: 1, downloaded: 0, incomplete: 1 }]);
    const stats = (await (await fetch(`${base}/stats`)).json()) as { torrents: unknown[] };
    expect(stats.torrents).toContainEqual({
      infoHash: '42'.repeat(20),
      seeders: 1,
      leechers: 1,
      completed: 0,
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/swarmcast_tracker_announces_total\{transport="http"\} 2/);
    expect(metrics).toMatch(/swarmcast_tracker_peers 2/);
  });

  it.each([
    ['an empty query', '', 'invalid info_hash (must be 20 bytes)'],
    ['garbage', '&&&===%%%', 'invalid info_hash (must be 20 bytes)'],
    ['a broken escape', `info_hash=%G1${'a'.repeat(18)}`, 'invalid info_hash (must be 20 bytes)'],
    [
      'a 19-byte hash',
      announceQuery({ infoHash: new Uint8Array(19) }),
      'invalid info_hash (must be 20 bytes)',
    ],
    [
      'a 40-byte hash',
      announceQuery({ infoHash: new Uint8Array(40) }),
      'invalid info_hash (must be 20 bytes)',
    ],
    ['an unknown event', announceQuery({ event: 'boom' }), 'invalid event'],
    ['a 10 kB query', `${announceQuery({})}&x=${'y'.repeat(10_000)}`, null],
  ])('answers %s with a failure reason, not a crash', async (_n, query, reason) => {
    const r = await fetch(`${base}/announce?${query}`);
    expect(r.status).toBe(200);
    expect(failure(new Uint8Array(await r.arrayBuffer()))).toBe(reason);
  });

  it('answers a huge numwant with at most 200 peers', async () => {
    const hash = new Uint8Array(20).fill(0x43);
    for (let p = 1; p <= 250; p++)
      await t.tracker.core.announce({
        type: 'announce',
        transport: 'http',
        infoHash: '43'.repeat(20) as never,
        peerId: peerId('-AR-', p),
        ip: '10.1.0.1',
        port: p,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: 'started',
        numwant: 0,
        compact: true,
        noPeerId: true,
        passkey: null,
        key: null,
        userAgent: null,
      });
    const r = await fetch(`${base}/announce?${announceQuery({ infoHash: hash, numwant: '4294967296000' })}`);
    const body = bencode.decode(new Uint8Array(await r.arrayBuffer())) as { peers: Uint8Array };
    expect(body.peers.length).toBe(200 * 6);
  });

  it('speaks BEP 15: connect, announce, scrape', async () => {
    const c = (await udp.request(udpConnect(11)))!;
    expect(c.readUInt32BE(0)).toBe(0);
    expect(c.readUInt32BE(4)).toBe(11);
    const connectionId = c.subarray(8, 16);
    const hash = new Uint8Array(20).fill(0x44);
    const a = (await udp.request(
      udpAnnounce({ connectionId, transactionId: 12, infoHash: hash, peerId: peerId(), left: 0n }),
    ))!;
    expect([a.readUInt32BE(0), a.readUInt32BE(4), a.readUInt32BE(16)]).toEqual([1, 12, 1]);
    const scrape = Buffer.concat([connectionId, Buffer.from([0, 0, 0, 2, 0, 0, 0, 13]), hash]);
    const s = (await udp.request(scrape))!;
    expect([s.readUInt32BE(0), s.readUInt32BE(4), s.readUInt32BE(8)]).toEqual([2, 13, 1]);
  });

  it('is silent on short packets and forged or stale connection ids, and answers unknown actions', async () => {
    expect(await udp.request(Buffer.alloc(8), 200)).toBeNull();
    expect(await udp.request(Buffer.alloc(0), 200)).toBeNull();
    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(9, 8);
    unknown.writeUInt32BE(99, 12);
    const e1 = (await udp.request(unknown))!;
    expect([e1.readUInt32BE(0), e1.readUInt32BE(4), e1.subarray(8).toString()]).toEqual([
      3,
      99,
      'unknown action',
    ]);
    const stale = udpAnnounce({
      connectionId: Buffer.alloc(8, 1),
      transactionId: 5,
      infoHash: new Uint8Array(20),
      peerId: peerId(),
    });
    // No answer: an error would be larger than the request (an amplifier for forged sources).
    expect(await udp.request(stale, 300)).toBeNull();
    const scrape = Buffer.concat([
      Buffer.alloc(8, 2),
      Buffer.from([0, 0, 0, 2, 0, 0, 0, 6]),
      new Uint8Array(20),
    ]);
    expect(await udp.request(scrape, 300)).toBeNull();
    // Still alive after all that.
    expect((await udp.request(udpConnect(1)))?.length).toBe(16);
  });

  it('answers STUN binding requests on the tracker port (demultiplexed by the magic cookie)', async () => {
    const tid = new Uint8Array(12).fill(7);
    const res = await udp.request(encodeBindingRequest(tid));
    expect(res && mappedAddressOf(res)?.address).toBe('127.0.0.1');
    // The tracker still speaks BEP 15 on the same port.
    expect((await udp.request(udpConnect(3)))?.length).toBe(16);
  });

  const stunClient = requireBinaries('STUN binding with a real client', 'turnutils_stunclient');
  it.skipIf(stunClient.skip)("gives coturn's STUN client its reflexive address", async () => {
    const { stdout } = await promisify(execFile)(
      'turnutils_stunclient',
      ['-p', String(t.port), '127.0.0.1'],
      {
        timeout: 20_000,
      },
    );
    expect(stdout).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  it('rate-limits an announce flood from one address and keeps serving', async () => {
    // Its own tracker on a clock that stands still: the bucket never refills, so exactly the
    // announces past the burst are refused however slowly this (shared) machine sends them.
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const own = await runStandaloneTracker({
      port: 0,
      host: '127.0.0.1',
      clock,
      rateLimit: { perSecond: 50, burst: 400 },
    });
    const client = await UdpTestClient.open(own.port);
    try {
      const hash = new Uint8Array(20).fill(0x45);
      const c = (await client.request(udpConnect(21)))!;
      const connectionId = c.subarray(8, 16);
      let limited = 0;
      let answered = 0;
      for (let i = 0; i < 600; i++) {
        const r = await client.request(
          udpAnnounce({
            connectionId,
            transactionId: i,
            infoHash: hash,
            peerId: peerId('-X-', i),
            port: 1 + i,
          }),
        );
        if (r && r.readUInt32BE(0) === 3 && r.subarray(8).toString().startsWith('too many')) limited++;
        else if (r && r.readUInt32BE(0) === 1) answered++;
      }
      expect(answered).toBe(400);
      expect(limited).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${own.port}/metrics`)).text();
      expect(metrics).toMatch(/code="TRK_RATE_LIMITED"/);
      // Time passing refills the bucket: one second buys 50 announces.
      clock.advance(1000);
      const again = await client.request(
        udpAnnounce({
          connectionId,
          transactionId: 999,
          infoHash: hash,
          peerId: peerId('-X-', 999),
          port: 999,
        }),
      );
      expect(again?.readUInt32BE(0)).toBe(1);
    } finally {
      await client.close();
      await own.close();
    }
  });
});

describe('Fastify plugin', () => {
  it('mounts the same routes (inject)', async () => {
    const tracker = new Tracker({ rateLimit: null });
    const app = Fastify();
    await app.register(trackerPlugin, { tracker });
    const r = await app.inject({ method: 'GET', url: `/announce?${announceQuery({ left: 0 })}` });
    expect(r.statusCode).toBe(200);
    expect((bencode.decode(r.rawPayload) as Record<string, number>).complete).toBe(1);
    const bad = await app.inject({ method: 'GET', url: '/announce?info_hash=%00' });
    expect(failure(bad.rawPayload)).toBe('invalid info_hash (must be 20 bytes)');
    const privateKey = await app.inject({
      method: 'GET',
      url: `/abcdefgh1234/announce?${announceQuery({})}`,
    });
    expect(privateKey.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
    await app.close();
    await tracker.close();
  });
});

describe('memory stays bounded', () => {
  it('holds no more than its caps under a flood of distinct torrents and peers', async () => {
    const { MemorySwarmStore } = await import('../src/store/memory-store.ts');
    const store = new MemorySwarmStore({ maxTorrents: 1000, maxPeers: 5000 });
    const tracker = new Tracker({ store, rateLimit: null });
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const h = Buffer.alloc(20);
      h.writeUInt32BE(i % 3000, 0);
      const r = await tracker.core.announce({
        type: 'announce',
        transport: 'udp',
        infoHash: h.toString('hex') as never,
        peerId: peerId('-X-', i),
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 1000,
        uploaded: 0,
        downloaded: 0,
        left: 1,
        event: 'started',
        numwant: 50,
        compact: true,
        noPeerId: true,
        passkey: null,
        key: null,
        userAgent: null,
      });
      if ('error' in r) refused++;
    }
    const stats = await store.stats();
    expect(stats.torrents).toBeLessThanOrEqual(1000);
    expect(stats.peers).toBeLessThanOrEqual(5000);
    expect(refused).toBe(15_000);
    await tracker.close();
  });
});
