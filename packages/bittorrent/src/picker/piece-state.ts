import { BLOCK_SIZE } from '../wire/messages.ts';
import { BLOCK_FREE, BLOCK_RECEIVED, type PickerView } from './view.ts';

/**
 * Block-level bookkeeping of one torrent's download, and the {@link PickerView} the picker
 * reads. Invariants:
 * - `blocks[p]` exists only for partial pieces (some block requested or received); a piece
 *   is either untouched, partial, or done (`have`), never two of those;
 * - `free` equals the number of BLOCK_FREE blocks over wanted pieces we do not have;
 * - a block's state is FREE, RECEIVED, or its outstanding request count (1..254).
 */
export class PieceState implements PickerView {
  readonly pieceCount: number;
  private readonly have: Uint8Array;
  private readonly wanted: Uint8Array;
  private readonly avail: Uint32Array;
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly deadlines = new Map<number, number>();
  private deadlineOrder: number[] = [];
  private free = 0;
  private haveCount = 0;

  constructor(
    readonly pieceLength: number,
    readonly totalLength: number,
  ) {
    this.pieceCount = Math.ceil(totalLength / pieceLength);
    this.have = new Uint8Array(this.pieceCount);
    this.wanted = new Uint8Array(this.pieceCount).fill(1);
    this.avail = new Uint32Array(this.pieceCount);
    for (let p = 0; p < this.pieceCount; p++) this.free += this.blocksIn(p);
  }

  pieceSize(piece: number): number {
    return piece === this.pieceCount - 1 ? this.totalLength - piece * this.pieceLength : this.pieceLength;
  }

  blocksIn(piece: number): number {
    return Math.ceil(this.pieceSize(piece) / BLOCK_SIZE);
  }

  /** Byte length of one block (the last block of the last piece may be short). */
  blockLength(piece: number, block: number): number {
    return Math.min(BLOCK_SIZE, this.pieceSize(piece) - block * BLOCK_SIZE);
  }

  wants(piece: number): boolean {
    return this.wanted[piece] === 1 && this.have[piece] === 0;
  }

  hasPiece(piece: number): boolean {
    return this.have[piece] === 1;
  }

  /** Verified pieces. */
  get completed(): number {
    return this.haveCount;
  }

  /** True when every wanted piece is verified. */
  get done(): boolean {
    for (let p = 0; p < this.pieceCount; p++) if (this.wants(p)) return false;
    return true;
  }

  availability(piece: number): number {
    return this.avail[piece] as number;
  }

  blockState(piece: number, block: number): number {
    if (this.have[piece] === 1) return BLOCK_RECEIVED;
    return this.blocks.get(piece)?.[block] ?? BLOCK_FREE;
  }

  partialPieces(): Iterable<number> {
    return this.blocks.keys();
  }

  freeBlockCount(): number {
    return this.free;
  }

  deadlinePieces(): readonly number[] {
    return this.deadlineOrder;
  }

  /** A peer announced (bitfield/have/have-all) or lost (disconnect) a piece. */
  addAvailability(piece: number, delta: number): void {
    this.avail[piece] = Math.max(0, (this.avail[piece] as number) + delta);
  }

  /** Selects or deselects a piece (file selection). */
  setWanted(piece: number, wanted: boolean): void {
    const was = this.wants(piece);
    this.wanted[piece] = wanted ? 1 : 0;
    const now = this.wants(piece);
    if (was !== now) this.free += (now ? 1 : -1) * this.countFree(piece);
  }

  /** Sets (or with `undefined` clears) the deadline of a piece, in any time unit. */
  setDeadline(piece: number, deadline: number | undefined): void {
    if (deadline === undefined) this.deadlines.delete(piece);
    else this.deadlines.set(piece, deadline);
    this.deadlineOrder = [...this.deadlines.entries()]
      .filter(([p]) => this.have[p] === 0)
      .sort((a, b) => a[1] - b[1] || a[0] - b[0])
      .map(([p]) => p);
  }

  private countFree(piece: number): number {
    if (this.have[piece] === 1) return 0;
    const b = this.blocks.get(piece);
    if (!b) return this.blocksIn(piece);
    let n = 0;
    for (const s of b) if (s === BLOCK_FREE) n++;
    return n;
  }

  private blocksOf(piece: number): Uint8Array {
    let b = this.blocks.get(piece);
    if (!b) {
      b = new Uint8Array(this.blocksIn(piece));
      this.blocks.set(piece, b);
    }
    return b;
  }

  /** A request for the block went out. */
  requested(piece: number, block: number): void {
    if (this.have[piece] === 1) return;
    const b = this.blocksOf(piece);
    const s = b[block] as number;
    if (s === BLOCK_RECEIVED) return;
    if (s === BLOCK_FREE && this.wants(piece)) this.free--;
    if (s < BLOCK_RECEIVED - 1) b[block] = s + 1;
  }

  /** A request ended without data (cancelled, rejected, timed out, peer gone). */
  requestEnded(piece: number, block: number): void {
    const b = this.blocks.get(piece);
    if (!b) return;
    const s = b[block] as number;
    if (s === BLOCK_FREE || s === BLOCK_RECEIVED) return;
    b[block] = s - 1;
    if (s === 1) {
      if (this.wants(piece)) this.free++;
      if (b.every((x) => x === BLOCK_FREE)) this.blocks.delete(piece);
    }
  }

  /**
   * A block's data arrived. Returns true when it completed the piece (all blocks received),
   * i.e. the piece is ready to verify; false for a duplicate or a partial piece.
   */
  received(piece: number, block: number): boolean {
    if (this.have[piece] === 1) return false;
    const b = this.blocksOf(piece);
    const s = b[block] as number;
    if (s === BLOCK_RECEIVED) return false;
    if (s === BLOCK_FREE && this.wants(piece)) this.free--;
    b[block] = BLOCK_RECEIVED;
    for (const x of b) if (x !== BLOCK_RECEIVED) return false;
    return true;
  }

  /** The piece hashed correctly (or was found on disk at resume). */
  verified(piece: number): void {
    if (this.have[piece] === 1) return;
    if (this.wants(piece)) this.free -= this.countFree(piece);
    this.blocks.delete(piece);
    this.have[piece] = 1;
    this.haveCount++;
    if (this.deadlines.delete(piece)) this.deadlineOrder = this.deadlineOrder.filter((p) => p !== piece);
  }

  /** The piece failed its hash: every block becomes free again. */
  failed(piece: number): void {
    if (this.have[piece] === 1) return;
    const before = this.countFree(piece);
    this.blocks.delete(piece);
    if (this.wants(piece)) this.free += this.blocksIn(piece) - before;
  }
}
