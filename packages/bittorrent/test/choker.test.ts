import { describe, expect, it } from 'vitest';
import { type ChokerPeer, INITIAL_CHOKER_STATE, unchokeOrder } from '../src/choker/index.ts';
import { seededRandom } from '../src/timers.ts';

/** `p('a', 50, 10)`: peer a, interested, 50 B/s from it, 10 B/s to it, connected at 0. */
function p(id: string, down: number, up = 0, extra: Partial<ChokerPeer> = {}): ChokerPeer {
  return { id, interested: true, downloadRate: down, uploadRate: up, connectedAt: 0, ...extra };
}

describe('unchokeOrder', () => {
  const table: Array<{
    name: string;
    peers: ChokerPeer[];
    seeding: boolean;
    slots?: number;
    unchoke: string[];
  }> = [
    {
      name: 'leeching: tit-for-tat by download rate, plus one optimistic',
      peers: [p('a', 10), p('b', 50), p('c', 30), p('d', 40), p('e', 20), p('f', 5)],
      seeding: false,
      unchoke: ['b', 'd', 'c', 'e', 'a'],
    },
    {
      name: 'seeding: by upload rate to the peer',
      peers: [p('a', 99, 1), p('b', 0, 50), p('c', 0, 30), p('d', 0, 40), p('e', 0, 20), p('f', 0, 5)],
      seeding: true,
      unchoke: ['b', 'd', 'c', 'e', 'a'],
    },
    {
      name: 'uninterested peers get no slot however fast',
      peers: [p('a', 1000, 0, { interested: false }), p('b', 1), p('c', 2)],
      seeding: false,
      unchoke: ['c', 'b'],
    },
    {
      name: 'fewer interested peers than slots: all unchoked, no optimistic needed',
      peers: [p('a', 1), p('b', 2)],
      seeding: false,
      unchoke: ['b', 'a'],
    },
    {
      name: 'optimistic favours a peer never optimistically unchoked',
      peers: [
        p('a', 9),
        p('b', 8),
        p('old', 0, 0, { lastOptimisticAt: 5 }),
        p('new', 0, 0, { connectedAt: 7 }),
      ],
      seeding: false,
      slots: 2,
      unchoke: ['a', 'b', 'new'],
    },
    {
      name: 'then the one that waited longest',
      peers: [p('a', 9), p('x', 0, 0, { lastOptimisticAt: 50 }), p('y', 0, 0, { lastOptimisticAt: 20 })],
      seeding: false,
      slots: 1,
      unchoke: ['a', 'y'],
    },
    {
      name: 'equal rates are ordered by id (deterministic)',
      peers: [p('c', 5), p('a', 5), p('b', 5)],
      seeding: false,
      slots: 2,
      unchoke: ['a', 'b', 'c'],
    },
  ];

  it.each(table.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const d = unchokeOrder(c.peers, 1000, { seeding: c.seeding, slots: c.slots });
    expect(d.unchoke).toEqual(c.unchoke);
    expect(new Set(d.unchoke).size).toBe(d.unchoke.length);
  });

  it('with a random source, equal rates are ordered at random (nodes do not all favour the same peers)', () => {
    const peers = Array.from({ length: 12 }, (_, i) => p(`p${String(i).padStart(2, '0')}`, 0));
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const d = unchokeOrder(peers, 0, { seeding: false, random: seededRandom(seed) });
      expect(d.unchoke.length).toBe(5);
      firsts.add(d.unchoke.slice(0, 4).join(','));
    }
    expect(firsts.size).toBeGreaterThan(10);
    // Rates still come first: a faster peer is never behind a slower one.
    const mixed = [...peers.slice(0, 6), p('fast', 100)];
    expect(unchokeOrder(mixed, 0, { seeding: false, random: seededRandom(3) }).unchoke[0]).toBe('fast');
  });

  it('keeps the optimistic peer for 30 s, then rotates it', () => {
    const peers = [p('a', 9), p('x', 0, 0, { connectedAt: 1 }), p('y', 0, 0, { connectedAt: 2 })];
    const s = { seeding: false, slots: 1 };
    const r0 = unchokeOrder(peers, 0, s, INITIAL_CHOKER_STATE);
    expect(r0.optimistic).toEqual(['x']);
    const after = peers.map((q) => (q.id === 'x' ? { ...q, lastOptimisticAt: 0 } : q));
    const r1 = unchokeOrder(after, 29_999, s, r0.state);
    expect(r1.optimistic).toEqual(['x']);
    const r2 = unchokeOrder(after, 30_000, s, r1.state);
    expect(r2.optimistic).toEqual(['y']);
    expect(r2.state.optimisticSince).toBe(30_000);
  });

  it('replaces the optimistic peer at once when it loses interest or earns a regular slot', () => {
    const s = { seeding: false, slots: 1 };
    const r0 = unchokeOrder([p('a', 9), p('x', 0), p('y', 0)], 0, s);
    expect(r0.optimistic).toEqual(['x']);
    const r1 = unchokeOrder([p('a', 9), p('x', 0, 0, { interested: false }), p('y', 0)], 10, s, r0.state);
    expect(r1.unchoke).toEqual(['a', 'y']);
    const r2 = unchokeOrder([p('a', 1), p('x', 50), p('y', 0)], 20, s, r0.state);
    expect(r2.unchoke).toEqual(['x', 'a']);
  });
});
