import { describe, expect, it } from 'vitest';
import { BLOCK_FREE, BLOCK_RECEIVED } from '../src/picker/view.ts';
import { webSeedRuns } from '../src/session/web-seed-policy.ts';
import { type FetchSpan, SimSwarm, type SimSwarmNode } from '../src/sim/index.ts';
import { simSeed, simTorrent, withSeed } from './sim-helpers.ts';

const KiB = 1024;

/** Pieces a web seed and a peer were fetching at the same moment (spans overlap). */
function fetchedAtOnce(node: SimSwarmNode): string[] {
  const byPiece = new Map<number, FetchSpan[]>();
  for (const s of node.peerRequests) byPiece.set(s.piece, [...(byPiece.get(s.piece) ?? []), s]);
  const clashes: string[] = [];
  for (const w of node.webSeedFetches) {
    for (const r of byPiece.get(w.piece) ?? []) {
      if (r.from < w.to && w.from < r.to)
        clashes.push(`piece ${w.piece}: web seed ${w.from}-${w.to} ms, peer ${r.from}-${r.to} ms`);
    }
  }
  return clashes;
}

function sameContent(swarm: SimSwarm, node: SimSwarmNode): Promise<boolean> {
  return node.storage
    .read(0, swarm.torrent.content.length)
    .then((got) => Buffer.from(got).equals(Buffer.from(swarm.torrent.content)));
}

describe('web seeds and peers in the simulator: never one piece from both at once', () => {
  it("the session's web seeds take what peers do not, while peers trade the rest", async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(3_000_000, 32 * KiB, seed));
      const leech = { up: 400_000, down: 2_000_000, latencyMs: 20 };
      const webSeed = { latencyMs: 100, bytesPerSecond: 300_000 };
      await swarm.addNodes([
        // One upload slot: most leechers are choked by the seed most of the time, so their web
        // seeds take any piece, while they still trade with each other.
        { name: 'seed', seed: true, uploadSlots: 1, link: { up: 150_000, down: 1_000_000, latencyMs: 20 } },
        { name: 'a', seed: false, link: leech, webSeed },
        { name: 'b', seed: false, link: leech, webSeed },
        { name: 'c', seed: false, link: leech, webSeed },
        { name: 'd', seed: false, link: leech },
      ]);
      swarm.introduceAll();
      expect(await swarm.runUntilAllDone(300_000)).toBe(true);
      let fromWebSeeds = 0;
      for (const name of ['a', 'b', 'c']) {
        const node = swarm.node(name);
        expect(await sameContent(swarm, node)).toBe(true);
        // Both sources worked for this node, or the check below proves nothing for it.
        expect(node.webSeedFetches.length, `${name}: pieces from its web seed`).toBeGreaterThan(0);
        expect(node.peerRequests.length, `${name}: blocks asked of peers`).toBeGreaterThan(50);
        expect(fetchedAtOnce(node), name).toEqual([]);
        fromWebSeeds += node.webSeedFetches.length;
      }
      expect(fromWebSeeds).toBeGreaterThan(20);
      await swarm.close();
    });
  });

  it("a player's urgent web seed fetches take pieces from the peers first (preempt), never beside them", async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(2_000_000, 32 * KiB, seed));
      await swarm.addNodes([
        // A slow seed: peers are still fetching the pieces playback reaches.
        { name: 'seed', seed: true, link: { up: 60_000, down: 1_000_000, latencyMs: 40 } },
        { name: 'player', seed: false, link: { up: 500_000, down: 2_000_000, latencyMs: 20 } },
      ]);
      swarm.introduceAll();
      const player = swarm.node('player');
      const { session } = player;
      const pieceCount = swarm.torrent.layout.pieceCount;
      // What P2pEngine does each tick: playback moves 1 piece every 600 ms (53 kB/s, about
      // what the seed sends, so peers are often still on a piece playback reaches); the next 3
      // pieces are urgent (web seed at once), the following ones get deadlines for the peers.
      let inFlight = 0;
      let preempted = 0;
      const tick = () => {
        const playhead = Math.min(pieceCount - 1, Math.floor(swarm.time.now() / 600));
        for (let p = playhead; p < Math.min(pieceCount, playhead + 12); p++)
          if (!session.hasPiece(p)) session.setDeadline(p, swarm.time.now() + (p - playhead) * 600);
        const runs = webSeedRuns(session.webSeedView, {
          mode: 'any',
          max: 3 - inFlight,
          ranges: [{ first: playhead, last: Math.min(pieceCount - 1, playhead + 2), urgent: true }],
        });
        for (const run of runs) {
          const p = run.first;
          const view = session.webSeedView;
          let peersOnIt = false;
          for (let b = 0; b < view.blocksIn(p); b++) {
            const s = view.blockState(p, b);
            if (s !== BLOCK_FREE && s !== BLOCK_RECEIVED) peersOnIt = true;
          }
          if (!session.reserveForWebSeed(p, { preempt: true })) continue;
          if (peersOnIt) preempted++;
          inFlight++;
          void player
            .webSeedFetch(p)
            .then((data) => session.addPiece(p, data))
            .finally(() => {
              session.releaseWebSeed(p);
              inFlight--;
            });
        }
        if (player.doneAt === undefined) swarm.time.setTimeout(tick, 200);
      };
      tick();
      expect(await swarm.runUntilAllDone(300_000)).toBe(true);
      expect(await sameContent(swarm, player)).toBe(true);
      // The contention was real: urgent pieces were taken from peers that had asked for them.
      // Peers brought some pieces whole, the web seed others.
      expect(player.webSeedFetches.length).toBeLessThan(pieceCount - 5);
      expect(preempted).toBeGreaterThan(0);
      expect(player.webSeedFetches.length).toBeGreaterThan(5);
      expect(player.peerRequests.length).toBeGreaterThan(50);
      expect(fetchedAtOnce(player)).toEqual([]);
      await swarm.close();
    });
  });
});
