import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 (Certificate Transparency v2), section 2.1: SHA-256, leaves
 * hashed as H(0x00 || leaf), inner nodes as H(0x01 || left || right), the split at the largest
 * power of two below n. The same definitions as docs/verifiable-statements.md.
 */
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function leafHash(leaf: Uint8Array): Buffer {
  return sha256(Uint8Array.of(0), leaf);
}

const node = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(1), l, r);

/** The largest power of two smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (already H(0x00 || leaf)). The empty tree's root is H(""). */
export function merkleRoot(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return sha256();
  if (hashes.length === 1) return Buffer.from(hashes[0] as Uint8Array);
  const k = split(hashes.length);
  return node(merkleRoot(hashes.slice(0, k)), merkleRoot(hashes.slice(k)));
}

/** PATH(m, D[n]) of RFC 9162 2.1.3.1: the sibling hashes from the leaf up. */
export function inclusionProof(hashes: readonly Uint8Array[], m: number): Buffer[] {
  const n = hashes.length;
  if (m < 0 || m >= n) throw new RangeError(`leaf ${m} is not in a tree of ${n}`);
  if (n === 1) return [];
  const k = split(n);
  return m < k
    ? [...inclusionProof(hashes.slice(0, k), m), merkleRoot(hashes.slice(k))]
    : [...inclusionProof(hashes.slice(k), m - k), merkleRoot(hashes.slice(0, k))];
}

/** RFC 9162 2.1.3.2: whether `hash` is leaf `index` of the tree of `size` leaves with `root`. */
export function verifyInclusion(
  hash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = hash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else r = node(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}
