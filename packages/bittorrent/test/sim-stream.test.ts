import { describe, expect, it } from 'vitest';
import { readVerifiedRange } from '../src/session/range-reader.ts';
import { SimSwarm } from '../src/sim/index.ts';
import { simSeed, simTorrent, withSeed } from './sim-helpers.ts';

const KiB = 1024;

describe('streaming reads over the session (readVerifiedRange), in virtual time', () => {
  it('a range in the middle arrives byte for byte long before the whole download', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(2_000_000, 32 * KiB, seed));
      await swarm.addNodes([
        // A slow seed: the whole torrent takes about 10 s of virtual time.
        { name: 'seed', seed: true, link: { up: 200_000, down: 1_000_000, latencyMs: 30 } },
        { name: 'player', seed: false, link: { up: 1_000_000, down: 4_000_000, latencyMs: 10 } },
      ]);
      swarm.introduceAll();
      const player = swarm.node('player');
      const start = 1_234_567;
      const end = start + 150_000;
      const chunks: Uint8Array[] = [];
      let readDoneAt: number | undefined;
      void (async () => {
        for await (const c of readVerifiedRange(player.session, start, end, { now: () => swarm.time.now() }))
          chunks.push(c);
        readDoneAt = swarm.time.now();
      })();
      expect(await swarm.runUntil(() => readDoneAt !== undefined, 60_000)).toBe(true);
      expect(Buffer.concat(chunks).equals(Buffer.from(swarm.torrent.content.subarray(start, end)))).toBe(
        true,
      );
      expect(await swarm.runUntilAllDone(120_000)).toBe(true);
      // Six pieces of 62 came first: far sooner than the download, not just a little.
      expect(readDoneAt as number).toBeLessThan((player.doneAt as number) / 3);
      await swarm.close();
    });
  });

  it('an aborted read clears the deadlines it set, and refuses a range outside the torrent', async () => {
    await withSeed(simSeed(), async (seed) => {
      const swarm = new SimSwarm(seed, simTorrent(600_000, 32 * KiB, seed));
      await swarm.addNodes([{ name: 'lonely', seed: false, link: { up: 1e6, down: 1e6, latencyMs: 10 } }]);
      const s = swarm.node('lonely').session;
      const ac = new AbortController();
      const reader = readVerifiedRange(s, 0, 600_000, { now: () => swarm.time.now(), signal: ac.signal });
      const first = reader.next();
      // The piece being read and the 8 after it, soonest first.
      expect(s.deadlinePieces()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      ac.abort(new Error('seek'));
      await expect(first).rejects.toThrow('seek');
      // No deadline is left behind for pieces nobody reads any more.
      expect(s.deadlinePieces()).toEqual([]);
      await expect(readVerifiedRange(s, 0, 600_001, { now: () => 0 }).next()).rejects.toThrow(RangeError);
      await swarm.close();
    });
  });
});
