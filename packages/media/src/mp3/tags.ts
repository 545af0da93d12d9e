/**
 * Tags around MPEG audio: ID3v2 at the start (id3.org v2.3/v2.4 section 3.1, incl. the v2.4
 * footer), and at the end ID3v1 (128 bytes "TAG"), Lyrics3 v2, APEv2 and an appended ID3v2.4
 * (footer "3DI"). Only sizes are read: the scanner needs to know where audio begins and ends.
 */

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (at < 0 || at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

function syncsafe(bytes: Uint8Array, at: number): number | null {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i] as number;
    if (b & 0x80) return null;
    n = n * 128 + b;
  }
  return n;
}

export interface Id3v2Span {
  /** Bytes of the whole tag: header, body and (v2.4) footer. */
  size: number;
  major: number;
  /** True when the size runs past the end of the file (a truncated or hostile tag). */
  overruns: boolean;
}

/** The ID3v2 tag starting at `at`, or null when there is none (or its header is invalid). */
export function id3v2At(bytes: Uint8Array, at: number): Id3v2Span | null {
  if (!ascii(bytes, at, 'ID3') || at + 10 > bytes.length) return null;
  const major = bytes[at + 3] as number;
  const minor = bytes[at + 4] as number;
  if (major < 2 || major > 4 || minor === 0xff) return null;
  const body = syncsafe(bytes, at + 6);
  if (body === null) return null;
  const footer = major === 4 && ((bytes[at + 5] as number) & 0x10) !== 0;
  const size = 10 + body + (footer ? 10 : 0);
  return { size, major, overruns: at + size > bytes.length };
}

/** Where trailing tags begin: the end of the audio once ID3v1, Lyrics3, APE and appended ID3 are cut off. */
export function audioEndBeforeTags(bytes: Uint8Array, start: number): { end: number; tags: string[] } {
  let end = bytes.length;
  const tags: string[] = [];
  // Each pass removes one trailing tag; the order in real files is APE/Lyrics3 then ID3v1.
  for (let pass = 0; pass < 4; pass++) {
    if (end - 128 >= start && ascii(bytes, end - 128, 'TAG')) {
      end -= 128;
      tags.push('id3v1');
      continue;
    }
    if (end - 32 >= start && ascii(bytes, end - 32, 'APETAGEX')) {
      const v = new DataView(bytes.buffer, bytes.byteOffset + end - 32, 32);
      const size = v.getUint32(12, true);
      const hasHeader = (v.getUint32(20, true) & 0x80000000) !== 0;
      const total = size + (hasHeader ? 32 : 0);
      if (size >= 32 && end - total >= start) {
        end -= total;
        tags.push('ape');
        continue;
      }
    }
    if (end - 15 >= start && ascii(bytes, end - 9, 'LYRICS200')) {
      const digits = String.fromCharCode(...bytes.subarray(end - 15, end - 9));
      const size = /^\d{6}$/.test(digits) ? Number(digits) : -1;
      if (size >= 0 && end - 15 - size >= start && ascii(bytes, end - 15 - size, 'LYRICSBEGIN')) {
        end -= 15 + size;
        tags.push('lyrics3');
        continue;
      }
    }
    if (end - 10 >= start && ascii(bytes, end - 10, '3DI')) {
      const body = syncsafe(bytes, end - 4);
      if (body !== null && end - 20 - body >= start && ascii(bytes, end - 20 - body, 'ID3')) {
        end -= 20 + body;
        tags.push('id3v2-appended');
        continue;
      }
    }
    break;
  }
  return { end, tags };
}
