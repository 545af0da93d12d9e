import { BLOCK_FREE } from '../picker/view.ts';

/** Which pieces web seeds may take: `any`, only those no connected peer has, or `none`. */
export type WebSeedMode = 'any' | 'missing' | 'none';

/** What the web-seed policy reads: the torrent's piece state (`PieceState` fits). */
export interface WebSeedView {
  readonly pieceCount: number;
  /** Selected and not verified yet. */
  wants(piece: number): boolean;
  /** Connected peers that have the piece. */
  availability(piece: number): number;
  blocksIn(piece: number): number;
  /** FREE, RECEIVED, or how many requests are out for the block (a web seed's included). */
  blockState(piece: number, block: number): number;
  /** Pieces with a streaming deadline, soonest first. */
  deadlinePieces(): readonly number[];
  /** A web seed fetch holds the piece (reserved until it ends). */
  reservedForWebSeed(piece: number): boolean;
}

/** Pieces a caller asks about, in its order of preference. */
export interface WebSeedRange {
  readonly first: number;
  readonly last: number;
  /** Most pieces per request (one HTTP range); default 1. */
  readonly perRequest?: number;
  /**
   * Urgent (playback waits for it): a piece peers are fetching still qualifies, and the
   * caller takes it from them (`TorrentSession.reserveForWebSeed` with `preempt`), so the
   * two still never fetch it at once.
   */
  readonly urgent?: boolean;
}

export interface WebSeedAsk {
  readonly mode: WebSeedMode;
  /** Most runs to return. */
  readonly max: number;
  /** The caller's ranges, in order; default the deadline pieces, then the whole torrent from `start`. */
  readonly ranges?: readonly WebSeedRange[];
  /** Where the whole-torrent scan begins (rotated by the caller so web seeds spread out). */
  readonly start?: number;
  /** Pieces this caller set aside (a recent failure on this seed, already being fetched). */
  readonly skip?: (piece: number) => boolean;
}

/** Pieces to fetch in one request: `count` pieces from `first`. */
export interface WebSeedRun {
  readonly first: number;
  readonly count: number;
  readonly urgent: boolean;
}

/**
 * Which pieces to ask a web seed for now, given the piece state and the peers: the one web
 * seed policy, for the session's own web seeds and the player's. A piece qualifies when
 * - it is wanted (selected, not verified) and no web seed fetch holds it;
 * - no peer is fetching it: none of its blocks is requested or received (a web seed fetches
 *   whole pieces; a piece peers started is theirs to finish), unless its range is urgent,
 *   where the caller takes it from the peers before fetching;
 * - the mode allows it: `any`, or `missing` when no connected peer has it; `none` takes nothing;
 * - the caller did not set it aside (`skip`).
 * Runs follow the ranges in order, each at most `perRequest` contiguous qualifying pieces, and
 * never hold a piece twice. Pure: reads the view, returns fresh runs.
 */
export function webSeedRuns(view: WebSeedView, ask: WebSeedAsk): WebSeedRun[] {
  const out: WebSeedRun[] = [];
  if (ask.mode === 'none' || ask.max <= 0) return out;
  const taken = new Set<number>();
  const fits = (p: number, urgent: boolean) =>
    p >= 0 &&
    p < view.pieceCount &&
    !taken.has(p) &&
    view.wants(p) &&
    !view.reservedForWebSeed(p) &&
    (urgent || untouched(view, p)) &&
    (ask.mode === 'any' || view.availability(p) === 0) &&
    !(ask.skip?.(p) ?? false);
  for (const range of ask.ranges ?? defaultRanges(view, ask.start ?? 0)) {
    const urgent = range.urgent === true;
    const size = Math.max(1, range.perRequest ?? 1);
    for (let p = range.first; p <= range.last && out.length < ask.max; p++) {
      if (!fits(p, urgent)) continue;
      let count = 0;
      while (count < size && p + count <= range.last && fits(p + count, urgent)) taken.add(p + count++);
      out.push({ first: p, count, urgent });
      p += count - 1;
    }
    if (out.length >= ask.max) break;
  }
  return out;
}

/** Deadline pieces first, then the whole torrent from `start` round to `start - 1`. */
function defaultRanges(view: WebSeedView, start: number): WebSeedRange[] {
  const n = view.pieceCount;
  const from = ((start % n) + n) % n;
  const ranges: WebSeedRange[] = view.deadlinePieces().map((p) => ({ first: p, last: p }));
  ranges.push({ first: from, last: n - 1 });
  if (from > 0) ranges.push({ first: 0, last: from - 1 });
  return ranges;
}

/** No block of the piece is requested or received. */
function untouched(view: WebSeedView, piece: number): boolean {
  const n = view.blocksIn(piece);
  for (let b = 0; b < n; b++) if (view.blockState(piece, b) !== BLOCK_FREE) return false;
  return true;
}
