import type { BlockRequest } from './peer-options.ts';

/** One key per (piece, begin); exact while piece < 2^21. */
export const blockKey = (index: number, begin: number): number => index * 4294967296 + begin;

const RECENT_CANCELS = 4096;

/** What a received block or reject was, against our open requests. */
export type Settled = 'ok' | 'late' | 'unrequested' | 'wrong-length';

/**
 * Our requests to one peer awaiting data, and those we gave up on recently (cancelled or timed
 * out), so that a late reply to them is accepted quietly instead of counted as unrequested.
 */
export class OutgoingRequests {
  private readonly open = new Map<number, BlockRequest & { readonly at: number }>();
  private readonly givenUp = new Set<number>();

  get size(): number {
    return this.open.size;
  }

  has(index: number, begin: number): boolean {
    return this.open.has(blockKey(index, begin));
  }

  /** Records a request; false when the block is already requested. */
  add(index: number, begin: number, length: number, at: number): boolean {
    const k = blockKey(index, begin);
    if (this.open.has(k)) return false;
    this.open.set(k, { index, begin, length, at });
    return true;
  }

  /** Gives up on a request; a reply may still come and is then `late`. */
  cancel(index: number, begin: number): boolean {
    const k = blockKey(index, begin);
    if (!this.open.delete(k)) return false;
    if (this.givenUp.size >= RECENT_CANCELS) this.givenUp.clear();
    this.givenUp.add(k);
    return true;
  }

  /** Matches a reply (block of `length` bytes, or a reject) with its request and closes it. */
  settle(index: number, begin: number, length: number | undefined): Settled {
    const k = blockKey(index, begin);
    const r = this.open.get(k);
    if (!r) return this.givenUp.delete(k) ? 'late' : 'unrequested';
    if (length !== undefined && r.length !== length) return 'wrong-length';
    this.open.delete(k);
    return 'ok';
  }

  /** Every open request (a copy). */
  list(): BlockRequest[] {
    return [...this.open.values()];
  }

  /** Open requests sent at or before `at` (those a timeout gives up on). */
  sentBy(at: number): BlockRequest[] {
    const out: BlockRequest[] = [];
    for (const r of this.open.values()) if (r.at <= at) out.push(r);
    return out;
  }

  /** True when some open request is for `piece`. */
  inPiece(piece: number): boolean {
    for (const r of this.open.values()) if (r.index === piece) return true;
    return false;
  }

  /** Removes and returns every open request. */
  takeAll(): BlockRequest[] {
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }
}

/** The peer's requests we queued to serve, and the pieces it may ask for while choked (BEP 6). */
export class IncomingRequests {
  readonly allowedFast = new Set<number>();
  private readonly queue = new Map<number, BlockRequest>();

  get size(): number {
    return this.queue.size;
  }

  has(index: number, begin: number): boolean {
    return this.queue.has(blockKey(index, begin));
  }

  add(r: BlockRequest): void {
    this.queue.set(blockKey(r.index, r.begin), r);
  }

  /** Removes a queued request of exactly this length; false when there is none. */
  take(index: number, begin: number, length: number): boolean {
    const k = blockKey(index, begin);
    const r = this.queue.get(k);
    if (!r || r.length !== length) return false;
    this.queue.delete(k);
    return true;
  }

  /** Removes a queued request whatever its length (the peer's cancel, our reject). */
  remove(index: number, begin: number): boolean {
    return this.queue.delete(blockKey(index, begin));
  }

  /** On choke: removes and returns every request not for an allowed-fast piece. */
  dropForChoke(): BlockRequest[] {
    const dropped: BlockRequest[] = [];
    for (const [k, r] of this.queue) {
      if (this.allowedFast.has(r.index)) continue;
      this.queue.delete(k);
      dropped.push(r);
    }
    return dropped;
  }

  clear(): void {
    this.queue.clear();
  }
}
