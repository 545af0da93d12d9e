import type { Hasher } from './hasher.ts';

/** BEP 52 merkle trees: 16 KiB leaves, SHA-256, zero-padded to a power of two. */
export const BLOCK_SIZE = 16 * 1024;

const ZERO: Uint8Array = new Uint8Array(32);

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

async function hashPair(a: Uint8Array, b: Uint8Array, hasher: Hasher): Promise<Uint8Array> {
  const both = new Uint8Array(64);
  both.set(a, 0);
  both.set(b, 32);
  return hasher.sha256(both);
}

/** Root of a subtree of `leafCount` (a power of two) all-zero leaves. */
export async function padHash(leafCount: number, hasher: Hasher): Promise<Uint8Array> {
  let h = ZERO;
  for (let n = leafCount; n > 1; n /= 2) h = await hashPair(h, h, hasher);
  return h;
}

/**
 * Root of a tree whose first leaves are `leaves` and whose remaining leaves up to
 * `width` (a power of two >= leaves.length) are `pad` (the root of an all-zero subtree
 * of the leaves' level).
 */
export async function merkleRoot(
  leaves: readonly Uint8Array[],
  width: number,
  hasher: Hasher,
  pad: Uint8Array = ZERO,
): Promise<Uint8Array> {
  if (width < leaves.length || nextPowerOfTwo(width) !== width)
    throw new RangeError(`bad merkle width ${width}`);
  let level = leaves.slice();
  let padding = pad;
  for (let w = width; w > 1; w /= 2) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(await hashPair(level[i]!, level[i + 1] ?? padding, hasher));
    level = next;
    padding = await hashPair(padding, padding, hasher);
  }
  return level[0] ?? padding;
}

/** SHA-256 of each 16 KiB block of `data` (the last block may be short). */
export async function blockHashes(data: Uint8Array, hasher: Hasher): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK_SIZE)
    out.push(await hasher.sha256(data.subarray(at, at + BLOCK_SIZE)));
  return out;
}

/**
 * The piece-layer hash of one v2 piece: the root of its blocks, padded with zero leaves to
 * pieceLength / 16 KiB leaves (so the last, short piece of a file hashes like libtorrent).
 */
export async function v2PieceHash(
  piece: Uint8Array,
  pieceLength: number,
  hasher: Hasher,
): Promise<Uint8Array> {
  return merkleRoot(await blockHashes(piece, hasher), pieceLength / BLOCK_SIZE, hasher);
}

/**
 * The `pieces root` of a file from its piece-layer hashes (files larger than one piece).
 * Missing pieces up to the next power of two are whole zero pieces.
 */
export async function rootFromPieceLayer(
  layer: readonly Uint8Array[],
  pieceLength: number,
  hasher: Hasher,
): Promise<Uint8Array> {
  return merkleRoot(
    layer,
    nextPowerOfTwo(layer.length),
    hasher,
    await padHash(pieceLength / BLOCK_SIZE, hasher),
  );
}

/** The `pieces root` of a file no larger than one piece: its blocks padded to a power of two. */
export async function rootOfSmallFile(data: Uint8Array, hasher: Hasher): Promise<Uint8Array> {
  const leaves = await blockHashes(data, hasher);
  return merkleRoot(leaves, nextPowerOfTwo(leaves.length), hasher);
}

/** Splits a concatenated piece layer into 32-byte hashes. */
export function splitHashes(layer: Uint8Array, size = 32): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + size <= layer.length; at += size) out.push(layer.subarray(at, at + size));
  return out;
}
