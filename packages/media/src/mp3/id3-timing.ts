/**
 * The timing facts inside a leading ID3v2 tag that stitching makes wrong: chapter frames
 * (CHAP, id3.org "ID3v2 Chapter Frame Addendum": start/end time in ms, start/end byte offset)
 * and the length frame (TLEN, ms as text). The scanner records where their fields sit in the
 * file so the layout can patch them in place, without re-writing the tag (cover art and all).
 * Tags with unsynchronisation or compressed/encrypted frames are left alone (`patchable`
 * false): their bytes do not sit where the fields are.
 */

export interface Id3Chapter {
  elementId: string;
  /** File offset of the 16 bytes start time, end time, start offset, end offset. */
  fieldsAt: number;
  startMs: number;
  endMs: number;
}

export interface Id3Timing {
  /** Where the tag starts and ends in the file. */
  start: number;
  end: number;
  major: number;
  chapters: Id3Chapter[];
  /** TLEN: file offset and length of its text (after the encoding byte), and its value. */
  length: { textAt: number; textBytes: number; ms: number | null; frameIdAt: number } | null;
  /** False when unsynchronisation or frame compression/encryption hides where fields are. */
  patchable: boolean;
}

const u32 = (b: Uint8Array, at: number) =>
  (((b[at] as number) << 24) |
    ((b[at + 1] as number) << 16) |
    ((b[at + 2] as number) << 8) |
    (b[at + 3] as number)) >>>
  0;
const syncsafe = (b: Uint8Array, at: number) =>
  ((b[at] as number) & 0x7f) * 2097152 +
  ((b[at + 1] as number) & 0x7f) * 16384 +
  ((b[at + 2] as number) & 0x7f) * 128 +
  ((b[at + 3] as number) & 0x7f);

/** Read the timing frames of the ID3v2 tag at [start, end) (v2.3 and v2.4; v2.2 is reported unpatchable). */
export function id3Timing(bytes: Uint8Array, start: number, end: number): Id3Timing {
  const major = bytes[start + 3] as number;
  const flags = bytes[start + 5] as number;
  const out: Id3Timing = { start, end, major, chapters: [], length: null, patchable: true };
  if (major < 3 || flags & 0x80) {
    out.patchable = false;
    return out;
  }
  let p = start + 10;
  const bodyEnd = Math.min(bytes.length, end - (major === 4 && flags & 0x10 ? 10 : 0));
  if (flags & 0x40) {
    const ext = major === 4 ? syncsafe(bytes, p) : 4 + u32(bytes, p);
    p += ext;
  }
  while (p + 10 <= bodyEnd) {
    if (bytes[p] === 0) break; // padding
    const id = String.fromCharCode(...bytes.subarray(p, p + 4));
    if (!/^[A-Z0-9]{4}$/.test(id)) break;
    const size = major === 4 ? syncsafe(bytes, p + 4) : u32(bytes, p + 4);
    const formatFlags = bytes[p + 9] as number;
    const body = p + 10;
    if (size <= 0 || body + size > bodyEnd) break;
    const hidden = major === 4 ? (formatFlags & 0x0f) !== 0 : (formatFlags & 0xe0) !== 0;
    if ((id === 'CHAP' || id === 'TLEN') && hidden) out.patchable = false;
    else if (id === 'CHAP') {
      let q = body;
      while (q < body + size && bytes[q] !== 0) q++;
      if (q + 17 <= body + size) {
        out.chapters.push({
          elementId: String.fromCharCode(...bytes.subarray(body, Math.min(q, body + 64))),
          fieldsAt: q + 1,
          startMs: u32(bytes, q + 1),
          endMs: u32(bytes, q + 5),
        });
      }
    } else if (id === 'TLEN' && size >= 2 && (bytes[body] === 0 || bytes[body] === 3)) {
      const text = String.fromCharCode(...bytes.subarray(body + 1, body + size)).replace(/\0+$/, '');
      out.length = {
        textAt: body + 1,
        textBytes: size - 1,
        ms: /^\d+$/.test(text) ? Number(text) : null,
        frameIdAt: p,
      };
    }
    p = body + size;
  }
  return out;
}
