import { request } from 'node:http';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FactBatchWriter,
  readFactBatch,
  readStoreBatch,
  StoreBatchWriter,
} from '../src/cluster/batch-codec.ts';
import { type RunningCluster, runTrackerCluster } from '../src/cluster/cluster-tracker.ts';
import { ReplicatedStore } from '../src/cluster/replicated-store.ts';
import type { AnnounceObservation } from '../src/core/tracker-core.ts';
import { MemorySwarmStore } from '../src/store/memory-store.ts';
import type { StoreAnnounce } from '../src/store/swarm-store.ts';
import type { InfoHash } from '../src/types.ts';
import { announceQuery, peerId, udpAnnounce, udpConnect } from './helpers/announce.ts';
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

describe('cluster batch records', () => {
  it('round-trip store announces (numwant 0 on the far side) and facts', () => {
    const w = new StoreBatchWriter();
    const a = storeAnnounce(7000, { seeder: true, event: 'completed' });
    const b = storeAnnounce(7001, {
      peerKey: 'ab'.repeat(20),
      peer: { kind: 'ws', compact: new Uint8Array(0), peerId: peerId('-WW0001-') },
    });
    w.add(a);
    w.add(b);
    const back = readStoreBatch(w.take()).map((x) => ({
      ...x,
      peer: { ...x.peer, compact: new Uint8Array(x.peer.compact), peerId: new Uint8Array(x.peer.peerId) },
    }));
    const plain = (x: StoreAnnounce) => ({
      ...x,
      peer: { ...x.peer, compact: new Uint8Array(x.peer.compact), peerId: new Uint8Array(x.peer.peerId) },
    });
    expect(back).toEqual([plain({ ...a, numwant: 0 }), plain({ ...b, numwant: 0 })]);
    expect(w.empty).toBe(true);

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

  it('a replica applying the accepted announces answers as the original does', async () => {
    const accepted: StoreAnnounce[] = [];
    const one = new ReplicatedStore(new MemorySwarmStore(), (a) => accepted.push(a));
    let sentByTwo = 0;
    const two = new ReplicatedStore(new MemorySwarmStore(), () => sentByTwo++);
    one.announceNow(storeAnnounce(7000, { seeder: true }));
    one.announceNow(storeAnnounce(7001));
    one.announceNow(storeAnnounce(7001, { event: 'stopped' }));
    const w = new StoreBatchWriter();
    for (const a of accepted) w.add(a);
    two.apply(readStoreBatch(w.take()));
    expect(sentByTwo).toBe(0); // applied announces are not sent on again
    expect(await two.scrape([hashHex])).toEqual(await one.scrape([hashHex]));
    const asked = two.announceNow(storeAnnounce(7002, { now: 2_000 }));
    expect('error' in asked ? [] : asked.peers.map((p) => Buffer.from(p.compact).toString('hex'))).toEqual([
      '7f0000011b58',
    ]);
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
  /** Announced port -> the worker that accepted it (from the primary's relay). */
  const acceptedBy = new Map<number, number>();
  const waiters = new Map<number, (worker: number) => void>();
  const facts: AnnounceObservation[] = [];
  const hash = Buffer.from(hashHex, 'hex');
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
      onReplicate: (worker, announces) => {
        for (const a of announces) {
          const port = Number(a.peerKey.split('|')[1]);
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

  it('a peer announced to one worker is handed out by the other', async () => {
    const seeder = await announceOnce(
      running.port,
      announceQuery({ infoHash: hash, port: 7000, left: 0, event: 'started' }),
    );
    expect(seeder.peers).toEqual([]);
    const first = await workerOf(7000);
    // Ask as new leechers, a burst at a time on fresh connections, until the other worker
    // has answered one of them with the seeder (bounded: 40 bursts of 10).
    let answeredByOther = 0;
    let withSeeder = 0;
    for (let burst = 0; burst < 40 && withSeeder === 0; burst++) {
      const ports = Array.from({ length: 10 }, (_, i) => 8000 + burst * 10 + i);
      const answers = await Promise.all(
        ports.map((port) =>
          announceOnce(
            running.port,
            announceQuery({ infoHash: hash, port, left: 100, peerId: peerId('-TS0001-', port) }),
          ),
        ),
      );
      for (const [i, port] of ports.entries()) {
        if ((await workerOf(port)) === first) continue;
        answeredByOther++;
        if (answers[i]!.peers.includes('7f0000011b58')) withSeeder++;
      }
    }
    expect(answeredByOther).toBeGreaterThan(0);
    expect(withSeeder).toBeGreaterThan(0);
    // Every accepted announce reached the one fact observer, in the primary.
    expect(facts.some((o) => o.request.event === 'started' && o.request.left === 0)).toBe(true);
  }, 60_000);

  it('a UDP connection id issued by one worker is accepted by the other', async () => {
    const client = await UdpTestClient.open(running.port);
    try {
      const reply = await client.request(udpConnect(1), 5_000);
      expect(reply?.readUInt32BE(0)).toBe(0);
      const connectionId = reply!.subarray(8, 16);
      const workers = new Set<number>();
      for (let i = 0; i < 300 && workers.size < 2; i++) {
        const port = 20_000 + i;
        const answer = await client.request(
          udpAnnounce({
            connectionId,
            transactionId: 100 + i,
            infoHash: hash,
            peerId: peerId('-TS0002-', i),
            port,
          }),
          5_000,
        );
        expect(answer?.readUInt32BE(0)).toBe(1); // action announce, not an error
        workers.add(await workerOf(port));
      }
      expect(workers.size).toBe(2);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('replaces a worker that died with one that starts from a live copy of the swarms', async () => {
    const [victim, survivor] = running.pids();
    expect(survivor).toBeGreaterThan(0);
    const replaced = new Promise<{ id: number; pid: number }>((resolve) => {
      workerReady = (id, pid) => resolve({ id, pid });
    });
    process.kill(victim!, 'SIGKILL');
    const fresh = await replaced;
    expect(fresh.pid).not.toBe(victim);
    expect(running.pids().sort()).toEqual([survivor!, fresh.pid].sort());
    // The first answers of the new worker already hand out the seeder announced at the start.
    let answeredByFresh = 0;
    for (let burst = 0; burst < 40 && answeredByFresh === 0; burst++) {
      const ports = Array.from({ length: 10 }, (_, i) => 30_000 + burst * 10 + i);
      const answers = await Promise.all(
        ports.map((port) =>
          announceOnce(
            running.port,
            announceQuery({ infoHash: hash, port, left: 5, peerId: peerId('-TS0003-', port) }),
          ),
        ),
      );
      for (const [i, port] of ports.entries()) {
        if ((await workerOf(port)) !== fresh.id) continue;
        answeredByFresh++;
        expect(answers[i]!.peers).toContain('7f0000011b58');
      }
    }
    expect(answeredByFresh).toBeGreaterThan(0);
  }, 60_000);
});
