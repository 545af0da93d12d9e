/**
 * The browser engine's storage: verified pieces in memory, at most `maxBytes` of them. When
 * a write goes over budget, pieces far from the playhead are evicted: those behind it first
 * (a listener rarely seeks back), farthest first, then the farthest ahead. Pieces covering
 * the protected window around the playhead are never evicted, so the bytes about to play
 * stay. The session still counts an evicted piece as held (BitTorrent has no "un-have"): a
 * read of it rejects with `BT_STORAGE_IO`, the engine refetches it from the web seed when
 * playback needs it, and a peer asking for it gets no answer and re-asks elsewhere.
 */
import { pieceSize, type Storage, StorageError, type StorageLayout } from '@swarmcast/bittorrent';

export interface BoundedPieceStoreOptions {
  maxBytes: number;
  /** The piece being played now (eviction is by distance from it). */
  playheadPiece: () => number;
  /** Pieces from the playhead up to this one (exclusive) are never evicted (being read). */
  protectedUntil: () => number;
}

export class BoundedPieceStore implements Storage {
  readonly #pieces = new Map<number, Uint8Array>();
  #bytes = 0;
  #evicted = 0;

  constructor(
    readonly layout: StorageLayout,
    private readonly o: BoundedPieceStoreOptions,
  ) {
    if (!(o.maxBytes >= layout.pieceLength)) throw new RangeError('maxBytes must hold at least one piece');
  }

  async open(): Promise<void> {}

  /** True when piece `index` is held (verified and not evicted). */
  holds(index: number): boolean {
    return this.#pieces.has(index);
  }

  /** The bytes of a held piece (a view; do not modify), or undefined. */
  piece(index: number): Uint8Array | undefined {
    return this.#pieces.get(index);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Pieces dropped to stay within the budget so far. */
  get evicted(): number {
    return this.#evicted;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const pl = this.layout.pieceLength;
    if (length === 0) return new Uint8Array(0);
    const out = new Uint8Array(length);
    for (let p = Math.floor(offset / pl); p * pl < offset + length; p++) {
      const data = this.#pieces.get(p);
      if (!data) throw new StorageError('BT_STORAGE_IO', `piece ${p} is not in the memory cache (evicted)`);
      const from = Math.max(offset, p * pl);
      const to = Math.min(offset + length, p * pl + data.length);
      out.set(data.subarray(from - p * pl, to - p * pl), from - offset);
    }
    return out;
  }

  /** The session writes whole verified pieces, one at a time, at their piece offset. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    const pl = this.layout.pieceLength;
    const index = offset / pl;
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) {
      throw new StorageError('BT_STORAGE_RANGE', `write at ${offset} is not a piece boundary`);
    }
    if (data.length !== pieceSize(this.layout, index)) {
      throw new StorageError('BT_STORAGE_RANGE', `write of ${data.length} bytes is not piece ${index}`);
    }
    const old = this.#pieces.get(index);
    if (old) this.#bytes -= old.length;
    this.#pieces.set(index, data.slice());
    this.#bytes += data.length;
    this.#evict();
  }

  #evict(): void {
    if (this.#bytes <= this.o.maxBytes) return;
    const head = this.o.playheadPiece();
    const keepTo = Math.max(head + 1, this.o.protectedUntil());
    // Cost of keeping: behind the playhead weighs 4x the same distance ahead.
    const order = [...this.#pieces.keys()]
      .filter((p) => p < head || p >= keepTo)
      .sort((a, b) => distance(b, head) - distance(a, head));
    for (const p of order) {
      if (this.#bytes <= this.o.maxBytes) break;
      this.#bytes -= this.#pieces.get(p)?.length ?? 0;
      this.#pieces.delete(p);
      this.#evicted++;
    }
  }

  /** Nothing is ever on disk: a restart finds nothing (the page starts from scratch). */
  async presentLengths(): Promise<number[]> {
    return this.layout.files.map(() => 0);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#pieces.clear();
    this.#bytes = 0;
  }
}

function distance(piece: number, head: number): number {
  return piece < head ? (head - piece) * 4 : piece - head;
}
