import { pieceSize, type StorageLayout } from '../storage/layout.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';

interface Partial {
  readonly data: Uint8Array;
  /** Who sent each block (for blame when the piece fails its hash). */
  readonly from: (string | undefined)[];
}

/**
 * The bytes of pieces being downloaded, held in memory until the piece is whole. Only a whole
 * piece is verified, and only a verified piece reaches storage, so a file on disk never holds
 * an unverified byte. Which blocks are requested or received is the picker's `PieceState`;
 * this class only keeps data and who sent it.
 */
export class PieceAssembly {
  private readonly partial = new Map<number, Partial>();
  /**
   * Piece buffers given back once stored. A fresh 1 MiB buffer costs its zeroing, its page
   * faults and later a GC of external memory; reusing one costs none of that (measured: the
   * largest CPU item after the socket itself). Every block of a piece is written before the
   * piece completes, so the old bytes of a reused buffer are never seen.
   */
  private readonly spare: Uint8Array[] = [];
  /** Buffers this assembly made: only those are ever reused (not a web seed's, say). */
  private readonly own = new WeakSet<Uint8Array>();

  constructor(
    private readonly layout: StorageLayout,
    private readonly maxSpare = 16,
  ) {}

  /** Copies a block in. Returns false when it does not fit the piece (a protocol violation). */
  store(index: number, begin: number, bytes: Uint8Array, peer: string): boolean {
    if (index < 0 || index >= this.layout.pieceCount || begin % BLOCK_SIZE !== 0) return false;
    const size = pieceSize(this.layout, index);
    if (begin + bytes.length > size || bytes.length !== Math.min(BLOCK_SIZE, size - begin)) return false;
    let p = this.partial.get(index);
    if (!p) {
      let data = size === this.layout.pieceLength ? this.spare.pop() : undefined;
      if (!data) {
        data = new Uint8Array(size);
        this.own.add(data);
      }
      p = { data, from: [] };
      this.partial.set(index, p);
    }
    p.data.set(bytes, begin);
    p.from[begin / BLOCK_SIZE] = peer;
    return true;
  }

  /** Removes a piece and returns its bytes and who sent each block. */
  take(index: number): { data: Uint8Array; from: readonly (string | undefined)[] } | undefined {
    const p = this.partial.get(index);
    this.partial.delete(index);
    return p;
  }

  /** Forgets a piece in progress (deselected). */
  drop(index: number): void {
    const p = this.partial.get(index);
    this.partial.delete(index);
    if (p) this.recycle(p.data);
  }

  /**
   * Gives a piece buffer from `take` back for reuse, once nothing refers to it any more (the
   * storage has written it). Buffers it did not make are ignored.
   */
  recycle(data: Uint8Array): void {
    if (data.length !== this.layout.pieceLength || this.spare.length >= this.maxSpare) return;
    if (this.own.has(data) && !this.spare.includes(data)) this.spare.push(data);
  }

  /** Bytes held in memory by pieces in progress. */
  get bufferedBytes(): number {
    let n = 0;
    for (const p of this.partial.values()) n += p.data.length;
    return n;
  }
}
