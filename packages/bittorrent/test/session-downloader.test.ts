import { describe, expect, it } from 'vitest';
import { Downloader } from '../src/session/downloader.ts';
import type { PeerLink, PeerLinkEvents } from '../src/session/peer-link.ts';
import { PieceAssembly } from '../src/session/piece-assembly.ts';
import { SwarmPeer } from '../src/session/swarm-peer.ts';
import { makeLayout } from '../src/storage/layout.ts';
import { seededRandom } from '../src/timers.ts';

const BLOCK = 16 * 1024;

type TestLink = PeerLink & {
  sent: Array<[number, number, number]>;
  rate: number;
  answer(index: number, begin: number): void;
};

/**
 * A seed that unchokes us, measured at `rate` bytes/s. Like PeerConnectionLink it records our
 * requests while in flight and has a pipeline cap; `answer` settles one, as the link does
 * before it passes a block on.
 */
function cappedLink(cap: number): TestLink {
  const inFlight = new Set<number>();
  const key = (index: number, begin: number) => index * 2 ** 32 + begin;
  const link: TestLink = {
    sent: [],
    rate: 0,
    remote: { kind: 'test', outgoing: true },
    bufferedAmount: 0,
    peerChoking: false,
    peerInterested: false,
    amChoking: true,
    amInterested: true,
    remotePieceCount: 1,
    get requestSlots() {
      return cap - inFlight.size;
    },
    get outstandingCount() {
      return inFlight.size;
    },
    start(_e: PeerLinkEvents) {},
    request(index: number, begin: number, length: number) {
      if (inFlight.size >= cap) throw new Error('request past the link cap');
      if (inFlight.has(key(index, begin))) return false;
      inFlight.add(key(index, begin));
      link.sent.push([index, begin, length]);
      return true;
    },
    answer(index: number, begin: number) {
      if (!inFlight.delete(key(index, begin))) throw new Error('answer to no request');
    },
    isRequested: (index: number, begin: number) => inFlight.has(key(index, begin)),
    requestsIn: (piece: number) => [...inFlight].some((k) => Math.floor(k / 2 ** 32) === piece),
    has: () => true,
    downloadRate: () => link.rate,
    uploadRate: () => 0,
    cancel(index: number, begin: number) {
      inFlight.delete(key(index, begin));
    },
    sendBlock: () => true,
    reject() {},
    have() {},
    announcePieces() {},
    choke() {},
    interested() {},
    close() {},
  };
  return link;
}

describe('Downloader request pipeline', () => {
  it('never asks a link for more requests than it will send, and refills in batches', () => {
    const layout = makeLayout(16 * BLOCK, [{ path: ['f'], length: 64 * 16 * BLOCK }]);
    const completed: number[] = [];
    const d = new Downloader(layout, {
      random: seededRandom(1),
      onPieceComplete: (i) => completed.push(i),
      onViolation: (_p, code, message) => {
        throw new Error(`${code} ${message}`);
      },
    });
    const link = cappedLink(40);
    const peer = new SwarmPeer('10.0.0.1:6881', link, 0);
    d.peerBitfield(undefined);
    // A fast peer: the rate-based depth (500) is far above the link's cap (40).
    link.rate = 200 * 1024 * 1024;
    d.fill(peer);
    expect(link.sent.length).toBe(40);
    expect(link.outstandingCount).toBe(40);

    // Answering blocks one at a time: no refill until a quarter of the pipeline is free, then
    // one batch up to the cap again; never a request the link would refuse.
    const block = new Uint8Array(BLOCK);
    let answered = 0;
    const refills: number[] = [];
    for (let k = 0; k < 200; k++) {
      const [index, begin] = link.sent[answered++]!;
      link.answer(index, begin);
      const before = link.sent.length;
      d.block(peer, index, begin, block, 1, [peer]);
      d.fill(peer);
      if (link.sent.length > before) refills.push(link.sent.length - before);
      expect(link.outstandingCount).toBeLessThanOrEqual(40);
    }
    expect(refills.length).toBeGreaterThan(0);
    expect(Math.min(...refills)).toBeGreaterThanOrEqual(10);
    expect(completed.length).toBe(Math.floor(200 / 16));
  });
});

describe('PieceAssembly buffers', () => {
  it('reuses a recycled piece buffer, and a reused buffer holds only the new piece', () => {
    const layout = makeLayout(4 * BLOCK, [{ path: ['f'], length: 3 * 4 * BLOCK - 100 }]);
    const a = new PieceAssembly(layout);
    const fill = (index: number, byte: number) => {
      const size = index === layout.pieceCount - 1 ? layout.totalLength - index * 4 * BLOCK : 4 * BLOCK;
      // blocks out of order, as several peers deliver them
      for (const b of [2, 0, 3, 1]) {
        const len = Math.min(BLOCK, size - b * BLOCK);
        if (len <= 0) continue;
        expect(a.store(index, b * BLOCK, new Uint8Array(len).fill(byte + b), 'p')).toBe(true);
      }
      return a.take(index)!.data;
    };
    const first = fill(0, 10);
    expect(first[0]).toBe(10);
    expect(first[3 * BLOCK]).toBe(13);
    a.recycle(first);
    const second = fill(1, 50);
    expect(second).toBe(first);
    for (let b = 0; b < 4; b++) {
      expect(second.subarray(b * BLOCK, (b + 1) * BLOCK).every((x) => x === 50 + b)).toBe(true);
    }
    // the short last piece never takes a full-size buffer
    a.recycle(second);
    const last = fill(2, 90);
    expect(last).not.toBe(second);
    expect(last.length).toBe(4 * BLOCK - 100);
    // a buffer from elsewhere (a web seed's piece) is never taken into the pool
    const foreign = new Uint8Array(4 * BLOCK);
    a.recycle(foreign);
    expect(fill(0, 1)).not.toBe(foreign);
  });
});
