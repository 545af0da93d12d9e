import type { HashServer } from '../extensions/bep-0052-hashes.ts';
import type { StorageLayout } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { Clock, Random, Timers } from '../timers.ts';
import type { CodedError, Dialer, Transport } from '../transport.ts';
import type { PeerLink } from './peer-link.ts';
import type { PeerSetLimits } from './peer-set.ts';
import type { VerifyPiece } from './piece-verification.ts';
import type { PieceSource } from './web-seed-downloads.ts';

/** The options, events and figures of a {@link TorrentSession} (torrent-session.ts). */

export interface TorrentSessionOptions {
  /** The 20-byte id of the torrent on the wire (v1 info-hash, or truncated v2). */
  readonly infoHash: Uint8Array;
  /**
   * Other 20-byte ids of the same torrent a peer may handshake with: a hybrid torrent's
   * truncated v2 hash beside its v1 hash (BEP 52). Incoming peers get their own hash back.
   */
  readonly aliases?: readonly Uint8Array[];
  readonly peerId: Uint8Array;
  readonly layout: StorageLayout;
  readonly storage: Storage;
  readonly verifyPiece: VerifyPiece;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly dialer: Dialer;
  /** Pieces to download (file selection); default all. */
  readonly wanted?: (piece: number) => boolean;
  readonly limits?: Partial<PeerSetLimits>;
  /**
   * Most connections peers opened to us (default 150). When full, a handshaken peer that has
   * been idle (neither side interested) for `idleEvictMs` makes room; otherwise the new
   * connection is refused, so idle sockets cannot take every descriptor.
   */
  readonly maxIncoming?: number;
  /** Most connections from one IP address (default 8; loopback is not limited). */
  readonly maxPerAddress?: number;
  /** Upload cap in bytes/s over all peers (default none). */
  readonly uploadRateLimit?: number;
  /**
   * The caller hashed the data on disk into this torrent moments ago: `start` takes every
   * piece whose bytes are present as verified without reading and hashing them again.
   */
  readonly dataVerified?: boolean;
  /** Most bytes queued to one peer at a time (default 1 MiB; see Uploader). */
  readonly sendBuffer?: number;
  /** Upload slots of the choker (default 4). */
  readonly uploadSlots?: number;
  /** Wraps a transport into a peer link (default: the codec link). The simulator may pass its own. */
  readonly linkFactory?: (transport: Transport) => PeerLink;
  /** The bencoded info dictionary, served to peers that have only the magnet link (BEP 9). */
  readonly info?: Uint8Array;
  /** Exchange peers with peers (BEP 11; default false, and never for a private torrent). */
  readonly pex?: boolean;
  /** Our listen port, told to peers in the extension handshake. */
  readonly listenPort?: number;
  /** HTTP sources of pieces (BEP 19 web seeds), used for pieces no connected peer has. */
  readonly webSeeds?: readonly PieceSource[];
  /** Answers BEP 52 hash requests from our piece layers (v2 and hybrid torrents). */
  readonly hashServer?: HashServer;
  /**
   * BEP 55 hole punching: relay rendezvous between our peers, and when a dial to a peer we
   * learnt by PEX fails, ask the peer that told us to have both of us dial at once (meant for
   * uTP, whose packets open the NATs on both sides). Default false.
   */
  readonly holepunch?: boolean;
}

export interface SessionEvents {
  /** A piece verified and was stored. */
  piece(index: number): void;
  /** Every wanted piece is verified and stored. */
  done(): void;
  peerConnected(key: string): void;
  peerClosed(key: string, reason?: CodedError): void;
  /** A peer sent bad data or broke the protocol badly; it was dropped and banned. */
  peerBanned(key: string, reason: CodedError): void;
  /** Something failed that the session survived (disk error on one piece, a dial...). */
  warning(error: CodedError): void;
  /**
   * BEP 55: `relayed` (we introduced two peers: the asker, then the target), `connect` (a
   * relay asked us to dial the address), `error` (a relay could not: address, BEP 55 code).
   */
  holepunch(kind: 'relayed' | 'connect' | 'error', address: string, other?: string): void;
}

export interface SessionStats {
  readonly pieces: number;
  readonly wantedPieces: number;
  readonly verifiedBytes: number;
  readonly downloaded: number;
  readonly uploaded: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly peers: number;
  readonly banned: number;
  /** Web seeds in use (those that sent bad data are dropped). */
  readonly webSeeds: number;
}
