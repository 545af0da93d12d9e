import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBencode } from '../src/bencode.ts';
import { MetadataFetcher, PeerExtensions } from '../src/extensions/index.ts';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { PeerConnection, type PeerEvents, peerEvents } from '../src/peer/index.ts';
import { VirtualTime } from '../src/sim/virtual-time.ts';
import type { Dialer, PeerAddress } from '../src/transport.ts';

const sha1 = async (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest());
const info = encodeBencode({
  name: 'ep.mp3',
  'piece length': 16384,
  length: 9,
  pieces: new Uint8Array(40_000).fill(1),
});
/** Same size, other bytes: a peer serving this lies. */
const forged = encodeBencode({
  name: 'ep.mp3',
  'piece length': 16384,
  length: 9,
  pieces: new Uint8Array(40_000).fill(2),
});

type Behaviour = 'honest' | 'liar' | 'silent' | 'no-metadata' | 'late';

/** Peers at 10.0.0.N serving `info` (or lying, or never answering) over memory transports. */
function network(vt: VirtualTime, infoHash: Uint8Array, peers: Record<string, Behaviour>) {
  const served: string[] = [];
  const dials: string[] = [];
  const dialer: Dialer = {
    async dial(address: PeerAddress) {
      const behaviour = peers[address.host];
      dials.push(address.host);
      if (!behaviour || (behaviour === 'late' && vt.now() < 5_000))
        return { ok: false, error: { code: 'BT_TEST_DIAL', message: 'nobody' } };
      const [ours, theirs] = memoryTransportPair({ schedule: vt.defer });
      const conn = new PeerConnection(theirs, {
        infoHash,
        peerId: new Uint8Array(20).fill(address.host.length + served.length),
        clock: vt,
        timers: vt,
        defer: vt.defer,
      });
      const data = behaviour === 'liar' ? forged : info;
      const ext = new PeerExtensions(
        conn,
        { info: () => (behaviour === 'no-metadata' ? undefined : data), pex: false, now: () => vt.now() },
        { handshake: () => {}, metadata: () => {}, metadataRejected: () => {}, pex: () => {} },
      );
      const events: PeerEvents = peerEvents({
        handshake: () => ext.sendHandshake(),
        extended: (_c, id, payload) => {
          if (behaviour === 'silent' && id !== 0) return;
          if (id !== 0) served.push(address.host);
          ext.onExtended(id, payload);
        },
      });
      conn.start(events);
      return { ok: true, transport: ours };
    },
  };
  return { dialer, served, dials };
}

function fetcher(
  vt: VirtualTime,
  infoHash: Uint8Array,
  dialer: Dialer,
  extra: { maxConnections?: number; signal?: AbortSignal } = {},
) {
  return new MetadataFetcher({
    infoHash,
    hash: sha1,
    peerId: new Uint8Array(20).fill(9),
    dialer,
    clock: vt,
    timers: vt,
    defer: vt.defer,
    ...extra,
  });
}

async function fetch(peers: Record<string, Behaviour>, maxConnections = 4) {
  const vt = new VirtualTime();
  const infoHash = await sha1(info);
  const net = network(vt, infoHash, peers);
  const f = fetcher(vt, infoHash, net.dialer, { maxConnections });
  let result: Awaited<typeof f.result> | undefined;
  void f.result.then((r) => {
    result = r;
  });
  f.start();
  f.addPeers(Object.keys(peers).map((host) => ({ host, port: 6881 })));
  await vt.runUntilAsync(() => result !== undefined, 120_000);
  return { result, vt, served: net.served, dials: net.dials };
}

describe('MetadataFetcher (BEP 9 for bare magnet links)', () => {
  it('fetches and verifies the info dictionary from a peer', async () => {
    const { result } = await fetch({ '10.0.0.1': 'honest' });
    expect(result?.ok && Buffer.from(result.value).equals(Buffer.from(info))).toBe(true);
  });

  it('dials again a peer that refused at first (a seeder still starting), with back-off', async () => {
    const { result, dials, vt } = await fetch({ '10.0.0.1': 'late' });
    expect(result?.ok && Buffer.from(result.value).equals(Buffer.from(info))).toBe(true);
    expect(dials.length).toBeGreaterThanOrEqual(3);
    expect(dials.length).toBeLessThanOrEqual(4);
    expect(vt.now()).toBeGreaterThanOrEqual(5_000);
  });

  it('drops a peer serving forged metadata and gets it from an honest one', async () => {
    const { result, served, dials } = await fetch({ '10.0.0.1': 'liar', '10.0.0.2': 'honest' }, 1);
    expect(served).toContain('10.0.0.1');
    expect(dials.filter((h) => h === '10.0.0.1')).toHaveLength(1);
    expect(result?.ok && Buffer.from(result.value).equals(Buffer.from(info))).toBe(true);
  });

  it('moves on from a peer that never answers and one without metadata', async () => {
    const { result, vt } = await fetch(
      { '10.0.0.1': 'silent', '10.0.0.3': 'no-metadata', '10.0.0.2': 'honest' },
      1,
    );
    expect(result?.ok).toBe(true);
    expect(vt.now()).toBeGreaterThanOrEqual(15_000);
  });

  it('keeps waiting (and can be aborted) when no peer can serve it', async () => {
    const vt = new VirtualTime();
    const infoHash = await sha1(info);
    const net = network(vt, infoHash, { '10.0.0.1': 'liar' });
    const abort = new AbortController();
    const f = fetcher(vt, infoHash, net.dialer, { signal: abort.signal });
    f.start();
    f.addPeers([{ host: '10.0.0.1', port: 1 }]);
    await vt.runUntilAsync(() => false, 30_000);
    abort.abort();
    const r = await f.result;
    expect(r.ok ? 'ok' : r.error.code).toBe('BT_METADATA_ABORTED');
  });
});
