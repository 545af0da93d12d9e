import { pieceSize, type StorageLayout } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import { type CodedError, codedError } from '../transport.ts';
import { newBits, setBit } from './bits.ts';
import type { Downloader } from './downloader.ts';
import type { PeerInterest } from './peer-interest.ts';
import type { PieceVerification, VerifyPiece } from './piece-verification.ts';
import type { SwarmPeer } from './swarm-peer.ts';
import type { Uploader } from './uploader.ts';

export interface PieceCompletionDeps {
  readonly layout: StorageLayout;
  readonly storage: Storage;
  readonly verifyPiece: VerifyPiece;
  readonly downloader: Downloader;
  readonly uploader: Uploader;
  readonly verification: PieceVerification;
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  readonly interest: PeerInterest;
  /** Drops (when connected) and bans the peer `key` for data that failed a hash. */
  ban(key: string, reason: CodedError): void;
  piece(index: number): void;
  peerBanned(key: string, reason: CodedError): void;
  warning(error: CodedError): void;
  /** Every wanted piece is stored (after the storage flush). */
  done(): void;
  /** The download finished now, not at start (trackers hear `completed`). */
  completed(): void;
  /** Bytes we downloaded so far (a torrent complete at start sends no `completed`). */
  downloadedBytes(): number;
  closed(): boolean;
}

/**
 * What happens to a whole piece: verification (with blame and bans for bad data), the
 * storage write, then "we have it" (our bitfield, haves to the peers, interest, `piece`),
 * and the end of the download once every wanted piece is in.
 */
export class PieceCompletion {
  /** Our pieces as a bitfield (what new peers are told). */
  readonly haveBits: Uint8Array;
  verifiedBytes = 0;
  finished = false;

  constructor(private readonly deps: PieceCompletionDeps) {
    this.haveBits = newBits(deps.layout.pieceCount);
  }

  /** A piece assembled from peers' blocks (`from`: each block's sender) or a web seed's. */
  async complete(index: number, data: Uint8Array, from: readonly (string | undefined)[]): Promise<boolean> {
    const { downloader } = this.deps;
    const verdict = await this.deps.verification.check(index, data, from);
    if (this.deps.closed()) return false;
    for (const key of verdict.ban) {
      const reason = codedError('BT_PEER_BAD_DATA', `sent data that failed the hash of piece ${index}`);
      this.deps.ban(key, reason);
      this.deps.peerBanned(key, reason);
    }
    if (!verdict.ok) {
      downloader.failed(index);
      return false;
    }
    try {
      await this.deps.storage.write(index * this.deps.layout.pieceLength, data);
    } catch (err) {
      downloader.recycle(data);
      downloader.failed(index);
      this.deps.warning(
        codedError('BT_STORAGE_IO', `could not store piece ${index}: ${(err as Error).message}`, err),
      );
      return true;
    }
    downloader.recycle(data);
    if (this.deps.closed()) return true;
    this.markVerified(index, true);
    this.checkDone();
    return true;
  }

  /**
   * A whole piece from outside the swarm (see `TorrentSession.addPiece`): verified, stored,
   * announced; blocks of it in flight from peers are dropped as late.
   */
  async add(index: number, data: Uint8Array): Promise<boolean> {
    const { layout, downloader } = this.deps;
    if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) return false;
    if (data.length !== pieceSize(layout, index) || this.deps.closed()) return false;
    if (downloader.state.hasPiece(index)) return true;
    if (!(await this.deps.verifyPiece(index, data))) return false;
    if (this.deps.closed()) return false;
    if (downloader.state.hasPiece(index)) return true;
    try {
      await this.deps.storage.write(index * layout.pieceLength, data);
    } catch (err) {
      this.deps.warning(
        codedError('BT_STORAGE_IO', `could not store piece ${index}: ${(err as Error).message}`, err),
      );
      return false;
    }
    if (this.deps.closed()) return false;
    this.deps.uploader.forget(index);
    this.markVerified(index, true);
    downloader.discard(index);
    this.checkDone();
    return true;
  }

  /** The piece is ours; `announce`: tell the peers (not for pieces found at start). */
  markVerified(index: number, announce: boolean): void {
    const { downloader, layout } = this.deps;
    if (downloader.state.hasPiece(index)) return;
    downloader.state.verified(index);
    downloader.verified(index);
    setBit(this.haveBits, index);
    this.verifiedBytes += Math.min(layout.pieceLength, layout.totalLength - index * layout.pieceLength);
    if (!announce) return;
    for (const p of this.deps.peers.values()) {
      if (!p.info) continue;
      p.link.have(index);
      // The piece may have been the last one this peer could give us: tell it now, so it
      // frees the upload slot instead of keeping it for us until our next tick.
      if (p.link.amInterested && p.link.outstandingCount === 0 && p.has(index)) this.deps.interest.update(p);
    }
    this.deps.piece(index);
  }

  /** Finishes the download once no wanted piece is missing. */
  checkDone(): void {
    if (this.finished) return;
    if (!this.deps.downloader.state.done) return;
    this.finished = true;
    // BEP 3: "No completed is sent if the file was complete when started." A seeder that
    // starts with the data would otherwise be counted as a download by every tracker.
    if (this.deps.downloadedBytes() > 0) this.deps.completed();
    for (const p of this.deps.peers.values()) if (p.link.amInterested) this.deps.interest.set(p, false);
    void this.deps.storage.flush().then(
      () => this.deps.done(),
      (err) => this.deps.warning(codedError('BT_STORAGE_IO', `flush failed: ${(err as Error).message}`, err)),
    );
  }
}
