import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent } from '../src/node/api.ts';
import { TcpTransport } from '../src/node/tcp-transport.ts';
import { HostilePeer } from '../src/sim/index.ts';
import { seededRandom } from '../src/timers.ts';
import type { CodedError, Transport } from '../src/transport.ts';
import { makeV1Torrent } from './torrent-files.ts';

/**
 * The liar's socket, each write held back a while (a slower peer than loopback, so that the
 * leecher has blocks of one piece in flight to both peers); `firstBlock` resolves when the
 * first piece message goes out.
 */
function slowWrites(inner: Transport, delayMs: number): { transport: Transport; firstBlock: Promise<void> } {
  let sentBlock: () => void = () => {};
  const firstBlock = new Promise<void>((r) => {
    sentBlock = r;
  });
  const transport: Transport = {
    get remote() {
      return inner.remote;
    },
    get closed() {
      return inner.closed;
    },
    get bufferedAmount() {
      return inner.bufferedAmount;
    },
    start: (h) => inner.start(h),
    write(chunk) {
      setTimeout(() => {
        inner.write(chunk);
        if (chunk.length > 16_000) sentBlock();
      }, delayMs);
      return true;
    },
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    close: (reason) => inner.close(reason),
  };
  return { transport, firstBlock };
}

/**
 * Smart ban on real sockets (issue 14): our engine downloads from one honest seeder and one
 * liar that sends the true bytes except the first block of each piece. A failed piece must
 * not get the honest seeder banned (before smart ban every contributor got a strike and the
 * download stalled); only the liar is banned and every byte arrives. The liar is the
 * simulator's scripted peer over a real TCP socket, on another loopback address (bans are
 * per address).
 */
const LENGTH = 2_000_000;
const PIECE = 128 * 1024;

describe('fault: a liar beside an honest seeder, real TCP', () => {
  it('bans only the liar and completes the download byte for byte', async () => {
    const dir = await scratchDir('faults-liar-');
    let liarServer: Server | undefined;
    const liars: HostilePeer[] = [];
    const closers: (() => Promise<void>)[] = [];
    try {
      const t = await makeV1Torrent(join(dir.path, 'src'), 'ep.bin', [{ path: [], length: LENGTH }], PIECE);
      // Slow enough that the leecher asks both peers for blocks of the same pieces.
      const honest = await seedTorrent({
        torrent: t.torrent,
        dataPath: t.dataPath,
        host: '127.0.0.1',
        uploadRateLimit: 1_000_000,
      });
      closers.push(() => honest.close());
      let liarSentBlock: () => void = () => {};
      const liarStarted = new Promise<void>((r) => {
        liarSentBlock = r;
      });
      const server = createServer({ pauseOnConnect: true }, (socket) => {
        const peerId = new Uint8Array(20);
        peerId.set(new TextEncoder().encode(`-XX0001-liar${String(liars.length).padStart(8, '0')}`));
        const slow = slowWrites(new TcpTransport(socket, false), 20);
        void slow.firstBlock.then(liarSentBlock);
        const liar = new HostilePeer(slow.transport, {
          behaviour: 'corrupt-first-block',
          infoHash: Buffer.from(t.infoHash, 'hex'),
          peerId,
          pieceCount: Math.ceil(LENGTH / PIECE),
          pieceLength: PIECE,
          random: seededRandom(14),
          content: t.content,
        });
        liars.push(liar);
        liar.start();
      });
      liarServer = server;
      const liarPort = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.2', () => {
          const a = server.address();
          resolve(typeof a === 'object' && a ? a.port : 0);
        });
      });
      const banned: { key: string; code: string }[] = [];
      const leech = await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'out'),
        host: '127.0.0.1',
        // The scripted liar speaks plain BitTorrent only (an MSE dial would wait out its timeout).
        encryption: 'off',
        peers: [{ host: '127.0.0.2', port: liarPort }],
      });
      closers.unshift(() => leech.close());
      leech.session.on('peerBanned', (key: string, reason: CodedError) =>
        banned.push({ key, code: reason.code }),
      );
      // The liar first, until its first block is on the wire; then the honest seeder joins.
      await liarStarted;
      leech.session.addPeers([{ host: '127.0.0.1', port: honest.port }]);
      await new Promise<void>((resolve) => {
        if (leech.session.isDone) resolve();
        leech.session.on('done', () => resolve());
      });
      const gotBytes = await readFile(join(dir.path, 'out', 'ep.bin'));
      expect(gotBytes.equals(t.content)).toBe(true);
      const liarBlocks = liars.reduce((n, l) => n + l.blocksSent, 0);
      // Pieces where the liar sent the corrupt first block but not every block: the rest came
      // from the honest seeder, so the failed piece had two senders (what smart ban is for).
      const mixed = liars.flatMap((l) =>
        [...l.sent]
          .filter(([, begins]) => begins.includes(0) && new Set(begins).size < PIECE / 16_384)
          .map(([i]) => i),
      );
      // The case only proves something if the liar's blocks reached the leecher.
      expect(liarBlocks).toBeGreaterThan(0);
      expect(mixed.length, 'a failed piece had both peers as senders').toBeGreaterThan(0);
      expect(
        banned.filter((b) => b.key.startsWith('127.0.0.1')),
        'the honest seeder was banned',
      ).toEqual([]);
      expect(banned.map((b) => b.key.split(':')[0])).toContain('127.0.0.2');
      console.log(
        `[fault liar-seeder] ${LENGTH} bytes from 1 honest seeder and 1 liar (${liarBlocks} blocks sent, first of each piece corrupt; pieces mixed with the honest seeder's blocks: ${mixed.join(',')}); banned ${JSON.stringify(banned)}; download complete and identical, honest seeder kept`,
      );
    } finally {
      for (const c of closers) await c().catch(() => {});
      await new Promise<void>((r) => (liarServer ? liarServer.close(() => r()) : r()));
      await dir.remove();
    }
  });
});
