/**
 * The pieces a remote peer has, from its bitfield, have-all and haves. The bitfield grows
 * with haves while the piece count is unknown (magnet links before the metadata).
 * Invariant: `count` equals the number of set bits (or the piece count after have-all).
 */
export class RemotePieces {
  private all = false;
  private bits: Uint8Array | undefined;
  private setCount = 0;

  /** True when the peer has `piece`. */
  has(piece: number): boolean {
    if (this.all) return true;
    const bits = this.bits;
    return bits !== undefined && (((bits[piece >> 3] as number) >> (7 - (piece & 7))) & 1) === 1;
  }

  /** The bitfield; `undefined` after have-all. */
  bitfield(pieceCount: number | undefined): Uint8Array | undefined {
    if (this.all) return undefined;
    return this.bits ?? new Uint8Array(Math.ceil((pieceCount ?? 0) / 8));
  }

  /** Pieces the peer has (the piece count after have-all, when known). */
  count(pieceCount: number | undefined): number {
    return this.all ? (pieceCount ?? 0) : this.setCount;
  }

  isSeed(pieceCount: number | undefined): boolean {
    return this.all || (pieceCount !== undefined && this.setCount === pieceCount);
  }

  setAll(): void {
    this.all = true;
  }

  setBitfield(bits: Uint8Array, pieceCount: number | undefined): void {
    this.bits = bits.slice();
    this.setCount = countBits(this.bits, pieceCount ?? this.bits.length * 8);
  }

  /** Records a have; false when the peer already had it (a duplicate). */
  add(piece: number, pieceCount: number | undefined): boolean {
    if (this.has(piece)) return false;
    const need = (piece >> 3) + 1;
    if (!this.bits || this.bits.length < need) {
      const grown = new Uint8Array(Math.max(need, pieceCount ? Math.ceil(pieceCount / 8) : 0));
      if (this.bits) grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[piece >> 3] = (this.bits[piece >> 3] as number) | (0x80 >> (piece & 7));
    this.setCount++;
    return true;
  }

  /** Checks the bitfield against a piece count learnt later; false when it cannot belong. */
  fitsPieceCount(pieceCount: number): boolean {
    if (!this.bits) return true;
    if (this.bits.length > Math.ceil(pieceCount / 8)) return false;
    const grown = new Uint8Array(Math.ceil(pieceCount / 8));
    grown.set(this.bits);
    this.bits = grown;
    this.setCount = countBits(this.bits, pieceCount);
    return true;
  }
}

function countBits(bits: Uint8Array, max: number): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) {
    let v = bits[i] as number;
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return Math.min(n, max);
}
