import { pickBlocks } from '../picker/pick-blocks.ts';
import { PieceState } from '../picker/piece-state.ts';
import { BLOCK_FREE, BLOCK_RECEIVED } from '../picker/view.ts';
import type { StorageLayout } from '../storage/layout.ts';
import type { Random } from '../timers.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';
import { getBit } from './bits.ts';
import { PieceAssembly } from './piece-assembly.ts';
import { defaultRequestDepth, type RequestDepthSettings, requestDepth } from './request-depth.ts';
import type { SwarmPeer } from './swarm-peer.ts';
import type { WebSeedView } from './web-seed-policy.ts';

export interface DownloaderOptions {
  readonly random: Random;
  readonly depth?: RequestDepthSettings;
  /**
   * Called with each whole piece, ready to verify. The buffer may be handed back with
   * `recycle` once stored, and must then no longer be used.
   */
  readonly onPieceComplete: (index: number, data: Uint8Array, from: readonly (string | undefined)[]) => void;
  /** Called when a peer broke the protocol in a way that warrants dropping it. */
  readonly onViolation: (peer: SwarmPeer, code: string, message: string) => void;
}

/**
 * The request side of a torrent: piece availability, which blocks to ask whom for (through
 * wire's pure `pickBlocks`), keeping each peer's pipeline as deep as its rate needs, and
 * endgame cancels. Received blocks are assembled in memory; whole pieces go to verification
 * through `onPieceComplete`.
 *
 * It keeps the torrent's side of each request (the block's count in `PieceState`); the peer's
 * side (which blocks are in flight to whom, since when, the `reqq` cap, timeouts) is the
 * link's. Every request the link accepted ends exactly once: as a block, a `requestEnded`
 * (reject, choke, timeout, close), or our own cancel, and each of those gives the block's
 * count back here.
 */
export class Downloader {
  readonly state: PieceState;
  private readonly assembly: PieceAssembly;
  /**
   * Pieces that failed their hash, fetched again from one peer only (smart ban): the peer that
   * claimed the piece, or '' while no peer has. A piece from one sender either verifies (and
   * the failed copies then convict exactly the liars) or convicts that sender.
   */
  private readonly soleSource = new Map<number, string>();
  /** Pieces a web seed fetch holds: their blocks count as requested, and no peer is asked for them. */
  private readonly webSeedHeld = new Set<number>();
  /** The piece state as the web seed policy reads it (web-seed-policy.ts). */
  readonly webSeedView: WebSeedView;

  constructor(
    readonly layout: StorageLayout,
    private readonly options: DownloaderOptions,
  ) {
    this.state = new PieceState(layout.pieceLength, layout.totalLength);
    this.assembly = new PieceAssembly(layout);
    const state = this.state;
    this.webSeedView = {
      pieceCount: state.pieceCount,
      wants: (p) => state.wants(p),
      availability: (p) => state.availability(p),
      blocksIn: (p) => state.blocksIn(p),
      blockState: (p, b) => state.blockState(p, b),
      deadlinePieces: () => state.deadlinePieces(),
      reservedForWebSeed: (p) => this.webSeedHeld.has(p),
    };
  }

  /**
   * A web seed fetch takes the whole piece: its blocks count as requested and no peer is asked
   * for any of it (not even in endgame) until `releaseWebSeed`, so a piece is never fetched
   * from both at once. When peers have requests out for it: false, or with `preempt` (urgent
   * playback) those requests are cancelled first. False when not wanted or already held.
   */
  reserveForWebSeed(piece: number, preempt: boolean, peers: Iterable<SwarmPeer>): boolean {
    const state = this.state;
    if (piece < 0 || piece >= state.pieceCount || !state.wants(piece) || this.webSeedHeld.has(piece))
      return false;
    const blocks = state.blocksIn(piece);
    let requested = false;
    for (let b = 0; b < blocks && !requested; b++) {
      const s = state.blockState(piece, b);
      requested = s !== BLOCK_FREE && s !== BLOCK_RECEIVED;
    }
    if (requested) {
      if (!preempt) return false;
      for (const peer of peers) {
        if (!peer.link.requestsIn(piece)) continue;
        for (let b = 0; b < blocks; b++) {
          if (!peer.link.isRequested(piece, b * BLOCK_SIZE)) continue;
          peer.link.cancel(piece, b * BLOCK_SIZE, state.blockLength(piece, b));
          state.requestEnded(piece, b);
        }
      }
    }
    this.webSeedHeld.add(piece);
    for (let b = 0; b < blocks; b++) state.requested(piece, b);
    return true;
  }

  /** The web seed fetch of `piece` ended (stored, failed or abandoned). */
  releaseWebSeed(piece: number): void {
    if (!this.webSeedHeld.delete(piece)) return;
    const blocks = this.state.blocksIn(piece);
    for (let b = 0; b < blocks; b++) this.state.requestEnded(piece, b);
  }

  /** Bytes buffered in pieces not yet whole. */
  get bufferedBytes(): number {
    return this.assembly.bufferedBytes;
  }

  /** True when the peer has a piece we still want. */
  wantsFrom(peer: SwarmPeer): boolean {
    if (peer.link.remotePieceCount === 0) return false;
    for (let p = 0; p < this.state.pieceCount; p++) if (this.state.wants(p) && peer.has(p)) return true;
    return false;
  }

  /** The peer announced a piece it did not have (the link passes on new haves only). */
  peerHas(piece: number): void {
    this.state.addAvailability(piece, 1);
  }

