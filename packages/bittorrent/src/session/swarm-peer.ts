import type { PickerPeer } from '../picker/view.ts';
import { BLOCK_SIZE } from '../wire/messages.ts';
import type { PeerInfo, PeerLink } from './peer-link.ts';

/** A pending upload: a block the peer asked for. */
export interface UploadRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/**
 * The session's record of one connected peer: only what the wire layer does not know (who
 * it is to the session, upload queue, choker history, last block time). The peer's wire
 * state (its pieces, both sides' choke and interest, our requests in flight, rates) has one
 * owner, the link's connection, and is read through `link`.
 */
export class SwarmPeer implements PickerPeer {
  info: PeerInfo | undefined;
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
    readonly connectedAt: number,
  ) {
    this.lastBlockAt = connectedAt;
  }

  has(piece: number): boolean {
    return this.link.has(piece);
  }

  requested(piece: number, block: number): boolean {
    return this.link.isRequested(piece, block * BLOCK_SIZE);
  }
}
