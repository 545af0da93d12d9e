import { describe, expect, it } from 'vitest';
import { decodeHolepunch, encodeHolepunch, type HolepunchMessage } from '../src/extensions/ut-holepunch.ts';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { TorrentSession } from '../src/session/torrent-session.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import { seededRandom, systemClock, systemTimers } from '../src/timers.ts';
import type { Dialer, PeerAddress } from '../src/transport.ts';
import { prng, randomBytes } from './prng.ts';
import { fullStorage, peerId, testTorrent } from './session-helpers.ts';

describe('BEP 55 ut_holepunch messages', () => {
  it('encodes the BEP 55 layout for IPv4 and IPv6 and reads it back', () => {
    const m: HolepunchMessage = { type: 'connect', address: { host: '11.2.3.4', port: 6881 }, error: 0 };
    expect([...encodeHolepunch(m)]).toEqual([1, 0, 11, 2, 3, 4, 0x1a, 0xe1, 0, 0, 0, 0]);
    const d = decodeHolepunch(encodeHolepunch(m));
    expect(d.ok && d.value).toEqual(m);
    const v6: HolepunchMessage = {
      type: 'error',
      address: { host: '2001:db8:0:0:0:0:0:1', port: 1 },
      error: 2,
    };
    const e = encodeHolepunch({ ...v6, address: { host: '2001:db8::1', port: 1 } });
    expect(e.length).toBe(2 + 16 + 6);
    const back = decodeHolepunch(e);
    expect(back.ok && back.value).toEqual({ ...v6, address: { host: '2001:db8:0:0:0:0:0:1', port: 1 } });
  });

  it('refuses malformed messages with BT_HOLEPUNCH_BAD, and fuzzed bytes never throw', () => {
    for (const bad of [
      [],
      [0],
      [3, 0, 1, 2, 3, 4, 0, 1, 0, 0, 0, 0],
      [0, 2, 1, 2, 3, 4, 0, 1, 0, 0, 0, 0],
      [0, 0, 1, 2],
    ]) {
      const d = decodeHolepunch(new Uint8Array(bad));
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.error.code).toBe('BT_HOLEPUNCH_BAD');
    }
    expect(() =>
      encodeHolepunch({ type: 'rendezvous', address: { host: 'example.org', port: 1 }, error: 0 }),
    ).toThrow(RangeError);
    const rnd = prng(55);
    for (let i = 0; i < 5_000; i++) {
      const b = randomBytes(rnd, Math.floor(rnd() * 30));
      const d = decodeHolepunch(b);
      if (d.ok) expect(encodeHolepunch(d.value)).toEqual(b);
    }
  });
});

/**
 * Sessions on a memory network where two of them sit behind port-restricted NATs: a dial to a
 * NATed node succeeds only if that node dialled the caller in the last 30 s (its NAT then
 * holds a mapping the caller's packets match), and every dial opens the caller's own NAT to
 * the callee, as a uTP SYN does.
 */
function natNet() {
  const nodes = new Map<string, { session: TorrentSession; natted: boolean }>();
  const opened = new Map<string, Map<string, number>>();
  const key = (a: PeerAddress) => `${a.host}:${a.port}`;
  const dialerFor = (self: PeerAddress): Dialer => ({
    async dial(address: PeerAddress) {
      const me = key(self);
      const them = key(address);
      const mine = opened.get(me) ?? new Map<string, number>();
      opened.set(me, mine);
      mine.set(them, Date.now());
      const target = nodes.get(them);
      const holes = opened.get(them);
      if (!target || (target.natted && !(Date.now() - (holes?.get(me) ?? 0) < 30_000)))
        return { ok: false, error: { code: 'BT_TEST_DIAL', message: `${them} dropped the SYN` } };
      const [a, b] = memoryTransportPair();
      Object.assign(a.remote, { address: address.host, port: address.port, outgoing: true });
      Object.assign(b.remote, { address: self.host, port: self.port, outgoing: false });
      target.session.addIncoming(b);
      return { ok: true, transport: a };
    },
  });
  return { nodes, dialerFor };
}

describe('BEP 55 hole punching in the session', () => {
  it('B, which cannot dial A behind its NAT, asks the relay; both dial at once and B downloads from A', async () => {
    const t = testTorrent(600_000, 32 * 1024);
    const net = natNet();
    const R = { host: '100.64.0.1', port: 6881 };
    const A = { host: '11.0.0.1', port: 6882 };
    const B = { host: '12.0.0.1', port: 6883 };
    const make = async (
      n: number,
      self: PeerAddress,
      storage: MemoryStorage,
      pex: boolean,
      wanted?: boolean,
    ) => {
      const s = new TorrentSession({
        infoHash: t.infoHash,
        peerId: peerId(n),
        layout: t.layout,
        storage,
        verifyPiece: t.verify,
        clock: systemClock,
        timers: systemTimers,
        random: seededRandom(n),
        dialer: net.dialerFor(self),
        pex,
        holepunch: true,
        listenPort: self.port,
        ...(wanted === false ? { wanted: () => false } : {}),
      });
      return s;
    };
    // The relay holds no data and wants none: B can get the bytes from A alone.
    const relay = await make(1, R, new MemoryStorage(t.layout), true, false);
    // A exchanges no peers, so it never learns of B by itself and never dials it first.
    const a = await make(2, A, await fullStorage(t), false);
    const bStorage = new MemoryStorage(t.layout);
    const b = await make(3, B, bStorage, true);
    net.nodes.set(`${R.host}:${R.port}`, { session: relay, natted: false });
    net.nodes.set(`${A.host}:${A.port}`, { session: a, natted: true });
    net.nodes.set(`${B.host}:${B.port}`, { session: b, natted: true });
    const events: string[] = [];
    relay.on('holepunch', (kind, x, y) => events.push(`relay ${kind} ${x} ${y}`));
    a.on('holepunch', (kind, x) => events.push(`A ${kind} ${x}`));
    b.on('holepunch', (kind, x) => events.push(`B ${kind} ${x}`));
    try {
      await relay.start();
      await a.start();
      await b.start();
      a.addPeers([R]);
      await new Promise<void>((r) => {
        const check = () => (relay.stats().peers >= 1 ? r() : setTimeout(check, 20));
        check();
      });
      const done = new Promise<void>((r) => b.on('done', r));
      b.addPeers([R]);
      await done;
      expect(await bStorage.read(0, t.layout.totalLength)).toEqual(t.content);
      expect(events).toContain(`relay relayed ${B.host}:${B.port} ${A.host}:${A.port}`);
      expect(events).toContain(`A connect ${B.host}:${B.port}`);
      expect(events).toContain(`B connect ${A.host}:${A.port}`);
      expect(relay.stats().uploaded).toBe(0);
    } finally {
      await b.close();
      await a.close();
      await relay.close();
    }
  }, 90_000);
});
