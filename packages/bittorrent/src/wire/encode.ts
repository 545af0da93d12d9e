import { MessageId, type WireMessage } from './messages.ts';

/**
 * Encoding: `encode` allocates exactly one buffer per message; `encodeInto` writes into a
 * caller's buffer (see MessageWriter for the slab the peer connection uses on its hot path);
 * `encodePieceHeader` writes only the 13-byte header of a piece so the block itself is sent
 * as its own chunk, never copied.
 */

/** The number of bytes `msg` takes on the wire, length prefix included. */
export function encodedLength(msg: WireMessage): number {
  switch (msg.type) {
    case 'keep-alive':
      return 4;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not-interested':
    case 'have-all':
    case 'have-none':
      return 5;
    case 'have':
    case 'suggest':
    case 'allowed-fast':
      return 9;
    case 'port':
      return 7;
    case 'request':
    case 'cancel':
    case 'reject':
      return 17;
    case 'bitfield':
      return 5 + msg.bits.length;
    case 'piece':
      return 13 + msg.block.length;
    case 'extended':
      return 6 + msg.payload.length;
    case 'hash-request':
    case 'hashes':
    case 'hash-reject':
      return 5 + msg.payload.length;
  }
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

function idOf(type: WireMessage['type']): number {
  switch (type) {
    case 'keep-alive':
      return -1;
    case 'choke':
      return MessageId.choke;
    case 'unchoke':
      return MessageId.unchoke;
    case 'interested':
      return MessageId.interested;
    case 'not-interested':
      return MessageId.notInterested;
    case 'have':
      return MessageId.have;
    case 'bitfield':
      return MessageId.bitfield;
    case 'request':
      return MessageId.request;
    case 'piece':
      return MessageId.piece;
    case 'cancel':
      return MessageId.cancel;
    case 'port':
      return MessageId.port;
    case 'suggest':
      return MessageId.suggest;
    case 'have-all':
      return MessageId.haveAll;
    case 'have-none':
      return MessageId.haveNone;
    case 'reject':
      return MessageId.reject;
    case 'allowed-fast':
      return MessageId.allowedFast;
    case 'extended':
      return MessageId.extended;
    case 'hash-request':
      return MessageId.hashRequest;
    case 'hashes':
      return MessageId.hashes;
    case 'hash-reject':
      return MessageId.hashReject;
  }
}

/**
 * Writes `msg` into `buf` at `offset` and returns the number of bytes written. The caller
 * guarantees room for `encodedLength(msg)` bytes (a RangeError is thrown otherwise).
 */
export function encodeInto(msg: WireMessage, buf: Uint8Array, offset: number): number {
  const total = encodedLength(msg);
  if (offset < 0 || offset + total > buf.length) throw new RangeError('encodeInto: buffer too small');
  writeU32(buf, offset, total - 4);
  if (msg.type === 'keep-alive') return 4;
  buf[offset + 4] = idOf(msg.type);
  const at = offset + 5;
  switch (msg.type) {
    case 'have':
    case 'suggest':
    case 'allowed-fast':
      writeU32(buf, at, msg.index);
      break;
    case 'port':
      buf[at] = msg.port >>> 8;
      buf[at + 1] = msg.port;
      break;
    case 'request':
    case 'cancel':
    case 'reject':
      writeU32(buf, at, msg.index);
      writeU32(buf, at + 4, msg.begin);
      writeU32(buf, at + 8, msg.length);
      break;
    case 'bitfield':
      buf.set(msg.bits, at);
      break;
    case 'piece':
      writeU32(buf, at, msg.index);
      writeU32(buf, at + 4, msg.begin);
      buf.set(msg.block, at + 8);
      break;
    case 'extended':
      buf[at] = msg.extId;
      buf.set(msg.payload, at + 1);
      break;
    case 'hash-request':
    case 'hashes':
    case 'hash-reject':
      buf.set(msg.payload, at);
      break;
    default:
      break;
  }
  return total;
}

/** Encodes one message into a new buffer. */
export function encode(msg: WireMessage): Uint8Array {
  const out = new Uint8Array(encodedLength(msg));
  encodeInto(msg, out, 0);
  return out;
}

/** Writes the 13-byte header of a piece message carrying `blockLength` bytes. */
export function encodePieceHeader(
  index: number,
  begin: number,
  blockLength: number,
  buf: Uint8Array,
  offset: number,
): number {
  if (offset + 13 > buf.length) throw new RangeError('encodePieceHeader: buffer too small');
  writeU32(buf, offset, 9 + blockLength);
  buf[offset + 4] = MessageId.piece;
  writeU32(buf, offset + 5, index);
  writeU32(buf, offset + 9, begin);
  return 13;
}

/**
 * Writes a request (or cancel, or reject: same body, `id`) of 17 bytes. The per-block path
 * sends one request per 16 KiB block: written from its numbers, it needs no message object,
 * and `encodeInto` (which takes every message shape) stays off that path.
 */
export function encodeBlockMessage(
  id: number,
  index: number,
  begin: number,
  length: number,
  buf: Uint8Array,
  offset: number,
): number {
  if (offset + 17 > buf.length) throw new RangeError('encodeBlockMessage: buffer too small');
  writeU32(buf, offset, 13);
  buf[offset + 4] = id;
  writeU32(buf, offset + 5, index);
  writeU32(buf, offset + 9, begin);
  writeU32(buf, offset + 13, length);
  return 17;
}