  /** The peer's first piece set (have-all when `bits` is undefined); later ones come as haves. */
  peerBitfield(bits: Uint8Array | undefined): void {
    for (let p = 0; p < this.state.pieceCount; p++) {
      if (bits === undefined || getBit(bits, p)) this.state.addAvailability(p, 1);
    }
  }

  /** Tops up the peer's request pipeline. */
  fill(peer: SwarmPeer): void {
    const link = peer.link;
    if (link.peerChoking || !link.amInterested) return;
    const outstanding = link.outstandingCount;
    // Never past what the link sends (the peer's reqq): asking again for a refused request
    // on every block was most of our CPU once (measured).
    const depth = Math.min(
      requestDepth(link.downloadRate(), this.options.depth ?? defaultRequestDepth),
      outstanding + link.requestSlots,
    );
    // Refill in batches: the picker scans the torrent, so do not call it for every block.
    if (outstanding > (depth * 3) / 4) return;
    const view =
      this.soleSource.size === 0 && this.webSeedHeld.size === 0
        ? peer
        : {
            has: (p: number) => peer.has(p) && !this.webSeedHeld.has(p) && this.mayFetch(peer, p),
            requested: (p: number, b: number) => peer.requested(p, b),
          };
    const picks = pickBlocks(this.state, view, depth - outstanding, {
      random: this.options.random,
    });
    for (const { piece, block } of picks) {
      if (!link.request(piece, block * BLOCK_SIZE, this.state.blockLength(piece, block))) continue;
      if (this.soleSource.get(piece) === '') this.soleSource.set(piece, peer.key);
      this.state.requested(piece, block);
    }
  }

  /**
   * A block arrived for a request of ours (the link settled it). Kept unless late (the piece
   * is no longer wanted) or a duplicate (endgame: another peer's copy came first).
   */
  block(
    peer: SwarmPeer,
    index: number,
    begin: number,
    bytes: Uint8Array,
    now: number,
    peers: Iterable<SwarmPeer>,
  ): void {
    const block = begin / BLOCK_SIZE;
    if (!Number.isInteger(block) || index < 0 || index >= this.state.pieceCount) {
      this.options.onViolation(
        peer,
        'BT_PEER_BAD_BLOCK',
        `block ${index}/${begin} is not a block of this torrent`,
      );
      return;
    }
    this.state.requestEnded(index, block);
    peer.lastBlockAt = now;
    if (!this.state.wants(index) || this.state.blockState(index, block) === BLOCK_RECEIVED) return; // late or duplicate
    if (!this.assembly.store(index, begin, bytes, peer.key)) {
      this.options.onViolation(
        peer,
        'BT_PEER_BAD_BLOCK',
        `block ${index}/${begin}+${bytes.length} does not fit`,
      );
      return;
    }
    // Endgame: whoever else was asked for this block need not send it now.
    if (this.state.freeBlockCount() === 0) {
      for (const other of peers) {
        if (other !== peer && other.link.isRequested(index, begin)) {
          other.link.cancel(index, begin, bytes.length);
          this.state.requestEnded(index, block);
        }
      }
    }
    if (this.state.received(index, block)) {
      const whole = this.assembly.take(index);
      if (whole) this.options.onPieceComplete(index, whole.data, whole.from);
    }
  }

  /** A request of ours ended without data (reject, choke, timeout, the link closed). */
  requestEnded(peer: SwarmPeer, index: number, begin: number): void {
    this.state.requestEnded(index, begin / BLOCK_SIZE);
    if (this.soleSource.size > 0) this.releaseClaims(peer);
  }

  /**
   * The peer is gone (its requests ended first, one `requestEnded` each): its claims on
   * re-fetched pieces go, and its pieces out of availability.
   */
  removed(peer: SwarmPeer): void {
    this.releaseClaims(peer);
    for (let p = 0; p < this.state.pieceCount; p++) if (peer.has(p)) this.state.addAvailability(p, -1);
  }

  /** The piece arrived whole from elsewhere (a web seed): blocks held for it are garbage. */
  discard(index: number): void {
    this.assembly.drop(index);
  }

  /** A piece buffer from `onPieceComplete` that nothing refers to any more (it was stored). */
  recycle(data: Uint8Array): void {
    this.assembly.recycle(data);
  }

  /**
   * The piece failed verification: its blocks become free again, and it is fetched again from
   * one peer only, whichever asks first.
   */
  failed(index: number): void {
    this.state.failed(index);
    this.soleSource.set(index, '');
  }

  /** The piece verified: anyone may serve it again (it is not wanted any more anyway). */
  verified(index: number): void {
    this.soleSource.delete(index);
  }

  /** Pieces being fetched from one peer after a failed hash. */
  get soleSourcePieces(): number {
    return this.soleSource.size;
  }

  private mayFetch(peer: SwarmPeer, piece: number): boolean {
    const owner = this.soleSource.get(piece);
    return owner === undefined || owner === '' || owner === peer.key;
  }

  /**
   * Gives up the peer's claims on re-fetched pieces it no longer has requests out for (gone,
   * choked, timed out, rejected). What it had sent of the piece is dropped, so the next
   * claimant fetches the whole piece and the piece still has a single sender.
   */
  private releaseClaims(peer: SwarmPeer): void {
    for (const [piece, owner] of this.soleSource) {
      if (owner !== peer.key || peer.link.requestsIn(piece)) continue;
      this.soleSource.set(piece, '');
      if (this.state.hasPiece(piece)) continue;
      this.assembly.drop(piece);
      this.state.failed(piece);
    }
  }
}
