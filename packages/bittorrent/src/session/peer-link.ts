import type { HolepunchMessage } from '../extensions/ut-holepunch.ts';
import type { CodedError, RemoteInfo } from '../transport.ts';

/**
 * What the session needs from one connected peer: the seam between the engine and wire's
 * PeerConnection (which owns the handshake, the codec and per-peer protocol checks). The
 * session never sees bytes of the wire protocol, only these events and commands.
 */
export interface PeerLink {
  readonly remote: RemoteInfo;
  /** Attaches the session's handler; events start flowing. */
  start(events: PeerLinkEvents): void;
  request(index: number, begin: number, length: number): void;
  /**
   * How many more requests the link would send now (its pipeline cap, e.g. the peer's `reqq`,
   * minus what is in flight), when it has such a cap. Requests beyond it come back as
   * `rejected`, so the session asks for no more than this.
   */
  readonly requestSlots?: number;
  cancel(index: number, begin: number, length: number): void;
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
  /** A block we asked for; `bytes` may be valid only during the call (copy what you keep). */
  block(index: number, begin: number, bytes: Uint8Array): void;
  rejected(index: number, begin: number, length: number): void;
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
