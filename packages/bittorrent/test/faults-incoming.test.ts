import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent } from '../src/node/api.ts';
import { handshakeGroup, SwarmNode } from '../src/node/swarm-node.ts';
import { HostilePeer, type LinkSpec, SimSwarm } from '../src/sim/index.ts';
import { seededRandom } from '../src/timers.ts';
import { simSeed, simTorrent, withSeed } from './sim-helpers.ts';
import { makeV1Torrent } from './torrent-files.ts';

/**
 * Idle inbound connections (issue 14): 2,000 handshaken idle peers were all kept. A seeder
 * flooded by idle sockets, many from one address, keeps its caps (per address, in all) and
 * still serves an honest leecher that arrives later (idle peers make room).
 */
const fast: LinkSpec = { up: 4_000_000, down: 8_000_000, latencyMs: 10 };

describe('inbound connection caps', () => {
  it('idle floods are capped per address and in all, and an honest leecher still gets in', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(256 * 1024, 32 * 1024, seed));
      const [seeder] = await swarm.addNodes([{ name: 'seed', seed: true, link: fast }]);
      const random = seededRandom(seed);
      const flood: HostilePeer[] = [];
      const open = (host: string, port: number, n: number) => {
        const from = swarm.net.addNode(host, port, fast);
        const [mine, theirs] = swarm.net.connect(from, seeder!.net);
        const peerId = new Uint8Array(20);
        peerId.set(new TextEncoder().encode(`-XX0001-${String(n).padStart(12, '0')}`));
        const h = new HostilePeer(mine, {
          behaviour: 'idle',
          infoHash: swarm.torrent.infoHash,
          peerId,
          pieceCount: swarm.torrent.layout.pieceCount,
          pieceLength: swarm.torrent.layout.pieceLength,
          time: swarm.time,
          random,
        });
        h.start();
        seeder!.net.accept?.(theirs);
        flood.push(h);
      };
      // 40 sockets from one address, then 400 from distinct addresses.
      for (let i = 0; i < 40; i++) open('10.66.1.1', 20_000 + i, i);
      for (let i = 0; i < 400; i++) open(`10.77.${i >> 8}.${i & 255}`, 6881, 100 + i);
      await swarm.runUntil(() => false, 1_000);
      const held = seeder!.session.stats().peers;
      const refused = seeder!.session.incomingRefused;
      expect(held).toBeLessThanOrEqual(150);
      expect(refused).toBeGreaterThanOrEqual(440 - 150);
      // Idle for a while, then an honest leecher arrives and downloads.
      await swarm.runUntil(() => false, 40_000);
      const [leech] = await swarm.addNodes([{ name: 'leech', seed: false, link: fast }]);
      leech!.session.addPeers([seeder!.address]);
      expect(await swarm.runUntil(() => leech!.doneAt !== undefined, 60_000)).toBe(true);
      console.log(
        `[fault idle-peers] idle sockets opened 440 (40 from one address); held ${held}, refused ${refused}; honest leecher done at ${leech!.doneAt} ms`,
      );
      await swarm.close();
    });
  });

  it('at most 8 connections from one address', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(64 * 1024, 32 * 1024, seed));
      const [seeder] = await swarm.addNodes([{ name: 'seed', seed: true, link: fast }]);
      const random = seededRandom(seed);
      for (let i = 0; i < 30; i++) {
        const from = swarm.net.addNode('10.66.2.2', 30_000 + i, fast);
        const [mine, theirs] = swarm.net.connect(from, seeder!.net);
        const peerId = new Uint8Array(20).fill(i + 1);
        new HostilePeer(mine, {
          behaviour: 'idle',
          infoHash: swarm.torrent.infoHash,
          peerId,
          pieceCount: swarm.torrent.layout.pieceCount,
          pieceLength: swarm.torrent.layout.pieceLength,
          time: swarm.time,
          random,
        }).start();
        seeder!.net.accept?.(theirs);
      }
      await swarm.runUntil(() => false, 1_000);
      expect(seeder!.session.stats().peers).toBe(8);
      expect(seeder!.session.incomingRefused).toBe(22);
      await swarm.close();
    });
  });
});

/**
 * Before the handshake a connection belongs to no torrent, so the per-torrent caps above do
 * not see it: a flood of sockets that never say anything held a file descriptor each. The
 * node holds at most `maxHandshaking` of them (plain or MSE), closes the rest at once and
 * each held one at its handshake deadline; real sockets on loopback.
 */
