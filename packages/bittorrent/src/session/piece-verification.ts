import { bytesEqual as equalBytes } from '../bytes.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';

/** Checks one whole piece against the torrent's hashes (v1 SHA-1 or v2 merkle). */
export type VerifyPiece = (index: number, data: Uint8Array) => Promise<boolean>;

/** What to do about the senders of a piece once its hash was checked. */
export interface Verdict {
  readonly ok: boolean;
  /** Peers proven to have sent bad data: drop and ban them. */
  readonly ban: readonly string[];
  /** Peers that took part in a failed piece but cannot be singled out yet. */
  readonly suspects: readonly string[];
}

/**
 * Decides whom to blame for bad data. A piece sent wholly by one peer that fails its hash
 * convicts that peer. A piece with several senders only makes them suspects; its failed copy is
 * kept, and when the piece later verifies, every block that differs from the good copy
 * convicts the peer that sent it (libtorrent's approach, without trust points).
 */
export class PieceVerification {
  private readonly failedCopies = new Map<
    number,
    { data: Uint8Array; from: readonly (string | undefined)[] }
  >();

  constructor(private readonly verify: VerifyPiece) {}

  async check(index: number, data: Uint8Array, from: readonly (string | undefined)[]): Promise<Verdict> {
    const ok = await this.verify(index, data);
    const senders = [...new Set(from.filter((x): x is string => x !== undefined))];
    if (!ok) {
      if (senders.length === 1) return { ok, ban: senders, suspects: [] };
      this.failedCopies.set(index, { data, from });
      return { ok, ban: [], suspects: senders };
    }
    const bad = this.failedCopies.get(index);
    if (!bad) return { ok, ban: [], suspects: [] };
    this.failedCopies.delete(index);
    const ban = new Set<string>();
    for (let b = 0; b * BLOCK_SIZE < data.length; b++) {
      const s = bad.from[b];
      if (s === undefined) continue;
      const a = data.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
      if (!equalBytes(a, bad.data.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE))) ban.add(s);
    }
    return { ok, ban: [...ban], suspects: [] };
  }
}
