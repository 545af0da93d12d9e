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

  constructor(private readonly layout: StorageLayout) {}

  /** Copies a block in. Returns false when it does not fit the piece (a protocol violation). */
  store(index: number, begin: number, bytes: Uint8Array, peer: string): boolean {
    if (index < 0 || index >= this.layout.pieceCount || begin % BLOCK_SIZE !== 0) return false;
    const size = pieceSize(this.layout, index);
    if (begin + bytes.length > size || bytes.length !== Math.min(BLOCK_SIZE, size - begin)) return false;
    let p = this.partial.get(index);
    if (!p) {
      p = { data: new Uint8Array(size), from: [] };
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
    this.partial.delete(index);
  }

  /** Bytes held in memory by pieces in progress. */
  get bufferedBytes(): number {
    let n = 0;
    for (const p of this.partial.values()) n += p.data.length;
    return n;
  }
}
