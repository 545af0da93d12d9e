import type { Random } from '../timers.ts';
import { BLOCK_FREE, BLOCK_RECEIVED, type BlockRef, type PickerPeer, type PickerView } from './view.ts';

/** Options of {@link pickBlocks}. */
export interface PickOptions {
  /** Tie-breaks between equally rare pieces (seeded in tests). */
  readonly random: Random;
  /** In endgame, the most requests one block may have outstanding at once (default 3). */
  readonly maxDuplicates?: number;
}

/**
 * Picks up to `count` blocks to request from `peer`, in this order of preference:
 * 1. streaming: pieces with deadlines, soonest first;
 * 2. partial pieces (finish what is started, so pieces verify and can be shared sooner),
 *    rarest first;
 * 3. untouched pieces, rarest first with a random tie-break (so peers spread over the swarm);
 * 4. endgame: only when no free block is left anywhere, blocks already requested from other
 *    peers, fewest outstanding requests first (the caller cancels the losers on arrival).
 * Pure: reads the views, returns fresh refs, mutates nothing.
 */
export function pickBlocks(
  view: PickerView,
  peer: PickerPeer,
  count: number,
  options: PickOptions,
): BlockRef[] {
  const out: BlockRef[] = [];
  if (count <= 0) return out;
  const allowed = peer.allowedOnly;
  const usable = (p: number) => view.wants(p) && peer.has(p) && (allowed === undefined || allowed.has(p));
  const taken = new Set<number>();
  const takeFree = (p: number): void => {
    const n = view.blocksIn(p);
    for (let b = 0; b < n && out.length < count; b++) {
      if (view.blockState(p, b) === BLOCK_FREE) out.push({ piece: p, block: b });
    }
  };

  for (const p of view.deadlinePieces()) {
    if (out.length >= count) return out;
    if (!usable(p)) continue;
    taken.add(p);
    takeFree(p);
  }

  const partial: number[] = [];
  for (const p of view.partialPieces()) if (!taken.has(p) && usable(p)) partial.push(p);
  partial.sort((a, b) => view.availability(a) - view.availability(b) || a - b);
  for (const p of partial) {
    if (out.length >= count) return out;
    taken.add(p);
    takeFree(p);
  }
  if (out.length >= count) return out;

  if (view.freeBlockCount() > out.length) {
    // Bucket untouched candidates by availability (O(n)), then shuffle lazily within a bucket.
    const buckets: number[][] = [];
    for (let p = 0; p < view.pieceCount; p++) {
      if (taken.has(p) || !usable(p) || view.blockState(p, 0) !== BLOCK_FREE) continue;
      const a = view.availability(p);
      let bucket = buckets[a];
      if (bucket === undefined) {
        bucket = [];
        buckets[a] = bucket;
      }
      bucket.push(p);
    }
    for (const bucket of buckets) {
      if (bucket === undefined) continue;
      for (let i = 0; i < bucket.length; i++) {
        if (out.length >= count) return out;
        const j = i + Math.floor(options.random() * (bucket.length - i));
        const p = bucket[j] as number;
        bucket[j] = bucket[i] as number;
        bucket[i] = p;
        takeFree(p);
      }
    }
    return out;
  }

  // Endgame: every missing block is requested somewhere; duplicate the least-requested ones.
  const maxDup = options.maxDuplicates ?? 3;
  const candidates: Array<{ ref: BlockRef; n: number }> = [];
  for (let p = 0; p < view.pieceCount; p++) {
    if (!usable(p)) continue;
    const n = view.blocksIn(p);
    for (let b = 0; b < n; b++) {
      const s = view.blockState(p, b);
      if (s === BLOCK_FREE || s === BLOCK_RECEIVED || s >= maxDup || peer.requested(p, b)) continue;
      candidates.push({ ref: { piece: p, block: b }, n: s });
    }
  }
  candidates.sort((x, y) => x.n - y.n || x.ref.piece - y.ref.piece || x.ref.block - y.ref.block);
  for (const c of candidates) {
    if (out.length >= count) break;
    out.push(c.ref);
  }
  return out;
}
