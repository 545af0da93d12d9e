import { bytesEqual as equalBytes } from '../bytes.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';

/** Checks one whole piece against the torrent's hashes (v1 SHA-1 or v2 merkle). */
export type VerifyPiece = (index: number, data: Uint8Array) => Promise<boolean>;

/** What to do about the senders of a piece once its hash was checked. */
export interface Verdict {
  readonly ok: boolean;
  /** Peers proven to have sent bad data: drop and ban them. */
  readonly ban: readonly string[];
  /**
   * Peers that took part in a failed piece but cannot be singled out yet. They get no strike:
   * the piece is fetched again from one peer, and once it verifies the failed copies convict
   * exactly the senders whose blocks differ.
   */
  readonly suspects: readonly string[];
}

/** Failed copies kept per piece, and pieces with copies kept (bounds the memory held). */
const COPIES_PER_PIECE = 4;
const PIECES_KEPT = 16;

/**
 * Decides whom to blame for bad data (libtorrent's smart ban, without trust points). A piece
 * sent wholly by one peer that fails its hash convicts that peer. A piece with several senders
 * only makes them suspects; its failed copy is kept, and when the piece later verifies, every
 * block of every kept copy that differs from the good piece convicts the peer that sent it.
 * An honest peer is never convicted: its blocks always equal the verified piece.
 */
export class PieceVerification {
  private readonly failedCopies = new Map<
    number,
    Array<{ data: Uint8Array; from: readonly (string | undefined)[] }>
  >();

  constructor(private readonly verify: VerifyPiece) {}

  async check(index: number, data: Uint8Array, from: readonly (string | undefined)[]): Promise<Verdict> {
    const ok = await this.verify(index, data);
    const senders = [...new Set(from.filter((x): x is string => x !== undefined))];
    if (!ok) {
      if (senders.length === 1) return { ok, ban: senders, suspects: [] };
      this.keep(index, data, from);
      return { ok, ban: [], suspects: senders };
    }
    const copies = this.failedCopies.get(index);
    if (!copies) return { ok, ban: [], suspects: [] };
    this.failedCopies.delete(index);
    const ban = new Set<string>();
    for (const bad of copies) {
      for (let b = 0; b * BLOCK_SIZE < data.length; b++) {
        const s = bad.from[b];
        if (s === undefined || ban.has(s)) continue;
        const a = data.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
        if (!equalBytes(a, bad.data.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE))) ban.add(s);
      }
    }
    return { ok, ban: [...ban], suspects: [] };
  }

  /** Pieces with failed copies held for a later comparison. */
  get heldPieces(): number {
    return this.failedCopies.size;
  }

  private keep(index: number, data: Uint8Array, from: readonly (string | undefined)[]): void {
    let copies = this.failedCopies.get(index);
    if (!copies) {
      if (this.failedCopies.size >= PIECES_KEPT) {
        const oldest = this.failedCopies.keys().next().value;
        if (oldest !== undefined) this.failedCopies.delete(oldest);
      }
      copies = [];
      this.failedCopies.set(index, copies);
    }
    if (copies.length >= COPIES_PER_PIECE) copies.shift();
    copies.push({ data, from: [...from] });
  }
}
