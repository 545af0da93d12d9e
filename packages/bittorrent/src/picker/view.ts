/** What the picker reads: a read-only view of the torrent's piece and block state. */
export interface PickerView {
  readonly pieceCount: number;
  /** Number of blocks in `piece` (the last piece may have fewer). */
  blocksIn(piece: number): number;
  /** True when we still want `piece`: selected by the user and not yet verified. */
  wants(piece: number): boolean;
  /** How many connected peers have `piece`. */
  availability(piece: number): number;
  /**
   * State of one block: {@link BLOCK_FREE}, {@link BLOCK_RECEIVED}, or the number of
   * outstanding requests for it (1..254).
   */
  blockState(piece: number, block: number): number;
  /** Wanted pieces with at least one block requested or received. */
  partialPieces(): Iterable<number>;
  /** Free blocks left in wanted pieces; 0 means every missing block is requested (endgame). */
  freeBlockCount(): number;
  /** Pieces with a streaming deadline, soonest first (empty when not streaming). */
  deadlinePieces(): readonly number[];
}

/** What the picker knows of the peer it picks for. */
export interface PickerPeer {
  has(piece: number): boolean;
  /** True when this peer already has an outstanding request for the block. */
  requested(piece: number, block: number): boolean;
  /** When set (we are choked; BEP 6 allowed-fast), only these pieces may be requested. */
  readonly allowedOnly?: ReadonlySet<number>;
}

export const BLOCK_FREE = 0;
export const BLOCK_RECEIVED = 255;

/** A block to request: piece index and block number within it (begin = block * 16 KiB). */
export interface BlockRef {
  readonly piece: number;
  readonly block: number;
}
