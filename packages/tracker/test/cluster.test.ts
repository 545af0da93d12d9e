import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnnounceFact } from '@swarmcast/platform';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FactBatchWriter,
  Reader,
  readFactBatch,
  readStoreAnnounce,
  readStoreResult,
  Writer,
  writeStoreAnnounce,
  writeStoreResult,
} from '../src/cluster/batch-codec.ts';
import { type RunningCluster, runTrackerCluster } from '../src/cluster/cluster-tracker.ts';
import { PartitionedStore, partitionOf, partitionOfBytes } from '../src/cluster/partitioned-store.ts';
import { StoreLink, serveStorePartition } from '../src/cluster/store-link.ts';
import { udpAnnounceInfoHashOffset } from '../src/codec/udp.ts';
import { TrackerMetrics } from '../src/core/metrics.ts';
import { type AnnounceObservation, TrackerCore } from '../src/core/tracker-core.ts';
import { trackerError } from '../src/errors.ts';
import { openFactStream } from '../src/facts/open-facts.ts';
import { MemorySwarmStore } from '../src/store/memory-store.ts';
import type { StoreAnnounce, StoreAnnounceResult } from '../src/store/swarm-store.ts';
import type { InfoHash } from '../src/types.ts';
import { announceQuery, randomHash as hash20, peerId, udpAnnounce, udpConnect } from './helpers/announce.ts';
import { UdpTestClient } from './helpers/udp-client.ts';

const hashHex = '17'.repeat(20) as InfoHash;

function storeAnnounce(port: number, over: Partial<StoreAnnounce> = {}): StoreAnnounce {
  return {
    infoHash: hashHex,
    peerKey: `127.0.0.1|${port}`,
    peer: {
      kind: 'tcp',
      compact: Uint8Array.from([127, 0, 0, 1, port >> 8, port & 0xff]),
      peerId: peerId('-TS0001-', port),
    },
    seeder: false,
    event: 'started',
    uploaded: 5,
    downloaded: 7,
    numwant: 50,
    now: 1_000,
    ttlMs: 60_000,
    ...over,
  };
}

/** Byte arrays as hex, recursively (decoded ones are views of one buffer, Buffers or not). */
function plainBytes(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (Array.isArray(x)) return x.map(plainBytes);
  if (x && typeof x === 'object')
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plainBytes(v)]));
  return x;
}

/** The first info-hash (counting up from `seed`) that partition `owner` of `n` owns. */
function hashOwnedBy(owner: number, n: number, seed = 0): InfoHash {
  for (let i = seed; ; i++) {
    const h = (i.toString(16).padStart(8, '0') + 'ab'.repeat(16)) as InfoHash;
    if (partitionOf(h, n) === owner) return h;
  }
}

