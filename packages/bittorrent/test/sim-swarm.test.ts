import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MetadataFetcher } from '../src/extensions/index.ts';
import { type LinkSpec, SimSwarm, type SimSwarmNode } from '../src/sim/index.ts';
import { simSeed, simTorrent, withSeed } from './sim-helpers.ts';

/**
 * Deterministic virtual-time swarms of our TorrentSession (STYLE.md "Deterministic swarm
 * simulation"). Each test prints nothing when it passes and its seed when it fails; replay
 * with SIM_SEED=<seed>. Sizes are small: every test runs in well under a second of real time.
 */
const fast: LinkSpec = { up: 4_000_000, down: 8_000_000, latencyMs: 10 };
const KiB = 1024;

async function sameBytes(swarm: SimSwarm, name: string): Promise<boolean> {
  const n = swarm.node(name);
  const got = await n.storage.read(0, swarm.torrent.content.length);
  return Buffer.from(got).equals(Buffer.from(swarm.torrent.content));
}

describe('simulated swarm', () => {
  it('one seed and five leechers on mixed links with loss all complete, byte for byte', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(1_000_000, 64 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: fast },
        { name: 'a', seed: false, link: fast },
        { name: 'b', seed: false, link: { up: 300_000, down: 2_000_000, latencyMs: 40, loss: 0.01 } },
        { name: 'c', seed: false, link: { up: 1_000_000, down: 1_000_000, latencyMs: 80 } },
        { name: 'd', seed: false, link: { up: 100_000, down: 500_000, latencyMs: 150, loss: 0.02 } },
        { name: 'e', seed: false, link: fast },
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(120_000)).toBe(true);
      for (const n of swarm.nodes) expect(await sameBytes(swarm, n.spec.name)).toBe(true);
      await swarm.close();
    });
  });

  it('is deterministic: the same seed gives the same run', async () => {
    const seed = simSeed();
    const run = async () => {
      const swarm = new SimSwarm(seed, simTorrent(300_000, 32 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: fast },
        { name: 'a', seed: false, link: { up: 200_000, down: 1_000_000, latencyMs: 30, loss: 0.05 } },
        { name: 'b', seed: false, link: fast },
      ]);
      swarm.introduceAll();
      await swarm.runUntilAllDone(60_000);
      await swarm.close();
      return swarm.nodes.map((n) => [n.doneAt, n.pieces.map((p) => p.index).join(',')]);
    };
    const first = await run();
    expect(await run(), `SIM_SEED=${seed}`).toEqual(first);
  });

  it('endgame: the last blocks do not wait for a crawling peer', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(512 * KiB, 32 * KiB, seed));
      // The slow seed needs 8 s per 16 KiB block; without endgame the leecher would wait for
      // the blocks it asked of it (or for the 30 s request timeout).
      await swarm.addNodes([
        { name: 'fast-seed', seed: true, link: { up: 1_000_000, down: 1_000_000, latencyMs: 20 } },
        { name: 'slow-seed', seed: true, link: { up: 2_000, down: 1_000_000, latencyMs: 20 } },
        { name: 'leech', seed: false, link: fast },
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(60_000)).toBe(true);
      const leech = swarm.node('leech');
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      // The slow seed must have been asked for something, or this test proves nothing.
      expect(swarm.node('slow-seed').net.sent).toBeGreaterThan(0);
      expect(leech.doneAt).toBeLessThan(5_000);
      await swarm.close();
    });
  });

  it('choking: peers that upload finish sooner than free-riders, and free-riders still finish', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(2_000_000, 64 * KiB, seed));
      const trader: LinkSpec = { up: 600_000, down: 4_000_000, latencyMs: 20 };
      const rider: LinkSpec = { up: 5_000, down: 4_000_000, latencyMs: 20 };
      await swarm.addNodes([
        { name: 'seed', seed: true, link: { up: 300_000, down: 1_000_000, latencyMs: 20 } },
        { name: 't1', seed: false, link: trader },
        { name: 't2', seed: false, link: trader },
        { name: 'r1', seed: false, link: rider },
        { name: 't3', seed: false, link: trader },
        { name: 'r2', seed: false, link: rider },
        { name: 't4', seed: false, link: trader },
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(600_000)).toBe(true);
      const done = (names: string[]) => names.map((n) => swarm.node(n).doneAt as number);
      const traders = done(['t1', 't2', 't3', 't4']);
      const riders = done(['r1', 'r2']);
      // Tit-for-tat: on average a free-rider finishes later, and the last one after every trader.
      // (Comparing the slowest trader with the fastest rider is not robust: an optimistic
      // unchoke can carry a rider home early; over seeds 1-13 the means differ by 17-270%.)
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(traders)).toBeLessThan(mean(riders));
      expect(Math.max(...traders)).toBeLessThan(Math.max(...riders));
      await swarm.close();
    });
  });

  // Equal links make this harder than the loopback test (where the seed is capped and the
  // leechers are not). Seeds 1-8 measured 1.68-1.78x (were 2.0-2.3x, and 2.2-2.7x before the
  // session fixes): choker ties broken at random (they went by address, so every node favoured
  // the same peers and two starved), a slot freed as soon as its peer loses interest,
  // 'not interested' sent as soon as a peer has nothing more for us, and a request queue of
  // half a second of rate from 4 blocks (16 blocks kept pieces queued at the busy seed that
  // other leechers could have sent).
  it('leechers trade with each other: the seed uploads less than twice the content for nine copies', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(2_000_000, 64 * KiB, seed));
      const link: LinkSpec = { up: 1_000_000, down: 4_000_000, latencyMs: 20 };
      await swarm.addNodes([
        { name: 'seed', seed: true, link },
        ...Array.from({ length: 9 }, (_, i) => ({ name: `l${i}`, seed: false, link })),
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(600_000)).toBe(true);
      const size = swarm.torrent.content.length;
      expect(swarm.node('seed').net.sent).toBeLessThan(2 * size);
      for (let i = 0; i < 9; i++) expect(await sameBytes(swarm, `l${i}`)).toBe(true);
      // stats().uploaded counts payload handed to the transport: the seed's is most of what it
      // sent, and the nine copies were all uploaded by someone.
      const uploaded = swarm.nodes.map((n) => n.session.stats().uploaded);
      const seedSent = swarm.node('seed').net.sent;
      expect(uploaded[0]).toBeGreaterThan(0.95 * seedSent);
      expect(uploaded.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(9 * size);
      await swarm.close();
    });
  });

  it('uploads with a small send buffer: serving is re-pumped without a transport drain', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(1_000_000, 64 * KiB, seed));
      // The transport asks for backpressure only above 256 KiB; the uploader keeps at most
      // 32 KiB queued per peer, so nothing but its own re-pump can wake it.
      await swarm.addNodes([
        { name: 'seed', seed: true, link: fast, sendBuffer: 32 * KiB },
        { name: 'leech', seed: false, link: fast },
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(60_000)).toBe(true);
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      // 1 MB over a 4 MB/s uplink: a stall waiting for a drain would take far longer.
      expect(swarm.node('leech').doneAt).toBeLessThan(3_000);
      await swarm.close();
    });
  });

  it('two nodes that dial each other at the same instant keep exactly one connection', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(500_000, 32 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: fast },
        { name: 'leech', seed: false, link: fast },
      ]);
      const [a, b] = swarm.nodes as [SimSwarmNode, SimSwarmNode];
      a.session.addPeers([b.address]);
      b.session.addPeers([a.address]);
      expect(await swarm.runUntilAllDone(60_000)).toBe(true);
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      expect(a.session.stats().peers).toBe(1);
      expect(b.session.stats().peers).toBe(1);
      // One of the two connections was closed as the duplicate, on both sides.
      const dup = (n: SimSwarmNode) => n.closed.filter((c) => c.reason?.code === 'BT_PEER_DUPLICATE').length;
      expect(dup(a) + dup(b)).toBeGreaterThanOrEqual(1);
      await swarm.close();
    });
  });

  it('a bare magnet link is enough: metadata from the swarm (BEP 9), then the content', async () => {
    await withSeed(simSeed(), async (seed) => {
      const t = simTorrent(600_000, 32 * KiB, seed);
      const swarm = new SimSwarm(seed, t);
      await swarm.addNodes([
        { name: 'seed', seed: true, link: fast },
        { name: 'peer', seed: false, link: fast },
      ]);
      swarm.introduceAll();
      // The newcomer knows only the info-hash and where peers are (a tracker or the DHT).
      const me = swarm.net.addNode('10.9.9.9', 6881, fast);
      const fetcher = new MetadataFetcher({
        infoHash: t.infoHash,
        hash: async (d) => new Uint8Array(createHash('sha1').update(d).digest()),
        peerId: new Uint8Array(20).fill(99),
        dialer: swarm.net.dialer(me),
        clock: swarm.time,
        timers: swarm.time,
        defer: swarm.time.defer,
      });
      let got: Awaited<typeof fetcher.result> | undefined;
      void fetcher.result.then((r) => {
        got = r;
      });
      fetcher.start();
      fetcher.addPeers(swarm.nodes.map((n) => n.address));
      expect(await swarm.runUntil(() => got !== undefined, 30_000)).toBe(true);
      expect(got?.ok && Buffer.from(got.value).equals(Buffer.from(t.info as Uint8Array))).toBe(true);
      // With the info dictionary the layout is known: join the swarm as a normal leecher.
      await swarm.addNodes([{ name: 'magnet', seed: false, link: fast }]);
      swarm.node('magnet').session.addPeers(swarm.nodes.slice(0, 2).map((n) => n.address));
      expect(await swarm.runUntilAllDone(60_000)).toBe(true);
      expect(await sameBytes(swarm, 'magnet')).toBe(true);
      await swarm.close();
    });
  });

  it('streaming: pieces with deadlines near the playhead arrive first, in deadline order', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(1_000_000, 32 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: { up: 500_000, down: 1_000_000, latencyMs: 30 } },
        { name: 'player', seed: false, link: fast },
      ]);
      const player = swarm.node('player');
      const playhead = 12;
      for (let i = 0; i < 4; i++) player.session.setDeadline(playhead + i, 1_000 + 500 * i);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(60_000)).toBe(true);
      expect(player.pieces.slice(0, 4).map((p) => p.index)).toEqual([12, 13, 14, 15]);
      expect(await sameBytes(swarm, 'player')).toBe(true);
      await swarm.close();
    });
  });

  it('bad data: a peer sending corrupt blocks is banned and the file is still right', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(512 * KiB, 32 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: { up: 300_000, down: 1_000_000, latencyMs: 30 } },
      ]);
      const liar = swarm.addHostile('corrupt-data', fast);
      await swarm.addNodes([{ name: 'leech', seed: false, link: fast }]);
      swarm.introduceAll([liar.address]);
      expect(await swarm.runUntilAllDone(120_000)).toBe(true);
      const leech = swarm.node('leech');
      expect(liar.peers.some((p) => p.blocksSent > 0)).toBe(true);
      expect(leech.banned.map((b) => [b.key.startsWith(liar.address.host), b.reason.code])).toContainEqual([
        true,
        'BT_PEER_BAD_DATA',
      ]);
      // Every connection over which it sent blocks was closed (our seed never asks it for any).
      expect(liar.peers.filter((p) => p.blocksSent > 0).every((p) => p.closed)).toBe(true);
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      await swarm.close();
    });
  });

  // Smart ban (issue 14): a liar whose blocks only ever fail mixed with an honest seeder's
  // must not get the seeder banned. Each run mixes liars among honest seeders; only the liars
  // may be banned, and the download completes byte for byte.
  it.each([
    [1, 1],
    [1, 2],
    [2, 3],
    [3, 1],
    [1, 3],
  ])('smart ban: %i honest seeders, %i liars; only the liars are banned', async (seeds, liarCount) => {
    await withSeed(simSeed() * 100 + seeds * 10 + liarCount, async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(4_000_000, 512 * KiB, seed));
      const slow: LinkSpec = { up: 300_000, down: 1_000_000, latencyMs: 30 };
      await swarm.addNodes(
        Array.from({ length: seeds }, (_, i) => ({ name: `seed${i}`, seed: true, link: slow })),
      );
      const liars = Array.from({ length: liarCount }, () => swarm.addHostile('corrupt-first-block', slow));
      await swarm.addNodes([{ name: 'leech', seed: false, link: fast }]);
      swarm.introduceAll(liars.map((l) => l.address));
      expect(await swarm.runUntilAllDone(600_000)).toBe(true);
      const leech = swarm.node('leech');
      const honest = swarm.nodes.filter((n) => n.spec.seed).map((n) => n.address.host);
      const bannedHosts = leech.banned.map((b) => b.key.split(':')[0] ?? '');
      expect(
        bannedHosts.filter((h) => honest.includes(h)),
        'honest seeders banned',
      ).toEqual([]);
      for (const liar of liars) {
        if (liar.peers.some((p) => p.blocksSent > 0))
          expect(bannedHosts, 'a liar that sent blocks is banned').toContain(liar.address.host);
      }
      expect(liars.some((l) => l.peers.some((p) => p.blocksSent > 0))).toBe(true);
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      await swarm.close();
    });
  });

  it.each([
    ['request-flood', 'BT_PEER_FLOOD'],
    ['unrequested-data', 'BT_PEER_UNREQUESTED_DATA'],
    ['lying-bitfield', undefined],
  ] as const)('hostile %s: dropped or routed around; the download completes', async (behaviour, code) => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(256 * KiB, 32 * KiB, seed));
      await swarm.addNodes([
        { name: 'seed', seed: true, link: { up: 300_000, down: 1_000_000, latencyMs: 30 } },
      ]);
      const hostile = swarm.addHostile(behaviour, fast);
      await swarm.addNodes([{ name: 'leech', seed: false, link: fast }]);
      swarm.introduceAll([hostile.address]);
      expect(await swarm.runUntilAllDone(120_000)).toBe(true);
      expect(hostile.peers.length).toBeGreaterThan(0);
      if (code) {
        const reasons = swarm.nodes.flatMap((n) =>
          n.closed.filter((c) => c.key.startsWith(hostile.address.host)).map((c) => c.reason?.code),
        );
        expect(reasons).toContain(code);
        expect(hostile.peers.every((p) => p.closed)).toBe(true);
      }
      expect(await sameBytes(swarm, 'leech')).toBe(true);
      await swarm.close();
    });
  });
});