describe('inbound connections before their handshake (real TCP)', () => {
  it('a flood of idle sockets is capped in all and closed at the deadline; an honest leecher then downloads', async () => {
    const dir = await scratchDir('faults-handshake-');
    const node = new SwarmNode({
      host: '127.0.0.1',
      trackers: false,
      maxHandshaking: 32,
      // The global cap is what this case measures; the per-address one has its own case.
      maxHandshakingPerAddress: 1_000,
      handshakeTimeoutMs: 3_000,
    });
    await node.start();
    try {
      const t = await makeV1Torrent(
        join(dir.path, 'src'),
        'ep.bin',
        [{ path: [], length: 300_000 }],
        32 * 1024,
      );
      await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, node });
      // 180 sockets that say nothing, 20 that start an MSE key exchange and stop.
      const total = 200;
      let maxSeen = 0;
      const look = () => {
        maxSeen = Math.max(maxSeen, node.handshaking);
      };
      const closedByNode = await Promise.all(
        Array.from(
          { length: total },
          (_, i) =>
            new Promise<boolean>((resolve) => {
              const s: Socket = connect(node.port, '127.0.0.1');
              s.on('connect', () => {
                if (i % 10 === 0) s.write(randomBytes(96));
                look();
              });
              s.on('error', () => {});
              // Read what the node answers (an MSE key): a socket left paused never sees its end.
              s.resume();
              // We never close them: every close here is the node's doing.
              s.on('close', () => {
                look();
                resolve(true);
              });
            }),
        ),
      );
      expect(closedByNode).toHaveLength(total);
      expect(maxSeen).toBeLessThanOrEqual(32);
      expect(node.handshakeRefused).toBeGreaterThan(0);
      expect(node.handshaking).toBe(0);
      // The node is whole: an honest leecher handshakes and downloads every byte.
      const leech = await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'out'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: node.port }],
      });
      await new Promise<void>((resolve) => {
        if (leech.session.isDone) resolve();
        leech.session.on('done', () => resolve());
      });
      expect((await readFile(join(dir.path, 'out', 'ep.bin'))).equals(t.content)).toBe(true);
      await leech.close();
      expect(node.handshaking).toBe(0);
      console.log(
        `[fault handshake-flood] idle sockets opened ${total} (20 half MSE); held at most ${maxSeen} of 32, refused at once ${node.handshakeRefused}, the rest closed at the 3 s deadline; honest leecher downloaded 300000 bytes`,
      );
    } finally {
      await node.close();
      await dir.remove();
    }
  });
});

/**
 * The global cap alone let one host take every waiting slot: a flood from one address held
 * `maxHandshaking` sockets until their deadline and every other peer was refused meanwhile.
 * Each address (127.0.0.x are distinct sources on loopback) now gets at most
 * `maxHandshakingPerAddress`; an honest leecher from another address downloads while the
 * flood's sockets are still held.
 */
describe('inbound connections before their handshake, per address (real TCP)', () => {
  it('counts IPv4-mapped addresses as IPv4 and IPv6 addresses by their /64', () => {
    expect(handshakeGroup('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(handshakeGroup('192.0.2.7')).toBe('192.0.2.7');
    expect(handshakeGroup('2001:db8:1:2:aaaa::1')).toBe(handshakeGroup('2001:0db8:1:2::ffff:3'));
    expect(handshakeGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(handshakeGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(handshakeGroup('2001:db8:1:3::1')).not.toBe(handshakeGroup('2001:db8:1:2::1'));
    expect(handshakeGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('one address cannot take the whole handshake budget', async () => {
    const dir = await scratchDir('faults-handshake-addr-');
    const node = new SwarmNode({
      host: '127.0.0.1',
      trackers: false,
      maxHandshaking: 32,
      maxHandshakingPerAddress: 8,
      // Long enough that the flood is still held when the leecher comes.
      handshakeTimeoutMs: 120_000,
    });
    await node.start();
    const flood: Socket[] = [];
    try {
      const t = await makeV1Torrent(
        join(dir.path, 'src'),
        'ep.bin',
        [{ path: [], length: 200_000 }],
        32 * 1024,
      );
      await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, node });
      // 60 idle sockets from each of two addresses; we never close them during the test.
      for (const from of ['127.0.0.2', '127.0.0.3']) {
        for (let i = 0; i < 60; i++) {
          const s = connect({ port: node.port, host: '127.0.0.1', localAddress: from });
          s.on('error', () => {});
          s.resume();
          flood.push(s);
        }
      }
      // Every socket is either refused (closed by the node) or counted as waiting.
      await waitFor(
        () => node.handshaking + node.handshakeRefused === 120,
        60_000,
        'every flood socket accepted or refused',
      );
      expect(node.handshaking).toBe(16);
      expect(node.handshakeRefused).toBe(104);
      // The flood is still held; a leecher from 127.0.0.1 gets in and downloads every byte.
      const leech = await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'out'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: node.port }],
      });
      await new Promise<void>((resolve) => {
        if (leech.session.isDone) resolve();
        leech.session.on('done', () => resolve());
      });
      expect((await readFile(join(dir.path, 'out', 'ep.bin'))).equals(t.content)).toBe(true);
      expect(node.handshaking).toBe(16);
      await leech.close();
      console.log(
        `[fault handshake-flood-one-address] idle sockets opened 120 from 2 addresses (cap 8 each, 32 in all); held ${node.handshaking}, refused ${node.handshakeRefused}; honest leecher from a third address downloaded 200000 bytes meanwhile`,
      );
    } finally {
      for (const s of flood) s.destroy();
      await node.close();
      await dir.remove();
    }
  });
});