describe('cluster records', () => {
  it('round-trip a store announce, its answers and facts', () => {
    const w = new Writer();
    const a = storeAnnounce(7000, { seeder: true, event: 'completed', packed: true, numwant: 200 });
    const b = storeAnnounce(7001, {
      peerKey: 'ab'.repeat(20),
      peer: { kind: 'ws', compact: new Uint8Array(0), peerId: peerId('-WW0001-') },
      packed: false,
      numwant: 0,
    });
    expect(writeStoreAnnounce(w, a)).toBe(true);
    expect(writeStoreAnnounce(w, b)).toBe(true);
    const r = new Reader(w.take());
    expect(plainBytes([readStoreAnnounce(r), readStoreAnnounce(r)])).toEqual(plainBytes([a, b]));
    expect(r.done).toBe(true);

    const ok: StoreAnnounceResult = {
      complete: 3,
      incomplete: 4,
      downloaded: 5,
      previous: { uploaded: 10, downloaded: 20 },
      packed: { v4: Uint8Array.from([1, 2, 3, 4, 5, 6]), v6: new Uint8Array(18).fill(7) },
      peers: [],
    };
    const records: StoreAnnounceResult = {
      complete: 0,
      incomplete: 1,
      downloaded: 0,
      previous: null,
      packed: undefined,
      peers: [
        { kind: 'ws', compact: new Uint8Array(0), peerId: peerId('-WW0001-', 1) },
        { kind: 'tcp', compact: Uint8Array.from([127, 0, 0, 1, 0, 80]), peerId: peerId('-qB4520-', 2) },
      ],
    };
    for (const res of [ok, records, trackerError('TRK_FULL')]) writeStoreResult(w, res);
    const rr = new Reader(w.take());
    expect(plainBytes([readStoreResult(rr), readStoreResult(rr), readStoreResult(rr)])).toEqual(
      plainBytes([ok, records, trackerError('TRK_FULL')]),
    );

    const f = new FactBatchWriter();
    const o: AnnounceObservation = {
      time: 123,
      uploadedDelta: 10,
      downloadedDelta: 20,
      request: {
        type: 'announce',
        transport: 'udp',
        infoHash: hashHex,
        peerId: peerId('-qB4520-'),
        ip: '2001:db8::1',
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 42,
        event: 'stopped',
        numwant: 0,
        compact: true,
        noPeerId: false,
        passkey: null,
        key: null,
        userAgent: 'qBittorrent/4.5.2 é',
      },
    };
    f.add(o);
    f.add({ ...o, request: { ...o.request, userAgent: null, transport: 'ws', event: 'update' } });
    const [x, y] = readFactBatch(f.take());
    for (const [got, want] of [
      [x!, o],
      [
        y!,
        {
          ...o,
          request: { ...o.request, userAgent: null, transport: 'ws' as const, event: 'update' as const },
        },
      ],
    ] as const) {
      expect(got.time).toBe(want.time);
      expect(got.uploadedDelta).toBe(10);
      expect(got.downloadedDelta).toBe(20);
      const { ip, userAgent, infoHash, event, left, peerId: id, transport } = got.request;
      expect({ ip, userAgent, infoHash, event, left, peerId: new Uint8Array(id), transport }).toEqual({
        ip: want.request.ip,
        userAgent: want.request.userAgent,
        infoHash: want.request.infoHash,
        event: want.request.event,
        left: want.request.left,
        peerId: new Uint8Array(want.request.peerId),
        transport: want.request.transport,
      });
    }
  });
});

