import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { TorrentSession } from '../src/session/torrent-session.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import { seededRandom, systemClock, systemTimers } from '../src/timers.ts';
import type { Dialer } from '../src/transport.ts';
import { peerId, testTorrent } from './session-helpers.ts';

const noDial: Dialer = {
  dial: async () => ({ ok: false, error: { code: 'BT_TEST_DIAL', message: 'no dialing here' } }),
};

describe('TorrentSession.addPiece (pieces from outside the swarm, e.g. a web seed)', () => {
  it('verifies, stores and announces a piece; a peer then downloads it from us; bad data is refused', async () => {
    const t = testTorrent(5 * 16 * 1024 + 100, 16 * 1024);
    const piece = (i: number) =>
      t.content.slice(i * t.layout.pieceLength, Math.min((i + 1) * t.layout.pieceLength, t.content.length));
    const session = (n: number, storage: MemoryStorage) =>
      new TorrentSession({
        infoHash: t.infoHash,
        peerId: peerId(n),
        layout: t.layout,
        storage,
        verifyPiece: t.verify,
        clock: systemClock,
        timers: systemTimers,
        random: seededRandom(n),
        dialer: noDial,
      });
    const aStorage = new MemoryStorage(t.layout);
    const a = session(1, aStorage);
    await a.start();
    const announced: number[] = [];
    a.on('piece', (i) => announced.push(i));

    // Wrong bytes (another piece's), wrong length, out of range: refused, nothing stored.
    expect(await a.addPiece(0, piece(1))).toBe(false);
    expect(await a.addPiece(5, piece(0))).toBe(false);
    expect(await a.addPiece(9, piece(0))).toBe(false);
    expect(a.hasPiece(0)).toBe(false);
    expect(a.stats().pieces).toBe(0);

    for (let i = 0; i < t.layout.pieceCount; i++) expect(await a.addPiece(i, piece(i))).toBe(true);
    expect(announced).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.isDone).toBe(true);
    expect(await aStorage.read(0, t.layout.totalLength)).toEqual(t.content);
    // Counted as verified, not as downloaded from peers.
    expect(a.stats().downloaded).toBe(0);

    const bStorage = new MemoryStorage(t.layout);
    const b = session(2, bStorage);
    await b.start();
    const done = new Promise<void>((r) => b.on('done', r));
    const [x, y] = memoryTransportPair();
    Object.assign(x.remote, { address: '127.0.0.1', port: 1, outgoing: true });
    Object.assign(y.remote, { address: '127.0.0.1', port: 2, outgoing: false });
    a.addIncoming(y);
    b.addIncoming(x);
    await done;
    expect(await bStorage.read(0, t.layout.totalLength)).toEqual(t.content);
    expect(b.stats().downloaded).toBe(t.layout.totalLength);
    expect(a.stats().uploaded).toBe(t.layout.totalLength);
    await a.close();
    await b.close();
  });

  it('a live upload cap slows serving and can be lifted', async () => {
    const t = testTorrent(8 * 16 * 1024, 16 * 1024);
    const make = (n: number, storage: MemoryStorage) =>
      new TorrentSession({
        infoHash: t.infoHash,
        peerId: peerId(n),
        layout: t.layout,
        storage,
        verifyPiece: t.verify,
        clock: systemClock,
        timers: systemTimers,
        random: seededRandom(n),
        dialer: noDial,
      });
    const seedStorage = new MemoryStorage(t.layout);
    await seedStorage.write(0, t.content);
    const seed = make(1, seedStorage);
    await seed.start();
    // 16 KiB/s: at most the quarter-second burst plus one block beyond rate x elapsed goes out.
    const rate = 16 * 1024;
    seed.setUploadRateLimit(rate);
    const began = Date.now();
    const leech = make(2, new MemoryStorage(t.layout));
    await leech.start();
    const [x, y] = memoryTransportPair();
    Object.assign(x.remote, { address: '127.0.0.1', port: 1, outgoing: true });
    Object.assign(y.remote, { address: '127.0.0.1', port: 2, outgoing: false });
    seed.addIncoming(y);
    leech.addIncoming(x);
    const done = new Promise<void>((r) => leech.on('done', r));
    await new Promise((r) => setTimeout(r, 500));
    const sent = seed.stats().uploaded;
    const allowed = rate / 4 + 16 * 1024 + (rate * (Date.now() - began)) / 1000;
    expect(sent).toBeLessThanOrEqual(allowed);
    expect(sent).toBeLessThan(t.layout.totalLength);
    // 0 = uploads off: nothing more goes out while it holds.
    seed.setUploadRateLimit(0);
    const frozen = seed.stats().uploaded;
    await new Promise((r) => setTimeout(r, 300));
    expect(seed.stats().uploaded).toBeLessThanOrEqual(frozen + 16 * 1024);
    seed.setUploadRateLimit(undefined);
    await done;
    expect(seed.stats().uploaded).toBe(t.layout.totalLength);
    await seed.close();
    await leech.close();
  });
});
