import { decodeBencodePrefix, encodeBencode, isDict, isInt } from '../bencode.ts';
import { bytesEqual } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import { MAX_METADATA_SIZE } from './extension-handshake.ts';

/** BEP 9 metadata pieces are 16 KiB (the last one shorter). */
export const METADATA_PIECE_SIZE = 16 * 1024;

/** A BEP 9 message. */
export type MetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: 'reject'; readonly piece: number };

/** Encodes a BEP 9 message (payload of an extended message with the peer's ut_metadata id). */
export function encodeMetadataMessage(msg: MetadataMessage): Uint8Array {
  if (msg.type === 'request') return encodeBencode({ msg_type: 0, piece: msg.piece });
  if (msg.type === 'reject') return encodeBencode({ msg_type: 2, piece: msg.piece });
  const head = encodeBencode({ msg_type: 1, piece: msg.piece, total_size: msg.totalSize });
  const out = new Uint8Array(head.length + msg.data.length);
  out.set(head, 0);
  out.set(msg.data, head.length);
  return out;
}

/** Decodes a BEP 9 message; the data of a `data` message is a view into `payload`. */
export function decodeMetadataMessage(payload: Uint8Array): Result<MetadataMessage> {
  const d = decodeBencodePrefix(payload, { maxBytes: payload.length, maxDepth: 4, maxItems: 64 });
  if (!d.ok || !isDict(d.value.value))
    return fail('BT_METADATA_BAD_MESSAGE', 'ut_metadata header is not a dictionary');
  const { msg_type: type, piece, total_size: totalSize } = d.value.value;
  if (!isInt(type) || !isInt(piece) || piece < 0 || piece > MAX_METADATA_SIZE / METADATA_PIECE_SIZE) {
    return fail('BT_METADATA_BAD_MESSAGE', 'ut_metadata message without a valid msg_type and piece');
  }
  const rest = payload.subarray(d.value.report.end);
  if (type === 0) return ok({ type: 'request', piece });
  if (type === 2) return ok({ type: 'reject', piece });
  if (type === 1) {
    if (!isInt(totalSize) || totalSize <= 0 || totalSize > MAX_METADATA_SIZE) {
      return fail('BT_METADATA_BAD_MESSAGE', 'ut_metadata data without a valid total_size');
    }
    return ok({ type: 'data', piece, totalSize, data: rest });
  }
  return fail('BT_METADATA_BAD_MESSAGE', `unknown ut_metadata msg_type ${type}`);
}

/** Number of 16 KiB pieces of metadata of `size` bytes. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_SIZE);
}

/** The bytes of one metadata piece we serve (for a `data` reply). */
export function metadataPiece(info: Uint8Array, piece: number): Uint8Array | undefined {
  const begin = piece * METADATA_PIECE_SIZE;
  if (piece < 0 || begin >= info.length) return undefined;
  return info.subarray(begin, Math.min(info.length, begin + METADATA_PIECE_SIZE));
}

/**
 * Collects the pieces of a torrent's info dictionary from peers (BEP 9) and verifies the
 * whole against the info-hash with an injected hash (SHA-1 for v1, SHA-256 for v2). It picks
 * which piece to ask next; whom to ask and when to give up is the caller's policy.
 * Invariant: a piece is missing, requested, or held; a failed verification empties it all.
 */
export class MetadataAssembler {
  readonly pieceCount: number;
  private readonly buffer: Uint8Array;
  private readonly state: Uint8Array; // 0 missing, 1 requested, 2 held
  private held = 0;

  constructor(
    readonly size: number,
    private readonly infoHash: Uint8Array,
    private readonly hash: (data: Uint8Array) => Promise<Uint8Array>,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_SIZE) {
      throw new RangeError(`metadata size ${size} out of range`);
    }
    this.pieceCount = metadataPieceCount(size);
    this.buffer = new Uint8Array(size);
    this.state = new Uint8Array(this.pieceCount);
  }

  /** True once every piece is held (call `verify`). */
  get complete(): boolean {
    return this.held === this.pieceCount;
  }

  /** The next piece to request, marked requested; undefined when all are requested or held. */
  nextRequest(): number | undefined {
    const p = this.state.indexOf(0);
    if (p < 0) return undefined;
    this.state[p] = 1;
    return p;
  }

  /** A request failed (reject, timeout, peer gone): the piece can be asked of someone else. */
  requestFailed(piece: number): void {
    if (this.state[piece] === 1) this.state[piece] = 0;
  }

  /**
   * Stores a received piece. Returns an error (and stores nothing) when the size does not
   * match ours or the piece has the wrong length: that peer is lying or broken.
   */
  add(piece: number, totalSize: number, data: Uint8Array): Result<boolean> {
    if (totalSize !== this.size)
      return fail('BT_METADATA_BAD_MESSAGE', `total_size ${totalSize}, want ${this.size}`);
    if (piece < 0 || piece >= this.pieceCount)
      return fail('BT_METADATA_BAD_MESSAGE', `no metadata piece ${piece}`);
    const want = Math.min(METADATA_PIECE_SIZE, this.size - piece * METADATA_PIECE_SIZE);
    if (data.length !== want)
      return fail('BT_METADATA_BAD_MESSAGE', `piece ${piece} of ${data.length} bytes, want ${want}`);
    if (this.state[piece] === 2) return ok(false);
    this.buffer.set(data, piece * METADATA_PIECE_SIZE);
    this.state[piece] = 2;
    this.held++;
    return ok(true);
  }

  /**
   * Hashes the assembled info dictionary. On a match returns its bytes; on a mismatch every
   * piece is dropped (we cannot tell which peer lied) and BT_METADATA_HASH_MISMATCH returned.
   */
  async verify(): Promise<Result<Uint8Array>> {
    if (!this.complete) return fail('BT_METADATA_INCOMPLETE', 'metadata pieces are still missing');
    const digest = await this.hash(this.buffer);
    if (bytesEqual(digest.subarray(0, this.infoHash.length), this.infoHash)) return ok(this.buffer.slice());
    this.state.fill(0);
    this.held = 0;
    return fail('BT_METADATA_HASH_MISMATCH', 'the assembled metadata does not hash to the info-hash');
  }
}

/** The payload of a `data` reply carrying piece `piece` of `info`, or a reject if out of range. */
export function metadataReply(info: Uint8Array, piece: number): Uint8Array {
  const data = metadataPiece(info, piece);
  return data
    ? encodeMetadataMessage({ type: 'data', piece, totalSize: info.length, data })
    : encodeMetadataMessage({ type: 'reject', piece });
}