describe('partitioned swarms over store links (two workers in one process)', () => {
  let dir: string;
  const parts: { close(): Promise<void> }[] = [];
  const stores: PartitionedStore[] = [];
  const locals = [new MemorySwarmStore(), new MemorySwarmStore()];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trk-part-'));
    for (const [i, local] of locals.entries())
      parts.push(await serveStorePartition(join(dir, `${i}.sock`), local));
    for (const i of [0, 1]) {
      const links = [0, 1].map((j) => (j === i ? null : new StoreLink(join(dir, `${j}.sock`))));
      stores.push(new PartitionedStore(locals[i]!, i, links));
    }
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const p of parts) await p.close();
    await rm(dir, { recursive: true, force: true });
  });

  const hexPeers = (r: Awaited<ReturnType<PartitionedStore['announce']>>): string[] => {
    if ('error' in r) throw new Error(r.error);
    const v4 = Buffer.from(r.packed?.v4 ?? new Uint8Array(0)).toString('hex');
    return [...(v4.match(/.{12}/g) ?? []), ...r.peers.map((p) => Buffer.from(p.compact).toString('hex'))];
  };

  it('a peer announced through one worker is handed out by the other, whichever owns the swarm', async () => {
    for (const owner of [0, 1]) {
      const infoHash = hashOwnedBy(owner, 2);
      const other = 1 - owner;
      // Through the worker that does not own it: stored once, at the owner only.
      expect(stores[other]!.announceNow(storeAnnounce(7000, { infoHash, seeder: true }))).toBeUndefined();
      const seeded = await stores[other]!.announce(storeAnnounce(7000, { infoHash, seeder: true }));
      expect(hexPeers(seeded)).toEqual([]);
      expect((await locals[owner]!.stats()).peers).toBeGreaterThan(0);
      expect((await locals[other]!.scrape([infoHash])).get(infoHash)!.complete).toBe(0);
      // Asked through the owner (answered in memory) and through the other (forwarded).
      const viaOwner = stores[owner]!.announceNow(storeAnnounce(7001, { infoHash, packed: true }));
      expect(viaOwner && hexPeers(viaOwner)).toEqual(['7f0000011b58']);
      const viaOther = await stores[other]!.announce(storeAnnounce(7002, { infoHash, packed: true }));
      expect(hexPeers(viaOther).sort()).toEqual(['7f0000011b58', '7f0000011b59']);
      // Records (not packed) and the previous counters come back too.
      const again = await stores[other]!.announce(
        storeAnnounce(7002, { infoHash, uploaded: 9, event: 'update' }),
      );
      if ('error' in again) throw new Error(again.error);
      expect(again.previous).toEqual({ uploaded: 5, downloaded: 7 });
      expect(again.peers.map((p) => Buffer.from(p.peerId).toString('hex')).sort()).toEqual(
        [peerId('-TS0001-', 7000), peerId('-TS0001-', 7001)]
          .map((p) => Buffer.from(p).toString('hex'))
          .sort(),
      );
    }
  });

  it('scrape, torrents and stats cover every partition, scrape in the order asked', async () => {
    const h0 = hashOwnedBy(0, 2, 1000);
    const h1 = hashOwnedBy(1, 2, 1000);
    const unknown = hashOwnedBy(1, 2, 5000);
    await stores[0]!.announce(storeAnnounce(8000, { infoHash: h0, seeder: true }));
    await stores[0]!.announce(storeAnnounce(8001, { infoHash: h1 }));
    await stores[0]!.announce(storeAnnounce(8002, { infoHash: h1 }));
    for (const s of stores) {
      const scraped = await s.scrape([h1, unknown, h0]);
      expect([...scraped]).toEqual([
        [h1, { complete: 0, incomplete: 2, downloaded: 0 }],
        [unknown, { complete: 0, incomplete: 0, downloaded: 0 }],
        [h0, { complete: 1, incomplete: 0, downloaded: 0 }],
      ]);
      const all = [await locals[0]!.stats(), await locals[1]!.stats()];
      expect(await s.stats()).toEqual({
        torrents: all[0]!.torrents + all[1]!.torrents,
        peers: all[0]!.peers + all[1]!.peers,
      });
      const top = await s.torrents(1000);
      expect(top.map((t) => t.infoHash)).toEqual(expect.arrayContaining([h0, h1]));
      expect(top.length).toBe(all[0]!.torrents + all[1]!.torrents);
    }
  });

  it('an owner that is not listening yet is waited for; one that never comes fails the announce as unavailable', async () => {
    const late = join(dir, 'late.sock');
    const local = new MemorySwarmStore();
    const link = new StoreLink(late, 10_000);
    const infoHash = hashOwnedBy(1, 2);
    const answer = link.announce(storeAnnounce(9000, { infoHash }));
    // Started only once the request is waiting (its first connects were refused).
    await new Promise((r) => setTimeout(r, 120));
    const part = await serveStorePartition(late, local);
    const got = await answer;
    expect('error' in got).toBe(false);
    expect((await local.stats()).peers).toBe(1);
    link.close();
    await part.close();

    const never = new StoreLink(join(dir, 'never.sock'), 200);
    const core = new TrackerCore({
      store: new PartitionedStore(new MemorySwarmStore(), 0, [null, never]),
      clock: { now: () => 1_000 },
      metrics: new TrackerMetrics(),
    });
    const refused = await core.announce({
      type: 'announce',
      transport: 'udp',
      infoHash,
      peerId: peerId(),
      ip: '127.0.0.1',
      port: 9001,
      uploaded: 0,
      downloaded: 0,
      left: 1,
      event: 'started',
      numwant: 50,
      compact: true,
      noPeerId: false,
      passkey: null,
      key: null,
      userAgent: null,
    });
    expect(refused).toEqual(trackerError('TRK_STORE_UNAVAILABLE'));
    never.close();
  });

  it('a UDP datagram handed to the owner arrives whole, with its sender', async () => {
    const path = join(dir, 'dgram.sock');
    const got: [string, string, number][] = [];
    let arrived: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const part = await serveStorePartition(path, new MemorySwarmStore(), (packet, address, port) => {
      got.push([packet.toString('hex'), address, port]);
      if (got.length === 2) arrived();
    });
    const link = new StoreLink(path);
    const packet = udpAnnounce({
      connectionId: Buffer.alloc(8, 1),
      transactionId: 7,
      infoHash: hash20(),
      peerId: peerId(),
    });
    link.datagram(packet, '127.0.0.1', 40_000);
    link.datagram(packet.subarray(0, 20), '2001:db8::1', 1);
    await all;
    expect(got).toEqual([
      [packet.toString('hex'), '127.0.0.1', 40_000],
      [packet.subarray(0, 20).toString('hex'), '2001:db8::1', 1],
    ]);
    link.close();
    await part.close();
  });

  it('partitionOfBytes reads the partition partitionOf gives, from a datagram', () => {
    for (let i = 0; i < 200; i++) {
      const h = hash20();
      const packet = udpAnnounce({
        connectionId: Buffer.alloc(8),
        transactionId: i,
        infoHash: h,
        peerId: peerId(),
      });
      const at = udpAnnounceInfoHashOffset(packet);
      expect(at).toBe(16);
      for (const n of [1, 2, 3, 7])
        expect(partitionOfBytes(packet, at!, n)).toBe(
          partitionOf(Buffer.from(h).toString('hex') as InfoHash, n),
        );
    }
    // Not an announce, or too short to be one: not peeked at.
    expect(udpAnnounceInfoHashOffset(udpConnect(1))).toBeNull();
    expect(udpAnnounceInfoHashOffset(Buffer.alloc(97))).toBeNull();
  });

  it('a partition drops a connection that sends what is not frames, and keeps serving', async () => {
    const path = join(dir, '0.sock');
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'), // a length far past the bound
      Buffer.from([5, 0, 0, 0, 9, 1, 0, 0, 0]), // an unknown op
      Buffer.from([9, 0, 0, 0, 1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), // a truncated announce
      Buffer.from([6, 0, 0, 0, 3, 1, 0, 0, 0, 0x7b]), // a call that is not JSON
      Buffer.from([8, 0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 200]), // a datagram whose address runs past the frame
    ]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect(path, () => s.write(garbage));
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
      });
      expect(closed).toBe(true);
    }
    const infoHash = hashOwnedBy(0, 2, 7000);
    expect(hexPeers(await stores[1]!.announce(storeAnnounce(9100, { infoHash })))).toEqual([]);
  });
});

