/**
 * Patch the content's leading ID3v2 tag for a stitched file, in place (same size): chapter
 * (CHAP) times move by the ads inserted before them and their byte offsets become "unused"
 * (0xFFFFFFFF, as the addendum allows); TLEN gets the new length, or, when the new number
 * does not fit the old text, its frame ID becomes "XLEN" (an experimental ID that readers
 * skip) so no reader believes a stale length. The rest of the tag is copied byte for byte.
 */
import type { Id3Timing } from '../mp3/id3-timing.ts';
import type { StitchPart } from './layout.ts';

interface Patch {
  at: number;
  bytes: Uint8Array;
}

const be32 = (n: number) => {
  const v = Math.max(0, Math.min(0xffffffff, Math.round(n)));
  return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
};

export function patchId3(
  timing: Id3Timing,
  tagEnd: number,
  shift: (ms: number, edge: 'start' | 'end') => number,
  lengthMs: number,
): { parts: StitchPart[]; patched: boolean } {
  if (!timing.patchable || (timing.chapters.length === 0 && timing.length === null)) {
    return { parts: [{ kind: 'content', start: 0, end: tagEnd }], patched: false };
  }
  const patches: Patch[] = [];
  for (const c of timing.chapters) {
    const fields = new Uint8Array(16);
    fields.set(be32(shift(c.startMs, 'start')), 0);
    fields.set(be32(shift(c.endMs, 'end')), 4);
    fields.set(be32(0xffffffff), 8);
    fields.set(be32(0xffffffff), 12);
    patches.push({ at: c.fieldsAt, bytes: fields });
  }
  if (timing.length) {
    const digits = String(Math.round(lengthMs));
    const room = timing.length.textBytes;
    if (digits.length <= room) {
      patches.push({ at: timing.length.textAt, bytes: new TextEncoder().encode(digits.padStart(room, '0')) });
    } else {
      patches.push({ at: timing.length.frameIdAt, bytes: new TextEncoder().encode('XLEN') });
    }
  }
  patches.sort((a, b) => a.at - b.at);
  const parts: StitchPart[] = [];
  let pos = 0;
  for (const p of patches) {
    if (p.at < pos || p.at + p.bytes.length > tagEnd) continue;
    if (p.at > pos) parts.push({ kind: 'content', start: pos, end: p.at });
    parts.push({ kind: 'bytes', bytes: p.bytes });
    pos = p.at + p.bytes.length;
  }
  if (pos < tagEnd) parts.push({ kind: 'content', start: pos, end: tagEnd });
  return { parts, patched: true };
}
