/** Number parsing shared by the codecs: decimal text to a safe non-negative integer. */

/**
 * Parses decimal digits (up to 20, so any uint64 fits) into a number, clamped to
 * Number.MAX_SAFE_INTEGER; null for anything else. Byte counters beyond 2^53 are not real.
 */
export function parseCount(text: string): number | null {
  if (text.length === 0 || text.length > 20) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const n = Number(text);
  return n > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : n;
}

/**
 * Reads a big-endian uint64 as a number clamped to MAX_SAFE_INTEGER. Takes the caller's
 * DataView: a UDP announce reads three counters, and a DataView made per read was three
 * allocations per announce (2.8% of the in-process announce path's profile).
 */
export function readUint64Clamped(view: DataView, offset: number): number {
  const hi = view.getUint32(offset);
  const lo = view.getUint32(offset + 4);
  // A negative int64 (a buggy client) counts as 0; beyond 2^53 is clamped.
  if (hi >= 0x80000000) return 0;
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER;
  return hi * 0x100000000 + lo;
}

/** Hex of bytes, lower case. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
