import { describe, expect, it } from 'vitest';
import type { PeerSource } from '../src/discovery/peer-source.ts';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { TorrentSession } from '../src/session/torrent-session.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import { seededRandom, systemClock, systemTimers, type Timers } from '../src/timers.ts';
import type { Dialer, PeerAddress } from '../src/transport.ts';
import { fullStorage, peerId, type TestTorrent, testTorrent } from './session-helpers.ts';

/** Sessions reachable by "127.0.0.1:port" over in-memory transports. */
function memoryNet() {
  const nodes = new Map<number, TorrentSession>();
  const dialerFor = (fromPort: number): Dialer => ({
    async dial(address: PeerAddress) {
      const target = nodes.get(address.port);
      if (!target) return { ok: false, error: { code: 'BT_TEST_DIAL', message: 'no such node' } };
      const [a, b] = memoryTransportPair();
      // Let both ends know who is on the other side (the memory pair reports kind only).
      Object.assign(a.remote, { address: '127.0.0.1', port: address.port, outgoing: true });
      Object.assign(b.remote, { address: '127.0.0.1', port: fromPort + 10000, outgoing: false });
      target.addIncoming(b);
      return { ok: true, transport: a };
    },
  });
  return { nodes, dialerFor };
}

/** Node `n` of `net` on torrent `t`: peer id and random seed `n`, system clock. */
function sessionOf(
  t: TestTorrent,
  n: number,
  storage: MemoryStorage,
  net: ReturnType<typeof memoryNet>,
  timers: Timers = systemTimers,
): TorrentSession {
  return new TorrentSession({
    infoHash: t.infoHash,
    peerId: peerId(n),
    layout: t.layout,
    storage,
    verifyPiece: t.verify,
    clock: systemClock,
    timers,
    random: seededRandom(n),
    dialer: net.dialerFor(n),
  });
}

describe('torrent session over memory transports', () => {
  it('a leecher downloads a multi-file torrent from a seed, byte for byte', async () => {
    const t = testTorrent(0, 32 * 1024, [100_000, 1, 300_000, 77_777]);
    const net = memoryNet();
    const seed = sessionOf(t, 1, await fullStorage(t), net);
    const storage = new MemoryStorage(t.layout);
    const leech = sessionOf(t, 2, storage, net);
    net.nodes.set(1, seed);
    net.nodes.set(2, leech);
    await seed.start();
    expect(seed.isDone).toBe(true);
    await leech.start();
    const done = new Promise<void>((r) => leech.on('done', r));
    leech.addPeers([{ host: '127.0.0.1', port: 1 }]);
    await done;
    expect(await storage.read(0, t.layout.totalLength)).toEqual(t.content);
    expect(leech.stats().pieces).toBe(t.layout.pieceCount);
    await leech.close();
    await seed.close();
  });

  it("announces 'completed' only after downloading, never when complete at start (BEP 3)", async () => {
    const t = testTorrent(200_000, 32 * 1024);
    const net = memoryNet();
    /** A tracker stand-in that records `completed` announces. */
    const recorder = () => {
      const calls: string[] = [];
      const source: PeerSource = {
        name: 'recorder',
        run: (_h, signal) => new Promise((r) => signal.addEventListener('abort', () => r())),
        completed: () => calls.push('completed'),
      };
      return { calls, source };
    };
    const session = (n: number, storage: MemoryStorage) => sessionOf(t, n, storage, net);
    const seed = session(1, await fullStorage(t));
    const seedTracker = recorder();
    seed.addPeerSource(seedTracker.source);
    net.nodes.set(1, seed);
    await seed.start();
    expect(seed.isDone).toBe(true);

    const leech = session(2, new MemoryStorage(t.layout));
    const leechTracker = recorder();
    leech.addPeerSource(leechTracker.source);
    net.nodes.set(2, leech);
    await leech.start();
    const done = new Promise<void>((r) => leech.on('done', r));
    leech.addPeers([{ host: '127.0.0.1', port: 1 }]);
    await done;
    expect(leechTracker.calls).toEqual(['completed']);
    // The seed uploaded the whole torrent meanwhile and still never completed anything.
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.layout.totalLength);
    expect(seedTracker.calls).toEqual([]);
    await leech.close();
    await seed.close();
  });
  it("close waits for the sources to end (a tracker's 'stopped'), and at most 6 s for one that never does", async () => {
    const t = testTorrent(100_000, 32 * 1024);
    const calls: string[] = [];
    // A tracker stand-in whose 'stopped' takes a while, and a source that never ends.
    const tracker: PeerSource = {
      name: 'slow stopped',
      run: (_h, signal) =>
        new Promise((r) =>
          signal.addEventListener('abort', () =>
            setTimeout(() => {
              calls.push('stopped');
              r();
            }, 50),
          ),
        ),
    };
    const stuck: PeerSource = { name: 'stuck', run: () => new Promise(() => {}) };
    // System timers, except that the bound on the wait is fired by the test.
    const bounds: Array<() => void> = [];
    const timers = {
      ...systemTimers,
      setTimeout(fn: () => void, ms: number) {
        if (ms !== 6_000) return systemTimers.setTimeout(fn, ms);
        bounds.push(fn);
        return { cancel: () => bounds.splice(bounds.indexOf(fn), 1) };
      },
    };
    const session = sessionOf(t, 1, await fullStorage(t), memoryNet(), timers);
    session.addPeerSource(tracker);
    await session.start();
    await session.close();
    expect(calls).toEqual(['stopped']);

    const other = sessionOf(t, 2, await fullStorage(t), memoryNet(), timers);
    other.addPeerSource(stuck);
    await other.start();
    let closed = false;
    const closing = other.close().then(() => (closed = true));
    for (let i = 0; i < 20 && bounds.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false);
    expect(bounds).toHaveLength(1);
    bounds[0]!();
    await closing;
    expect(closed).toBe(true);
  });
});
