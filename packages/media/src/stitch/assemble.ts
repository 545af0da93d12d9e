/**
 * Turn a layout's parts into bytes: the whole file, or the parts that cover one byte range
 * (what a server streams for `Range: bytes=a-b`). Pure; the caller supplies the bytes.
 */
import type { StitchLayout, StitchPart } from './layout.ts';

/**
 * The parts covering [start, end) of the stitched file, clipped to it (end exclusive). A
 * server reads each `content`/`ad` part from the episode file or the prepared ad.
 */
export function partsInRange(layout: Pick<StitchLayout, 'parts'>, start: number, end: number): StitchPart[] {
  const out: StitchPart[] = [];
  let pos = 0;
  for (const part of layout.parts) {
    const size = part.kind === 'bytes' ? part.bytes.length : part.end - part.start;
    const a = Math.max(start, pos);
    const z = Math.min(end, pos + size);
    if (a < z) {
      if (part.kind === 'bytes') out.push({ kind: 'bytes', bytes: part.bytes.subarray(a - pos, z - pos) });
      else out.push({ ...part, start: part.start + (a - pos), end: part.start + (z - pos) });
    }
    pos += size;
    if (pos >= end) break;
  }
  return out;
}

/** The stitched file (or one range of it) in memory: for tests and small files. */
export function assembleStitch(
  layout: Pick<StitchLayout, 'parts' | 'totalBytes'>,
  content: Uint8Array,
  adBytes: (adId: string) => Uint8Array,
  range: { start: number; end: number } = { start: 0, end: layout.totalBytes },
): Uint8Array {
  const parts = partsInRange(layout, range.start, range.end);
  const out = new Uint8Array(Math.max(0, Math.min(range.end, layout.totalBytes) - range.start));
  let p = 0;
  for (const part of parts) {
    const bytes =
      part.kind === 'bytes'
        ? part.bytes
        : part.kind === 'content'
          ? content.subarray(part.start, part.end)
          : adBytes(part.adId).subarray(part.start, part.end);
    out.set(bytes, p);
    p += bytes.length;
  }
  return out;
}
