import { describe, expect, it } from 'vitest';
import { BLOCK_FREE, BLOCK_RECEIVED } from '../src/picker/view.ts';
import { type WebSeedAsk, type WebSeedView, webSeedRuns } from '../src/session/web-seed-policy.ts';

/**
 * A view from strings, one character per piece (2 blocks each):
 * `.` wanted and untouched, `r` a peer has requests out for it, `h` a block of it arrived,
 * `v` verified (not wanted), `w` a web seed fetch holds it, `-` not selected.
 * `avail`: one digit per piece, connected peers that have it (default 0).
 */
function view(pieces: string, avail = '', deadlines: number[] = []): WebSeedView {
  return {
    pieceCount: pieces.length,
    wants: (p) => '.rhw'.includes(pieces[p]!),
    availability: (p) => Number(avail[p] ?? 0),
    blocksIn: () => 2,
    blockState: (p, b) => {
      const c = pieces[p];
      if (b === 1 && c === 'r') return 1;
      if (b === 0 && c === 'h') return BLOCK_RECEIVED;
      if (c === 'w') return 1;
      return BLOCK_FREE;
    },
    deadlinePieces: () => deadlines,
    reservedForWebSeed: (p) => pieces[p] === 'w',
  };
}

const runs = (v: WebSeedView, ask: WebSeedAsk) => webSeedRuns(v, ask).map((r) => `${r.first}+${r.count}`);

describe('webSeedRuns: the one web seed policy', () => {
  it('takes only wanted pieces no peer and no web seed fetch has touched', () => {
    expect(runs(view('.rhvw-..'), { mode: 'any', max: 10 })).toEqual(['0+1', '6+1', '7+1']);
  });

  it('mode none takes nothing; mode missing only pieces no connected peer has', () => {
    expect(runs(view('....'), { mode: 'none', max: 10 })).toEqual([]);
    expect(runs(view('....', '0102'), { mode: 'missing', max: 10 })).toEqual(['0+1', '2+1']);
  });

  it('deadline pieces first, then the torrent from the rotating start, wrapping round', () => {
    expect(runs(view('......'), { mode: 'any', max: 3, start: 4 })).toEqual(['4+1', '5+1', '0+1']);
    expect(runs(view('......', '', [2]), { mode: 'any', max: 3, start: 4 })).toEqual(['2+1', '4+1', '5+1']);
  });

  it('skips what the caller set aside, and stops at max', () => {
    expect(runs(view('.....'), { mode: 'any', max: 2, skip: (p) => p === 0 })).toEqual(['1+1', '2+1']);
  });

  it("groups a caller's range into requests of perRequest contiguous pieces, broken by a piece that does not fit", () => {
    const v = view('...r.....');
    expect(runs(v, { mode: 'any', max: 10, ranges: [{ first: 0, last: 8, perRequest: 2 }] })).toEqual([
      '0+2',
      '2+1',
      '4+2',
      '6+2',
      '8+1',
    ]);
  });

  it('an urgent range takes pieces peers are fetching (the caller preempts them), never a web seed’s', () => {
    const v = view('rhw.');
    expect(
      runs(v, { mode: 'any', max: 10, ranges: [{ first: 0, last: 3, perRequest: 4, urgent: true }] }),
    ).toEqual(['0+2', '3+1']);
    expect(runs(v, { mode: 'any', max: 10, ranges: [{ first: 0, last: 3, perRequest: 4 }] })).toEqual([
      '3+1',
    ]);
  });

  it('never returns a piece twice across overlapping ranges', () => {
    const ranges = [
      { first: 0, last: 3, perRequest: 2 },
      { first: 2, last: 5, perRequest: 2 },
    ];
    expect(runs(view('......'), { mode: 'any', max: 10, ranges })).toEqual(['0+2', '2+2', '4+2']);
  });
});
