import { describe, expect, it } from 'vitest';
import { MemorySwarmStore } from '../src/store/memory-store.ts';
import type { StoreAnnounce } from '../src/store/swarm-store.ts';
import type { InfoHash, PeerRecord } from '../src/types.ts';

/** xorshift32: the same sequence on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const hash = 'ab'.repeat(20) as InfoHash;

function compact(i: number, v6: boolean): Uint8Array {
  const c = new Uint8Array(v6 ? 18 : 6);
  if (v6) {
    c[0] = 0x20;
    c[1] = 0x01;
    c[14] = i >> 8;
    c[15] = i & 0xff;
  } else {
    c.set([10, 0, i >> 8, i & 0xff]);
  }
  c[c.length - 2] = 0x1a;
  c[c.length - 1] = i & 0xff;
  return c;
}

function announce(i: number, rnd: () => number, over: Partial<StoreAnnounce> = {}): StoreAnnounce {
  const r = rnd();
  return {
    infoHash: hash,
    peerKey: `peer-${i}`,
    peer: { kind: 'tcp', compact: compact(i, i % 5 === 0), peerId: new Uint8Array(20).fill(i & 0xff) },
    seeder: r < 0.4,
    event: r < 0.05 ? 'stopped' : r < 0.1 ? 'started' : 'update',
    uploaded: 0,
    downloaded: r < 0.07 ? 0 : 5,
    numwant: 1 + Math.floor(rnd() * 60),
    now: 1_000,
    ttlMs: 60_000,
    ...over,
  };
}

const join = (parts: Uint8Array[]) => Buffer.concat(parts).toString('hex');

describe('memory store, packed peers', () => {
  it('hands a compact announce the same peers, as bytes, as the records path, through joins, leaves, flag changes and expiry', async () => {
    // Two stores with the same random source take the same steps: one answers with records,
    // the other packed. Swap-removal, growth and seeder flips must keep the bytes in step.
    const records = new MemorySwarmStore({ random: seeded(7) });
    const packed = new MemorySwarmStore({ random: seeded(7) });
    const rnd = seeded(99);
    let compared = 0;
    const mismatches: string[] = [];
    for (let step = 0; step < 4000; step++) {
      const i = Math.floor(rnd() * 300);
      const a = announce(i, rnd, { now: 1_000 + step });
      const r1 = records.announceNow(a);
      const r2 = packed.announceNow({ ...a, packed: true });
      if ('error' in r1 || 'error' in r2) throw new Error('unexpected error');
      const v4 = r1.peers.filter((p: PeerRecord) => p.compact.length === 6).map((p) => p.compact);
      const v6 = r1.peers.filter((p: PeerRecord) => p.compact.length === 18).map((p) => p.compact);
      // A stopped announce is handed nothing, in either form.
      const got = `${join([r2.packed?.v4 ?? new Uint8Array(0)])}/${join([r2.packed?.v6 ?? new Uint8Array(0)])}`;
      const want = `${join(v4)}/${join(v6)}`;
      const counts = (r: typeof r1) =>
        `${r.complete} ${r.incomplete} ${r.downloaded} ${JSON.stringify(r.previous)}`;
      if (got !== want || r2.peers.length > 0 || counts(r1) !== counts(r2)) mismatches.push(`step ${step}`);
      compared += v4.length + v6.length;
      if (step % 700 === 699) {
        // Expire the older half on both.
        expect(await packed.sweep(1_000 + step + 60_000 - 350, 60_000)).toBe(
          await records.sweep(1_000 + step + 60_000 - 350, 60_000),
        );
      }
    }
    expect(mismatches).toEqual([]);
    // The walk handed out many peers of both families, not a few empty answers.
    expect(compared).toBeGreaterThan(20_000);
  });

  it('never hands a peer itself, and a seeder no seeder, in packed form', () => {
    const store = new MemorySwarmStore({ random: () => 0 });
    const base = { infoHash: hash, event: 'update' as const, uploaded: 0, downloaded: 5, now: 1, ttlMs: 1e6 };
    const peer = (i: number): PeerRecord => ({
      kind: 'tcp',
      compact: compact(i, false),
      peerId: new Uint8Array(20),
    });
    store.announceNow({ ...base, peerKey: 's1', peer: peer(1), seeder: true, numwant: 0 });
    store.announceNow({ ...base, peerKey: 'l2', peer: peer(2), seeder: false, numwant: 0 });
    const seeder = store.announceNow({
      ...base,
      peerKey: 's3',
      peer: peer(3),
      seeder: true,
      numwant: 50,
      packed: true,
    });
    const leecher = store.announceNow({
      ...base,
      peerKey: 'l2',
      peer: peer(2),
      seeder: false,
      numwant: 50,
      packed: true,
    });
    if ('error' in seeder || 'error' in leecher) throw new Error('unexpected error');
    expect(Buffer.from(seeder.packed!.v4).toString('hex')).toBe(
      Buffer.from(compact(2, false)).toString('hex'),
    );
    expect(Buffer.from(leecher.packed!.v4).toString('hex')).toBe(
      join([compact(1, false), compact(3, false)]),
    );
  });
});
