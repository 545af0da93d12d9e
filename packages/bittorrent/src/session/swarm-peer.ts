import type { PickerPeer } from '../picker/view.ts';
import { getBit, newBits, setBit } from './bits.ts';
import type { PeerInfo, PeerLink } from './peer-link.ts';
import { RateMeter } from '../peer/rate-meter.ts';

/** Key of one block: piece index and block number in one safe integer. */
export function blockKey(piece: number, block: number): number {
  return piece * 65536 + block;
}

/** A pending upload: a block the peer asked for. */
export interface UploadRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** The session's record of one connected peer (state the wire layer does not keep). */
export class SwarmPeer implements PickerPeer {
  info: PeerInfo | undefined;
  readonly bits: Uint8Array;
  haveCount = 0;
  /** The remote chokes us. */
  peerChoking = true;
  peerInterested = false;
  /** We choke the remote. */
  amChoking = true;
  amInterested = false;
  /** Our requests in flight: block key -> time sent. */
  readonly outstanding = new Map<number, number>();
  readonly down = new RateMeter();
  readonly up = new RateMeter();
  /** When this peer last sent us a block (or was connected, if never). */
  lastBlockAt: number;
  /** Requests from the peer waiting to be served, oldest first. */
  uploads: UploadRequest[] = [];
  /** The request being read from storage for this peer (cleared when the peer cancels it). */
  serving: UploadRequest | undefined;
  /** When we last unchoked it optimistically. */
  optimisticAt = -Infinity;

  constructor(
    readonly key: string,
    readonly link: PeerLink,
    readonly pieceCount: number,
    readonly connectedAt: number,
  ) {
    this.bits = newBits(pieceCount);
    this.lastBlockAt = connectedAt;
  }

  has(piece: number): boolean {
    return getBit(this.bits, piece);
  }

  requested(piece: number, block: number): boolean {
    return this.outstanding.has(blockKey(piece, block));
  }

  get isSeed(): boolean {
    return this.haveCount === this.pieceCount;
  }

  /** Records a piece the peer has; returns false when it is new to us and out of range. */
  markHave(piece: number): boolean {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) return false;
    if (!getBit(this.bits, piece)) {
      setBit(this.bits, piece);
      this.haveCount++;
    }
    return true;
  }
}