/** One HTTP announce on its own connection (no keep-alive: the kernel picks the worker). */
function announceOnce(port: number, query: string): Promise<{ peers: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: `/announce?${query}`, agent: false, headers: { connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = bencode.decode(Buffer.concat(chunks)) as { peers?: Uint8Array };
          const peers = Buffer.from(body.peers ?? new Uint8Array(0)).toString('hex');
          resolve({ peers: peers.match(/.{12}/g) ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the tracker on two workers', () => {
  let running: RunningCluster;
  /** Announced port -> the worker that accepted it (from the observations it sent). */
  const acceptedBy = new Map<number, number>();
  const waiters = new Map<number, (worker: number) => void>();
  const facts: AnnounceObservation[] = [];
  let workerReady: (workerId: number, pid: number) => void = () => undefined;

  const workerOf = (port: number): Promise<number> =>
    new Promise((resolve) => {
      const known = acceptedBy.get(port);
      if (known !== undefined) resolve(known);
      else waiters.set(port, resolve);
    });

  beforeAll(async () => {
    running = await runTrackerCluster({
      port: 0,
      host: '127.0.0.1',
      workers: 2,
      rateLimit: null,
      observer: { observe: (o) => facts.push(o) },
      onWorkerReady: (id, pid) => workerReady(id, pid),
      onObserved: (worker, observations) => {
        for (const o of observations) {
          // The tests give every peer an id ending in its port.
          const port = Buffer.from(o.request.peerId).readUInt32BE(16);
          acceptedBy.set(port, worker);
          waiters.get(port)?.(worker);
          waiters.delete(port);
        }
      },
    });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  /**
   * Announces `seederPort` as a seeder of `infoHash`, then new leechers, a burst at a time on
   * fresh connections (the kernel picks the worker), until a worker other than the one that
   * took the seeder has answered one (bounded: 40 bursts of 10). Every leecher answered by
   * the other worker must have the seeder.
   */
  async function seederSeenAcrossWorkers(infoHash: Uint8Array, seederPort: number, firstPort: number) {
    const seederHex = `7f000001${seederPort.toString(16).padStart(4, '0')}`;
    const seeder = await announceOnce(
      running.port,
      announceQuery({
        infoHash,
        port: seederPort,
        left: 0,
        event: 'started',
        peerId: peerId('-TS0001-', seederPort),
      }),
    );
    expect(seeder.peers).not.toContain(seederHex);
    const first = await workerOf(seederPort);
    let answeredByOther = 0;
    for (let burst = 0; burst < 40 && answeredByOther === 0; burst++) {
      const ports = Array.from({ length: 10 }, (_, i) => firstPort + burst * 10 + i);
      const answers = await Promise.all(
        ports.map((port) =>
          announceOnce(
            running.port,
            announceQuery({ infoHash, port, left: 100, peerId: peerId('-TS0001-', port) }),
          ),
        ),
      );
      for (const [i, port] of ports.entries()) {
        if ((await workerOf(port)) === first) continue;
        answeredByOther++;
        expect(answers[i]!.peers).toContain(seederHex);
      }
    }
    expect(answeredByOther).toBeGreaterThan(0);
  }

  it('a peer announced to one worker is handed out by the other, for swarms of either partition', async () => {
    // One swarm per partition: whichever worker takes the seeder, one of the two hops crosses.
    await seederSeenAcrossWorkers(Buffer.from(hashOwnedBy(0, 2), 'hex'), 7000, 8000);
    await seederSeenAcrossWorkers(Buffer.from(hashOwnedBy(1, 2), 'hex'), 7001, 9000);
    // Every accepted announce reached the one fact observer, in the primary.
    expect(facts.some((o) => o.request.event === 'started' && o.request.left === 0)).toBe(true);
  }, 60_000);

  it('a UDP connection id issued by one worker is accepted by the other', async () => {
    const client = await UdpTestClient.open(running.port);
    try {
      const reply = await client.request(udpConnect(1), 5_000);
      expect(reply?.readUInt32BE(0)).toBe(0);
      const connectionId = reply!.subarray(8, 16);
      // A UDP announce is answered by its swarm's owner, whichever worker read it (it is
      // handed over): swarms of both partitions, so both workers answer with the id one of
      // them issued, and each swarm's announces are all answered by one worker.
      const workers = new Set<number>();
      const answeredBy = [new Set<number>(), new Set<number>()];
      for (let i = 0; i < 40; i++) {
        const port = 20_000 + i;
        const answer = await client.request(
          udpAnnounce({
            connectionId,
            transactionId: 100 + i,
            infoHash: Buffer.from(hashOwnedBy(i % 2, 2, 200), 'hex'),
            peerId: peerId('-TS0002-', port),
            port,
          }),
          5_000,
        );
        expect(answer?.readUInt32BE(0)).toBe(1); // action announce, not an error
        const worker = await workerOf(port);
        workers.add(worker);
        answeredBy[i % 2]!.add(worker);
      }
      expect(workers.size).toBe(2);
      expect(answeredBy.map((s) => s.size)).toEqual([1, 1]);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('UDP and HTTP peers of one swarm meet, whichever worker reads the datagram', async () => {
    const client = await UdpTestClient.open(running.port);
    try {
      const connectionId = (await client.request(udpConnect(2), 5_000))!.subarray(8, 16);
      for (const owner of [0, 1]) {
        const infoHash = Buffer.from(hashOwnedBy(owner, 2, 300), 'hex');
        const seederPort = 21_000 + owner;
        const seeded = await client.request(
          udpAnnounce({
            connectionId,
            transactionId: 1,
            infoHash,
            peerId: peerId('-TS0004-', seederPort),
            port: seederPort,
            left: 0n,
          }),
          5_000,
        );
        expect(seeded?.readUInt32BE(0)).toBe(1);
        const seederHex = `7f000001${seederPort.toString(16)}`;
        // HTTP leechers on fresh connections (either worker) get the UDP seeder ...
        for (let i = 0; i < 6; i++) {
          const port = 22_000 + owner * 100 + i;
          const http = await announceOnce(
            running.port,
            announceQuery({ infoHash, port, left: 10, peerId: peerId('-TS0004-', port) }),
          );
          expect(http.peers).toContain(seederHex);
        }
        // ... and UDP leechers (datagrams read by either worker) get the seeder and them.
        for (let i = 0; i < 6; i++) {
          const port = 23_000 + owner * 100 + i;
          const answer = await client.request(
            udpAnnounce({
              connectionId,
              transactionId: 10 + i,
              infoHash,
              peerId: peerId('-TS0004-', port),
              port,
            }),
            5_000,
          );
          expect(answer?.readUInt32BE(0)).toBe(1);
          const peers = answer!.subarray(20).toString('hex').match(/.{12}/g) ?? [];
          expect(peers).toContain(seederHex);
          expect(peers).toContain(`7f000001${(22_000 + owner * 100).toString(16)}`);
        }
      }
    } finally {
      await client.close();
    }
  }, 60_000);

  it('replaces a worker that died; the replacement owns its partition and the swarms work across workers again', async () => {
    const [victim, survivor] = running.pids();
    expect(survivor).toBeGreaterThan(0);
    const replaced = new Promise<{ id: number; pid: number }>((resolve) => {
      workerReady = (id, pid) => resolve({ id, pid });
    });
    process.kill(victim!, 'SIGKILL');
    const fresh = await replaced;
    expect(fresh.pid).not.toBe(victim);
    expect(running.pids().sort()).toEqual([survivor!, fresh.pid].sort());
    // The dead worker's partition starts empty (its peers come back with their next
    // announce); from now on both partitions serve both workers again.
    await seederSeenAcrossWorkers(Buffer.from(hashOwnedBy(0, 2, 100), 'hex'), 7002, 30_000);
    await seederSeenAcrossWorkers(Buffer.from(hashOwnedBy(1, 2, 100), 'hex'), 7003, 31_000);
  }, 60_000);
});

describe('announce facts from two workers', () => {
  it('each worker publishes the facts of what it answered into the one embedded stream, keyed with the shared salts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmcast-cluster-facts-'));
    const facts = {
      stream: {
        natsUrl: null,
        dataDir: dir,
        streamName: 'unused',
        subjectPrefix: 'unused',
        consumerPrefix: '',
      },
      salts: { redisUrl: null, dataDir: dir, redisPrefix: null },
      datacenterRanges: null,
    };
    const stream = await openFactStream(facts.stream);
    let cluster: RunningCluster | null = null;
    try {
      cluster = await runTrackerCluster({
        port: 0,
        host: '127.0.0.1',
        workers: 2,
        rateLimit: null,
        facts,
        factStream: stream,
      });
      const client = await UdpTestClient.open(cluster.port);
      const announced: InfoHash[] = [];
      try {
        const connectionId = (await client.request(udpConnect(1), 5_000))!.subarray(8, 16);
        // Swarms of both partitions: each worker answers (and makes the facts of) its own.
        for (let i = 0; i < 20; i++) {
          const infoHash = hashOwnedBy(i % 2, 2, 400);
          const answer = await client.request(
            udpAnnounce({
              connectionId,
              transactionId: i,
              infoHash: Buffer.from(infoHash, 'hex'),
              peerId: peerId('-TS0005-', 40_000 + i),
              port: 40_000 + i,
            }),
            5_000,
          );
          expect(answer?.readUInt32BE(0)).toBe(1);
          announced.push(infoHash);
        }
      } finally {
        await client.close();
      }
      // Closing waits for each worker's last facts to be appended.
      await cluster.close();
      cluster = null;
      const seen: AnnounceFact[] = [];
      const all = new Promise<void>((resolve) => {
        void stream.consume('cluster-facts-test', async (events) => {
          for (const e of events) seen.push(e.data as AnnounceFact);
          if (seen.length >= announced.length) resolve();
        });
      });
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
      expect(seen.map((f) => f.infoHash).sort()).toEqual([...announced].sort());
      expect(new Set(seen.map((f) => f.id)).size).toBe(announced.length);
      // Two publishers (ids are <process nonce>-<sequence>), one audience key for one
      // address on one day: the workers share the salt files.
      expect(new Set(seen.map((f) => f.id.split('-')[0])).size).toBe(2);
      expect(new Set(seen.map((f) => f.audienceKey)).size).toBe(1);
      expect(seen.every((f) => f.kind === 'announce' && f.transport === 'udp')).toBe(true);
    } finally {
      await cluster?.close();
      await stream.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
