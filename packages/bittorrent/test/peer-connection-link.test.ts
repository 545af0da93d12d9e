import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { PeerConnectionLink } from '../src/peer/peer-connection-link.ts';
import type { PeerLinkEvents } from '../src/session/peer-link.ts';
import { TorrentSession } from '../src/session/torrent-session.ts';
import { VirtualTime } from '../src/sim/virtual-time.ts';
import { pieceSize } from '../src/storage/layout.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import { seededRandom, systemClock, systemTimers } from '../src/timers.ts';
import type { Dialer, PeerAddress, Transport } from '../src/transport.ts';
import { fullStorage, peerId, type TestTorrent, testTorrent } from './session-helpers.ts';

/** The engine's TorrentSession with PeerConnection (through PeerConnectionLink) on every peer. */
describe('TorrentSession over PeerConnectionLink', () => {
  it('a leecher downloads from a seed byte for byte', async () => {
    const t = testTorrent(0, 32 * 1024, [100_000, 1, 300_000, 77_777]);
    const nodes = new Map<number, TorrentSession>();
    const dialerFor = (): Dialer => ({
      async dial(address: PeerAddress) {
        const target = nodes.get(address.port);
        if (!target) return { ok: false, error: { code: 'BT_TEST_DIAL', message: 'no such node' } };
        const [a, b] = memoryTransportPair();
        target.addIncoming(b);
        return { ok: true, transport: a };
      },
    });
    const linkFactory = (t: TestTorrent, id: Uint8Array) => (transport: Transport) =>
      new PeerConnectionLink(transport, {
        infoHash: t.infoHash,
        peerId: id,
        clock: systemClock,
        timers: systemTimers,
        layout: { pieceCount: t.layout.pieceCount, pieceSize: (i) => pieceSize(t.layout, i) },
      });
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
        dialer: dialerFor(),
        linkFactory: linkFactory(t, peerId(n)),
      });
    const seed = session(1, await fullStorage(t));
    const storage = new MemoryStorage(t.layout);
    const leech = session(2, storage);
    nodes.set(1, seed);
    nodes.set(2, leech);
    await seed.start();
    await leech.start();
    const done = new Promise<void>((r) => leech.on('done', r));
    leech.addPeers([{ host: '127.0.0.1', port: 1 }]);
    await done;
    expect(await storage.read(0, t.layout.totalLength)).toEqual(t.content);
    expect(leech.stats().downloaded).toBeGreaterThanOrEqual(t.layout.totalLength);
    await leech.close();
    await seed.close();
  });
});

describe('PeerConnectionLink with BEP 10 extensions', () => {
  it('exchanges extension handshakes and passes PEX peers to the session', () => {
    const vt = new VirtualTime();
    const [ta, tb] = memoryTransportPair({ schedule: vt.defer });
    const infoHash = new Uint8Array(20).fill(5);
    const opts = (id: number) => ({
      infoHash,
      peerId: new Uint8Array(20).fill(id),
      clock: vt,
      timers: vt,
      defer: vt.defer,
      layout: { pieceCount: 4, pieceSize: () => 32768 },
    });
    const a = new PeerConnectionLink(ta, opts(1), undefined, {
      info: () => undefined,
      pex: true,
      pexPeers: () => [{ host: '10.1.2.3', port: 4567 }],
    });
    const b = new PeerConnectionLink(tb, opts(2), undefined, { info: () => undefined, pex: true });
    const found: string[] = [];
    const events = (): PeerLinkEvents => ({
      ready: () => {},
      have: () => {},
      bitfield: () => {},
      choked: () => {},
      interested: () => {},
      block: () => {},
      requestEnded: () => {},
      request: () => {},
      cancel: () => {},
      peers: (list) => found.push(...list.map((p) => `${p.host}:${p.port}`)),
      drain: () => {},
      closed: () => {},
    });
    a.start(events());
    b.start(events());
    vt.runFor(61_000);
    expect(b.extensions?.remote?.m.ut_pex).toBeGreaterThan(0);
    expect(found).toEqual(['10.1.2.3:4567']);
    a.close();
    vt.runFor(100);
  });
});
