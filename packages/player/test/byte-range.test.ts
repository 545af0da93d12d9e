import { describe, expect, it } from 'vitest';
import { type PieceSource, parseRange, pieceSources, piecesForRange } from '../src/delivery/byte-range.ts';

describe('parseRange', () => {
  it.each([
    [null, 1000, { kind: 'full' }],
    ['bytes=0-', 1000, { kind: 'range', start: 0, end: 999 }],
    ['bytes=0-499', 1000, { kind: 'range', start: 0, end: 499 }],
    ['bytes=500-5000', 1000, { kind: 'range', start: 500, end: 999 }],
    ['bytes=-200', 1000, { kind: 'range', start: 800, end: 999 }],
    ['bytes=-2000', 1000, { kind: 'range', start: 0, end: 999 }],
    ['bytes=999-999', 1000, { kind: 'range', start: 999, end: 999 }],
    ['bytes=1000-', 1000, { kind: 'unsatisfiable' }],
    ['bytes=5-4', 1000, { kind: 'unsatisfiable' }],
    ['bytes=-0', 1000, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-', 1000, { kind: 'full' }],
    ['bytes=0-1,5-6', 1000, { kind: 'full' }],
    ['items=0-1', 1000, { kind: 'full' }],
    ['bytes=abc', 1000, { kind: 'full' }],
    ['bytes=9999999999999999-', 1000, { kind: 'full' }],
  ] as const)('%s of %i', (h, len, want) => {
    expect(parseRange(h, len)).toEqual(want);
  });

  it('never returns a range outside the resource (seeded random headers)', () => {
    let seed = 0x5eed;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const len = rnd() % 5000;
      const a = rnd() % 6000;
      const b = rnd() % 6000;
      const forms = [`bytes=${a}-${b}`, `bytes=${a}-`, `bytes=-${b}`];
      const h = forms[i % 3] as string;
      const r = parseRange(h, len);
      if (r.kind === 'range') {
        expect(r.start, `seed ${0x5eed} case ${i} ${h}/${len}`).toBeGreaterThanOrEqual(0);
        expect(r.end).toBeLessThan(len);
        expect(r.start).toBeLessThanOrEqual(r.end);
      }
    }
  });
});

describe('piecesForRange', () => {
  it.each([
    [0, 0, 99, 100, [0]],
    [0, 0, 100, 100, [0, 1]],
    [250, 0, 49, 100, [2]],
    [250, 50, 149, 100, [3]],
    [0, 10, 5, 100, []],
    [0, 0, 10, 0, []],
  ])('file at %i, bytes %i-%i, pieces of %i', (off, a, b, pl, want) => {
    expect(piecesForRange(off, a, b, pl)).toEqual(want);
  });
});

describe('pieceSources', () => {
  const start = (p: number) => p * 100;
  it.each<[string, number[], number, number, number[], number[], PieceSource[]]>([
    [
      'urgent window from the web seed, rest from peers',
      [0, 1, 2, 3],
      0,
      200,
      [],
      [1, 1, 1, 1],
      ['web-seed', 'web-seed', 'peers', 'peers'],
    ],
    ['pieces we have are read locally', [0, 1, 2], 0, 200, [1], [1, 1, 1], ['web-seed', 'have', 'peers']],
    ['no peer has it: web seed', [5, 6], 0, 100, [], [0, 2], ['web-seed', 'peers']],
    [
      'after a seek the window moves',
      [10, 11, 12],
      1000,
      150,
      [],
      [3, 3, 3],
      ['web-seed', 'web-seed', 'peers'],
    ],
    ['no urgency window: peers first', [0, 1], 0, 0, [], [1, 1], ['peers', 'peers']],
  ])('%s', (_name, pieces, pos, urgent, have, peers, want) => {
    expect(
      pieceSources(
        pieces,
        start,
        pos,
        urgent,
        (p) => have.includes(p),
        (p) => peers[pieces.indexOf(p)] ?? 0,
      ),
    ).toEqual(want);
  });
});
