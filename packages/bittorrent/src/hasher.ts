/**
 * The hashing seam. The core never reaches for a crypto implementation itself: browsers pass
 * `subtleHasher()`, Node passes `nodeHasher` from `@swarmcast/bittorrent/node` (faster for the
 * many 16 KiB blocks of a v2 merkle tree).
 */
export interface Hasher {
  /** SHA-1 (v1 pieces and info-hash). */
  sha1(data: Uint8Array): Promise<Uint8Array>;
  /** SHA-256 (v2 blocks, merkle nodes and info-hash). */
  sha256(data: Uint8Array): Promise<Uint8Array>;
}

/** Minimal shape of SubtleCrypto that we use (WebCrypto in browsers, workers and Node). */
export interface SubtleDigest {
  digest(algorithm: 'SHA-1' | 'SHA-256', data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>;
}

/** A Hasher over WebCrypto's SubtleCrypto (the browser default). */
export function subtleHasher(
  subtle: SubtleDigest = globalThis.crypto.subtle as unknown as SubtleDigest,
): Hasher {
  const digest = async (alg: 'SHA-1' | 'SHA-256', data: Uint8Array) =>
    new Uint8Array(await subtle.digest(alg, data as Uint8Array<ArrayBuffer>));
  return { sha1: (d) => digest('SHA-1', d), sha256: (d) => digest('SHA-256', d) };
}
