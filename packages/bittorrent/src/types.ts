/**
 * Branded types: the unit and the kind are part of the type, so a piece index cannot be
 * passed where a byte count is expected (libtorrent's `piece_index_t`).
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** SHA-1 of the bencoded info dict: 20 bytes (BEP 3). */
export type InfoHashV1 = Brand<Uint8Array, 'InfoHashV1'>;
/** SHA-256 of the bencoded info dict: 32 bytes (BEP 52). */
export type InfoHashV2 = Brand<Uint8Array, 'InfoHashV2'>;
/** Zero-based index of a piece in a torrent. */
export type PieceIndex = Brand<number, 'PieceIndex'>;
/** A count of bytes (a length or an offset). */
export type ByteCount = Brand<number, 'ByteCount'>;

/** The info-hashes of a torrent: v1, v2 or both (hybrid). At least one is present. */
export interface InfoHashes {
  readonly v1?: InfoHashV1;
  readonly v2?: InfoHashV2;
}

export function asInfoHashV1(bytes: Uint8Array): InfoHashV1 {
  if (bytes.length !== 20) throw new RangeError(`a v1 info-hash is 20 bytes, got ${bytes.length}`);
  return bytes as InfoHashV1;
}

export function asInfoHashV2(bytes: Uint8Array): InfoHashV2 {
  if (bytes.length !== 32) throw new RangeError(`a v2 info-hash is 32 bytes, got ${bytes.length}`);
  return bytes as InfoHashV2;
}

export function asPieceIndex(n: number): PieceIndex {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a piece index: ${n}`);
  return n as PieceIndex;
}

export function asByteCount(n: number): ByteCount {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a byte count: ${n}`);
  return n as ByteCount;
}

/**
 * The 20-byte id a v2 info-hash goes by on the wire and in trackers (BEP 52: truncated to
 * the first 20 bytes where a v1-sized hash is expected).
 */
export function truncatedV2(hash: InfoHashV2): Uint8Array {
  return hash.subarray(0, 20);
}
