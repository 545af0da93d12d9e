import type { CodedError } from '../transport.ts';
import type { Handshake } from '../wire/messages.ts';
import type { PeerConnection } from './peer-connection.ts';

/** Why one of our requests ended without data. */
export type RequestEndReason = 'rejected' | 'choked' | 'timeout' | 'closed';

/**
 * What a {@link PeerConnection} tells its session. One object serves every connection of a
 * session (the connection is the first argument), so there are no per-peer closures.
 * Everything here has already been validated; violations close the connection instead.
 */
export interface PeerEvents {
  /** The remote handshake arrived and matches (send bitfield and extension handshake now). */
  handshake(conn: PeerConnection, hs: Handshake): void;
  /** The remote's initial piece set arrived (bitfield, have-all or have-none). */
  pieces(conn: PeerConnection): void;
  have(conn: PeerConnection, index: number): void;
  /** The peer choked us (without BEP 6, our outstanding requests ended with 'choked' first). */
  choked(conn: PeerConnection): void;
  unchoked(conn: PeerConnection): void;
  /** The peer became interested or not interested in us. */
  interest(conn: PeerConnection, interested: boolean): void;
  /**
   * Asked by the connection before queueing a peer's request: do we have this verified piece?
   * (false -> refused with reject under BEP 6)
   */
  hasPiece(conn: PeerConnection, index: number): boolean;
  /** A valid request to serve: read the block and call `conn.sendPiece`. */
  request(conn: PeerConnection, index: number, begin: number, length: number): void;
  /** The peer cancelled a queued request (a later `sendPiece` for it is dropped anyway). */
  cancelled(conn: PeerConnection, index: number, begin: number, length: number): void;
  /**
   * Data for one of our outstanding requests: a view into the received bytes, valid only
   * during this call when the transport reuses its read buffer (`transientChunks`), so copy
   * what you keep.
   */
  block(conn: PeerConnection, index: number, begin: number, data: Uint8Array): void;
  /** One of our requests ended without data: give the block back to the picker. */
  requestEnded(
    conn: PeerConnection,
    index: number,
    begin: number,
    length: number,
    reason: RequestEndReason,
  ): void;
  allowedFast(conn: PeerConnection, index: number): void;
  suggest(conn: PeerConnection, index: number): void;
  /** BEP 5: the peer's DHT port. */
  port(conn: PeerConnection, port: number): void;
  /** A BEP 10 message (id 0 = extension handshake). */
  extended(conn: PeerConnection, extId: number, payload: Uint8Array): void;
  /** A BEP 52 hash request, hashes or hash reject (the raw body: see bep-0052-hashes.ts). */
  hashMessage(
    conn: PeerConnection,
    type: 'hash-request' | 'hashes' | 'hash-reject',
    payload: Uint8Array,
  ): void;
  /** The transport has room again after a `sendPiece` returned false. */
  drain(conn: PeerConnection): void;
  /** The connection is gone; `reason` is set for our closes and failures. */
  closed(conn: PeerConnection, reason: CodedError | undefined): void;
}

const ignore = (): void => {};

/**
 * A full {@link PeerEvents} from the handlers a caller cares about; the others do nothing
 * (`hasPiece` answers false: we serve nothing we were not asked to handle).
 */
export function peerEvents(handlers: Partial<PeerEvents>): PeerEvents {
  return {
    handshake: ignore,
    pieces: ignore,
    have: ignore,
    choked: ignore,
    unchoked: ignore,
    interest: ignore,
    hasPiece: () => false,
    request: ignore,
    cancelled: ignore,
    block: ignore,
    requestEnded: ignore,
    allowedFast: ignore,
    suggest: ignore,
    port: ignore,
    hashMessage: ignore,
    extended: ignore,
    drain: ignore,
    closed: ignore,
    ...handlers,
  };
}
