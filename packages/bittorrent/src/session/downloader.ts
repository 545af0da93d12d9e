import { pickBlocks } from '../picker/pick-blocks.ts';
import { PieceState } from '../picker/piece-state.ts';
import type { StorageLayout } from '../storage/layout.ts';
import type { Random } from '../timers.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';
import { getBit } from './bits.ts';
import { PieceAssembly } from './piece-assembly.ts';
import { defaultRequestDepth, type RequestDepthSettings, requestDepth } from './request-depth.ts';
import { blockKey, type SwarmPeer } from './swarm-peer.ts';

export interface DownloaderOptions {
  readonly random: Random;
  readonly depth?: RequestDepthSettings;
  /** A request unanswered this long is given back to the pool (the peer is snubbing us). */
  readonly requestTimeoutMs?: number;
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
 * wire's pure `pickBlocks`), keeping each peer's pipeline as deep as its rate needs, endgame
 * cancels, and timeouts. Received blocks are assembled in memory; whole pieces go to
 * verification through `onPieceComplete`.
 */
export class Downloader {
  readonly state: PieceState;
  private readonly assembly: PieceAssembly;
  private readonly timeoutMs: number;
  /**
   * Pieces that failed their hash, fetched again from one peer only (smart ban): the peer that
   * claimed the piece, or '' while no peer has. A piece from one sender either verifies (and
   * the failed copies then convict exactly the liars) or convicts that sender.
   */
  private readonly soleSource = new Map<number, string>();

  constructor(
    readonly layout: StorageLayout,
    private readonly options: DownloaderOptions,
  ) {
    this.state = new PieceState(layout.pieceLength, layout.totalLength);
    this.assembly = new PieceAssembly(layout);
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** Bytes buffered in pieces not yet whole. */
  get bufferedBytes(): number {
    return this.assembly.bufferedBytes;
  }

  /** True when the peer has a piece we still want. */
  wantsFrom(peer: SwarmPeer): boolean {
    if (peer.haveCount === 0) return false;
    for (let p = 0; p < this.state.pieceCount; p++)
      if (this.state.wants(p) && getBit(peer.bits, p)) return true;
    return false;
  }

  /** The peer announced a piece (have). */
  peerHas(peer: SwarmPeer, piece: number): void {
    if (!peer.has(piece) && peer.markHave(piece)) this.state.addAvailability(piece, 1);
  }

  /** The peer's whole bitfield (or have-all when `bits` is undefined). */
  peerBitfield(peer: SwarmPeer, bits: Uint8Array | undefined): void {
    for (let p = 0; p < this.state.pieceCount; p++) {
      if (bits === undefined || getBit(bits, p)) this.peerHas(peer, p);
    }
  }

  /** Tops up the peer's request pipeline. */
  fill(peer: SwarmPeer, now: number): void {
    if (peer.peerChoking || !peer.amInterested) return;
    const slots = peer.link.requestSlots ?? Number.POSITIVE_INFINITY;
    // Never past what the link sends (the peer's reqq): a refused request comes back as a
    // reject, and asking again for it on every block was most of our CPU (measured).
    const depth = Math.min(
      requestDepth(peer.down.rate(now), this.options.depth ?? defaultRequestDepth),
      peer.outstanding.size + slots,
    );
    // Refill in batches: the picker scans the torrent, so do not call it for every block.
    if (peer.outstanding.size > (depth * 3) / 4) return;
    const view =
      this.soleSource.size === 0
        ? peer
        : {
            has: (p: number) => peer.has(p) && this.mayFetch(peer, p),
            requested: (p: number, b: number) => peer.requested(p, b),
          };
    const picks = pickBlocks(this.state, view, depth - peer.outstanding.size, {
      random: this.options.random,
    });
    for (const { piece, block } of picks) {
      if (this.soleSource.get(piece) === '') this.soleSource.set(piece, peer.key);
      const length = this.state.blockLength(piece, block);
      peer.outstanding.set(blockKey(piece, block), now);
      this.state.requested(piece, block);
      peer.link.request(piece, block * BLOCK_SIZE, length);
    }
  }

  /** A block arrived. Returns false when it was not worth keeping (unrequested or duplicate). */
  block(
    peer: SwarmPeer,
    index: number,
    begin: number,
    bytes: Uint8Array,
    now: number,
    peers: Iterable<SwarmPeer>,
  ): void {
    const block = begin / BLOCK_SIZE;
    const key = blockKey(index, block);
    const wasOutstanding = peer.outstanding.delete(key);
    if (!Number.isInteger(block) || index < 0 || index >= this.state.pieceCount) {
      this.options.onViolation(
        peer,
        'BT_PEER_BAD_BLOCK',
        `block ${index}/${begin} is not a block of this torrent`,
      );
      return;
    }
    if (wasOutstanding) this.state.requestEnded(index, block);
    peer.down.add(bytes.length, now);
    peer.lastBlockAt = now;
    if (!this.state.wants(index) || this.state.blockState(index, block) === 255) return; // late or duplicate
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
        if (other !== peer && other.outstanding.delete(key)) {
          this.state.requestEnded(index, block);
          other.link.cancel(index, begin, bytes.length);
        }
      }
    }
    if (this.state.received(index, block)) {
      const whole = this.assembly.take(index);
      if (whole) this.options.onPieceComplete(index, whole.data, whole.from);
    }
  }

  /** The peer declined a request (BEP 6 reject). */
  rejected(peer: SwarmPeer, index: number, begin: number): void {
    if (peer.outstanding.delete(blockKey(index, begin / BLOCK_SIZE))) {
      this.state.requestEnded(index, begin / BLOCK_SIZE);
      this.releaseClaims(peer);
    }
  }

  /**
   * The peer choked us. Without the fast extension every request is implicitly dropped; with it
   * the peer rejects what it will not serve, one by one.
   */
  choked(peer: SwarmPeer): void {
    if (!peer.info?.fast) {
      this.releaseAll(peer);
      this.releaseClaims(peer);
    }
  }

  /** The peer is gone: its requests go back to the pool, its pieces out of availability. */
  removed(peer: SwarmPeer): void {
    this.releaseAll(peer);
    this.releaseClaims(peer);
    for (let p = 0; p < this.state.pieceCount; p++) if (peer.has(p)) this.state.addAvailability(p, -1);
  }

  /** Gives back requests older than the timeout; returns how many. */
  expire(peer: SwarmPeer, now: number): number {
    let n = 0;
    for (const [key, at] of peer.outstanding) {
      if (now - at < this.timeoutMs) continue;
      const piece = Math.floor(key / 65536);
      const block = key % 65536;
      peer.outstanding.delete(key);
      this.state.requestEnded(piece, block);
      peer.link.cancel(piece, block * BLOCK_SIZE, this.state.blockLength(piece, block));
      n++;
    }
    if (n > 0) this.releaseClaims(peer);
    return n;
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
      if (owner !== peer.key) continue;
      let pending = false;
      for (const key of peer.outstanding.keys())
        if (Math.floor(key / 65536) === piece) {
          pending = true;
          break;
        }
      if (pending) continue;
      this.soleSource.set(piece, '');
      if (this.state.hasPiece(piece)) continue;
      this.assembly.drop(piece);
      this.state.failed(piece);
    }
  }

  private releaseAll(peer: SwarmPeer): void {
    for (const key of peer.outstanding.keys()) this.state.requestEnded(Math.floor(key / 65536), key % 65536);
    peer.outstanding.clear();
  }
}
