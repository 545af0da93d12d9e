import { describe, expect, it } from 'vitest';
import { type PickerPeer, PieceState, pickBlocks } from '../src/picker/index.ts';
import { seededRandom } from '../src/timers.ts';
import { BLOCK_SIZE } from '../src/wire/index.ts';

/**
 * Readable fixtures, libtorrent style: `avail` has one digit per piece (peers that have it),
 * `have` a '*' per piece we have, `partial` block states per piece ('.' free, 'R' received,
 * a digit = outstanding requests). Every piece has 4 blocks.
 */
function setup(avail: string, have = '', partial: Record<number, string> = {}): PieceState {
  const s = new PieceState(4 * BLOCK_SIZE, avail.length * 4 * BLOCK_SIZE);
  for (let p = 0; p < avail.length; p++) s.addAvailability(p, Number(avail[p]));
  for (let p = 0; p < have.length; p++) if (have[p] === '*') s.verified(p);
  for (const [p, blocks] of Object.entries(partial)) {
    [...blocks].forEach((c, b) => {
      if (c === 'R') s.received(Number(p), b);
      else for (let i = 0; i < Number(c === '.' ? 0 : c); i++) s.requested(Number(p), b);
    });
  }
  return s;
}

/** A peer with the pieces marked '*' (or all when omitted). */
function peer(has?: string, requested: string[] = [], allowedOnly?: number[]): PickerPeer {
  return {
    has: (p) => has === undefined || has[p] === '*',
    requested: (p, b) => requested.includes(`${p}:${b}`),
    ...(allowedOnly ? { allowedOnly: new Set(allowedOnly) } : {}),
  };
}

const fmt = (refs: { piece: number; block: number }[]) => refs.map((r) => `${r.piece}:${r.block}`);
const opts = { random: seededRandom(1) };

describe('pickBlocks', () => {
  const table: Array<{
    name: string;
    avail: string;
    have?: string;
    partial?: Record<number, string>;
    peerHas?: string;
    count: number;
    want: string[];
  }> = [
    { name: 'rarest piece first', avail: '2223133', count: 4, want: ['4:0', '4:1', '4:2', '4:3'] },
    { name: 'then the next rarest', avail: '4431233', count: 5, want: ['3:0', '3:1', '3:2', '3:3', '4:0'] },
    { name: 'skips pieces we have', avail: '1123', have: '**', count: 2, want: ['2:0', '2:1'] },
    {
      name: 'only pieces the peer has',
      avail: '1233',
      peerHas: '   *',
      count: 8,
      want: ['3:0', '3:1', '3:2', '3:3'],
    },
    {
      name: 'finishes a partial piece before a rarer fresh one',
      avail: '3313',
      partial: { 1: 'R.1.' },
      count: 3,
      want: ['1:1', '1:3', '2:0'],
    },
    {
      name: 'rarest partial first',
      avail: '3212',
      partial: { 0: 'R...', 1: 'RR..' },
      count: 4,
      want: ['1:2', '1:3', '0:1', '0:2'],
    },
    {
      name: 'nothing when the peer has nothing we want',
      avail: '11',
      have: '* ',
      peerHas: '* ',
      count: 4,
      want: [],
    },
    {
      name: 'no endgame while free blocks remain elsewhere',
      avail: '11',
      partial: { 0: '1111' },
      peerHas: '* ',
      count: 4,
      want: [],
    },
    {
      name: 'endgame: duplicates, fewest outstanding first',
      avail: '11',
      partial: { 0: '2R1R', 1: 'RR1R' },
      count: 3,
      want: ['0:2', '1:2', '0:0'],
    },
  ];

  it.each(table.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const s = setup(c.avail, c.have, c.partial);
    expect(fmt(pickBlocks(s, peer(c.peerHas), c.count, opts))).toEqual(c.want);
  });

  it('endgame skips blocks this peer already has requested and respects maxDuplicates', () => {
    const s = setup('11', '', { 0: '1111', 1: '3333' });
    expect(fmt(pickBlocks(s, peer(undefined, ['0:0', '0:2']), 8, opts))).toEqual(['0:1', '0:3']);
    expect(fmt(pickBlocks(s, peer(), 8, { random: seededRandom(1), maxDuplicates: 4 }))).toEqual([
      '0:0',
      '0:1',
      '0:2',
      '0:3',
      '1:0',
      '1:1',
      '1:2',
      '1:3',
    ]);
  });

  it('streaming: pieces with deadlines first, soonest first, ahead of rarer pieces', () => {
    const s = setup('33331');
    s.setDeadline(3, 200);
    s.setDeadline(1, 100);
    expect(fmt(pickBlocks(s, peer(), 9, opts))).toEqual([
      '1:0',
      '1:1',
      '1:2',
      '1:3',
      '3:0',
      '3:1',
      '3:2',
      '3:3',
      '4:0',
    ]);
    s.verified(1);
    expect(s.deadlinePieces()).toEqual([3]);
  });

  it('while choked, only allowed-fast pieces', () => {
    const s = setup('1111');
    expect(fmt(pickBlocks(s, peer(undefined, [], [2]), 8, opts))).toEqual(['2:0', '2:1', '2:2', '2:3']);
  });

  it('breaks ties between equally rare pieces at random, reproducibly per seed', () => {
    const first = (seed: number) =>
      pickBlocks(setup('1111111111111111'), peer(), 1, { random: seededRandom(seed) })[0]?.piece;
    expect(first(7)).toBe(first(7));
    const seen = new Set(Array.from({ length: 20 }, (_, i) => first(i)));
    expect(seen.size).toBeGreaterThan(3);
  });
});

describe('PieceState', () => {
  it('keeps the free-block count through request, end, receive, verify and fail', () => {
    const s = new PieceState(2 * BLOCK_SIZE, 3 * 2 * BLOCK_SIZE - 100);
    expect(s.pieceCount).toBe(3);
    expect(s.blockLength(2, 1)).toBe(BLOCK_SIZE - 100);
    expect(s.freeBlockCount()).toBe(6);
    s.requested(0, 0);
    s.requested(0, 0);
    expect(s.freeBlockCount()).toBe(5);
    expect(s.blockState(0, 0)).toBe(2);
    s.requestEnded(0, 0);
    expect(s.freeBlockCount()).toBe(5);
    s.requestEnded(0, 0);
    expect(s.freeBlockCount()).toBe(6);
    expect([...s.partialPieces()]).toEqual([]);
    expect(s.received(1, 0)).toBe(false);
    expect(s.received(1, 1)).toBe(true);
    expect(s.received(1, 1)).toBe(false);
    expect(s.freeBlockCount()).toBe(4);
    s.failed(1);
    expect(s.freeBlockCount()).toBe(6);
    s.received(1, 0);
    s.received(1, 1);
    s.verified(1);
    expect(s.freeBlockCount()).toBe(4);
    expect(s.hasPiece(1) && !s.wants(1)).toBe(true);
    s.setWanted(2, false);
    expect(s.freeBlockCount()).toBe(2);
    s.verified(0);
    expect(s.done).toBe(true);
    expect(s.completed).toBe(2);
  });
});
