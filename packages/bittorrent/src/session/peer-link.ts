import type { HolepunchMessage } from '../extensions/ut-holepunch.ts';
import type { RequestEndReason } from '../peer/peer-events.ts';
import type { CodedError, RemoteInfo } from '../transport.ts';

/**
 * What the session needs from one connected peer: the seam between the engine and wire's
 * PeerConnection (which owns the handshake, the codec and per-peer protocol checks). The
 * session never sees bytes of the wire protocol, only these events and commands.
 *
 * The link is the one owner of the peer's wire state: the remote's pieces, both sides' choke
 * and interest, our requests in flight (with their timeouts and the peer's `reqq` cap) and the
 * byte rates both ways. The session reads these here and keeps no copy of them, so a block
 * is settled once, counted once, and the choker sees the rates the connection measured.
 */
export interface PeerLink {
  readonly remote: RemoteInfo;
  /** Attaches the session's handler; events start flowing. */
  start(events: PeerLinkEvents): void;
  /**
   * Sends a request and records it as in flight; false (nothing sent) when the link refuses
   * it: the pipeline is full, the peer chokes us, or the block is already requested.
   */
  request(index: number, begin: number, length: number): boolean;
  /**
   * How many more requests the link would send now (its pipeline cap, e.g. the peer's `reqq`,
   * minus what is in flight), so the session asks for no more than this.
   */
  readonly requestSlots: number;
  /** Our requests in flight (sent, no block, reject or timeout yet). */
  readonly outstandingCount: number;
  /** True when our request for the block at `begin` of `index` is in flight. */
  isRequested(index: number, begin: number): boolean;
  /** True when some request of ours in `piece` is in flight. */
  requestsIn(piece: number): boolean;
  /**
   * Withdraws a request in flight (endgame, or we gave up on it): a cancel goes out and a late
   * block for it is dropped quietly. No `requestEnded` follows.
   */
  cancel(index: number, begin: number, length: number): void;
  /** True when the remote has `piece` (its bitfield, have-all and haves). */
  has(piece: number): boolean;
  /** How many pieces the remote has. */
  readonly remotePieceCount: number;
  /** The remote chokes us. */
  readonly peerChoking: boolean;
  /** The remote is interested in our pieces. */
  readonly peerInterested: boolean;
  /** We choke the remote. */
  readonly amChoking: boolean;
  /** We told the remote we are interested. */
  readonly amInterested: boolean;
  /** Bytes per second of blocks from the peer (the connection's meter, on the session clock). */
  downloadRate(): number;
  /** Bytes per second of blocks to the peer. */
  uploadRate(): number;
  /**
   * Sends a block we hold. Returns false when the send buffer is full (wait for `drain`).
   * `onWritten`, when the link can tell, is called once `bytes` may be reused (see `Transport.write`).
   */
  sendBlock(index: number, begin: number, bytes: Uint8Array, onWritten?: () => void): boolean;
  /** Declines a request (BEP 6 reject when the peer speaks fast, else silence). */
  reject(index: number, begin: number, length: number): void;
  have(index: number): void;
  /** Our pieces at start (sent as bitfield / have-all / have-none as the peer understands). */
  announcePieces(bits: Uint8Array, count: number): void;
  choke(choked: boolean): void;
  interested(interested: boolean): void;
  /** Bytes queued to send. */
  readonly bufferedAmount: number;
  /** The port the peer said it listens on (BEP 10 `p`), once known. */
  readonly listenPort?: number | undefined;
  /** Sends a BEP 55 message; false (or absent) when the peer or link does not take them. */
  sendHolepunch?(msg: HolepunchMessage): boolean;
  close(reason?: CodedError): void;
}

export interface PeerLinkEvents {
  /** The handshake (and extension handshake, if any) is done. */
  ready(info: PeerInfo): void;
  have(index: number): void;
  /** Remote's full set of pieces; `undefined` bits means have-all. */
  bitfield(bits: Uint8Array | undefined): void;
  /** The remote chokes (true) or unchokes (false) us. */
  choked(choked: boolean): void;
  /** The remote is (or no longer is) interested in our pieces. */
  interested(interested: boolean): void;
  /**
   * A block we asked for, already settled against our request (no longer in flight); `bytes`
   * may be valid only during the call (copy what you keep).
   */
  block(index: number, begin: number, bytes: Uint8Array): void;
  /**
   * One of our requests ended without data and is no longer in flight: the peer rejected it
   * (BEP 6), choked us without BEP 6, it timed out (a cancel was sent), or the link closed
   * (each one ends before `closed`). Give the block back to the picker.
   */
  requestEnded(index: number, begin: number, length: number, reason: RequestEndReason): void;
  request(index: number, begin: number, length: number): void;
  cancel(index: number, begin: number, length: number): void;
  /** Peers learnt from PEX (BEP 11). */
  peers(found: readonly PeerAddress[]): void;
  /** A BEP 55 hole-punching message from this peer. */
  holepunch?(msg: HolepunchMessage): void;
  /** The send buffer drained. */
  drain(): void;
  closed(reason?: CodedError): void;
}

export interface PeerInfo {
  readonly peerId: Uint8Array;
  readonly fast: boolean;
  /** The port the peer listens on (extension handshake `p`), if it said. */
  readonly listenPort?: number;
  readonly client?: string;
}

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}
