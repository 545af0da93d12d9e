/**
 * Peer wire messages as typed values: BEP 3 (core), BEP 5 (port), BEP 6 (fast extension),
 * BEP 10 (extension protocol framing) and the three BEP 52 hash messages (decoded so a v2
 * peer is not dropped for sending them; their payloads are left to the caller).
 */

/** The length of a block we request and serve (BEP 3 practice; larger requests are refused). */
export const BLOCK_SIZE = 16 * 1024;
/** The largest block a request may ask for. */
export const MAX_REQUEST_LENGTH = BLOCK_SIZE;
/** Default upper bound of a frame's length prefix: a 1 MiB payload plus room for headers. */
export const DEFAULT_MAX_FRAME_LENGTH = 1024 * 1024 + 64;
/** Length of the BEP 3 handshake in bytes. */
export const HANDSHAKE_LENGTH = 68;

/** Message ids on the wire. */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  extended: 20,
  hashRequest: 21,
  hashes: 22,
  hashReject: 23,
} as const;

/** The BEP 3 handshake, with the reserved bits we understand decoded. */
export interface Handshake {
  readonly type: 'handshake';
  /** The 8 reserved bytes as sent. */
  readonly reserved: Uint8Array;
  /** 20 bytes (v1 info-hash, or the truncated v2 one). */
  readonly infoHash: Uint8Array;
  /** 20 bytes. */
  readonly peerId: Uint8Array;
  /** BEP 6: reserved[7] & 0x04. */
  readonly fast: boolean;
  /** BEP 10: reserved[5] & 0x10. */
  readonly extended: boolean;
  /** BEP 5: reserved[7] & 0x01. */
  readonly dht: boolean;
  /** BEP 52 upgrade to v2: reserved[7] & 0x10. */
  readonly v2: boolean;
}

export interface KeepAlive {
  readonly type: 'keep-alive';
}
export interface Choke {
  readonly type: 'choke';
}
export interface Unchoke {
  readonly type: 'unchoke';
}
export interface Interested {
  readonly type: 'interested';
}
export interface NotInterested {
  readonly type: 'not-interested';
}
export interface Have {
  readonly type: 'have';
  readonly index: number;
}
export interface Bitfield {
  readonly type: 'bitfield';
  /** Big-endian bit order: piece 0 is the high bit of byte 0. A view into the received chunk. */
  readonly bits: Uint8Array;
}
export interface Request {
  readonly type: 'request';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface Piece {
  readonly type: 'piece';
  readonly index: number;
  readonly begin: number;
  /** The block's bytes: a view into the received chunk when the frame arrived whole. */
  readonly block: Uint8Array;
}
export interface Cancel {
  readonly type: 'cancel';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface Port {
  readonly type: 'port';
  readonly port: number;
}
export interface Suggest {
  readonly type: 'suggest';
  readonly index: number;
}
export interface HaveAll {
  readonly type: 'have-all';
}
export interface HaveNone {
  readonly type: 'have-none';
}
export interface Reject {
  readonly type: 'reject';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface AllowedFast {
  readonly type: 'allowed-fast';
  readonly index: number;
}
export interface Extended {
  readonly type: 'extended';
  /** 0 = extension handshake; otherwise the id we assigned in our handshake's `m`. */
  readonly extId: number;
  /** The bencoded body (and any trailing data, as ut_metadata sends). */
  readonly payload: Uint8Array;
}
/** BEP 52 hash request / hashes / hash reject: kept raw. */
export interface HashMessage {
  readonly type: 'hash-request' | 'hashes' | 'hash-reject';
  readonly payload: Uint8Array;
}

/** Every message after the handshake. */
export type WireMessage =
  | KeepAlive
  | Choke
  | Unchoke
  | Interested
  | NotInterested
  | Have
  | Bitfield
  | Request
  | Piece
  | Cancel
  | Port
  | Suggest
  | HaveAll
  | HaveNone
  | Reject
  | AllowedFast
  | Extended
  | HashMessage;

export type WireMessageType = WireMessage['type'];

/** Shared instances for the messages without fields (decoding allocates nothing for them). */
export const KEEP_ALIVE: KeepAlive = Object.freeze({ type: 'keep-alive' });
export const CHOKE: Choke = Object.freeze({ type: 'choke' });
export const UNCHOKE: Unchoke = Object.freeze({ type: 'unchoke' });
export const INTERESTED: Interested = Object.freeze({ type: 'interested' });
export const NOT_INTERESTED: NotInterested = Object.freeze({ type: 'not-interested' });
export const HAVE_ALL: HaveAll = Object.freeze({ type: 'have-all' });
export const HAVE_NONE: HaveNone = Object.freeze({ type: 'have-none' });
