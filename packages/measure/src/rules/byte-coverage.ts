/**
 * Distinct byte coverage of a file from many (possibly overlapping, out-of-order) ranges.
 * Several well-known implementations count any range request as a full download; IAB
 * v2.3 step 1.3 (2b) asks for reassembly instead, which is what this is.
 */

/** An inclusive byte range [start, end]. */
export type ByteRange = readonly [start: number, end: number];

/** Merges ranges into sorted, disjoint, non-adjacent ranges. Pure; input not modified. */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter(([s, e]) => e >= s && s >= 0).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Number of distinct bytes the ranges cover. */
export function coveredBytes(ranges: readonly ByteRange[]): number {
  let n = 0;
  for (const [s, e] of mergeRanges(ranges)) n += e - s + 1;
  return n;
}
