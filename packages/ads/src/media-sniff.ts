/**
 * Is an uploaded creative an audio or video file we serve? Decided from its first bytes
 * (never from the name or the declared type alone), then checked against the declared
 * MIME type so a player is never told one thing and sent another.
 */
export interface SniffedMedia {
  mimeType: string;
  mediaKind: 'audio' | 'video';
  ext: string;
}

const ascii = (b: Uint8Array, at: number, s: string) =>
  b.length >= at + s.length && [...s].every((c, i) => b[at + i] === c.charCodeAt(0));

/** The media type the bytes show, or null when they are not a format we accept. */
export function sniffMedia(b: Uint8Array): SniffedMedia | null {
  if (
    ascii(b, 0, 'ID3') ||
    (b.length > 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0)
  ) {
    // MPEG audio: an ID3v2 tag or a frame sync with a layer set.
    return { mimeType: 'audio/mpeg', mediaKind: 'audio', ext: 'mp3' };
  }
  if (ascii(b, 4, 'ftyp')) {
    const brand = String.fromCharCode(...b.slice(8, 12));
    if (brand === 'M4A ' || brand === 'M4B ')
      return { mimeType: 'audio/mp4', mediaKind: 'audio', ext: 'm4a' };
    return { mimeType: 'video/mp4', mediaKind: 'video', ext: 'mp4' };
  }
  if (ascii(b, 0, 'OggS')) return { mimeType: 'audio/ogg', mediaKind: 'audio', ext: 'ogg' };
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    return { mimeType: 'video/webm', mediaKind: 'video', ext: 'webm' };
  }
  return null;
}

/** Declared types that may carry each sniffed type (an .m4a is often sent as audio/mp4 or audio/x-m4a). */
const compatible: Record<string, string[]> = {
  'audio/mpeg': ['audio/mpeg', 'audio/mp3'],
  'audio/mp4': ['audio/mp4', 'audio/x-m4a', 'audio/aac'],
  'video/mp4': ['video/mp4', 'audio/mp4'],
  'audio/ogg': ['audio/ogg', 'audio/opus'],
  'video/webm': ['video/webm', 'audio/webm'],
};

/** The media we accept for a declared Content-Type, or null. An "audio/mp4" upload of an isom file is audio. */
export function checkMedia(bytes: Uint8Array, declared: string): SniffedMedia | null {
  const s = sniffMedia(bytes);
  const d = declared.split(';')[0]!.trim().toLowerCase();
  if (!s || !compatible[s.mimeType]?.includes(d)) return null;
  if (s.mimeType === 'video/mp4' && d === 'audio/mp4')
    return { mimeType: 'audio/mp4', mediaKind: 'audio', ext: 'm4a' };
  if (s.mimeType === 'video/webm' && d === 'audio/webm')
    return { mimeType: 'audio/webm', mediaKind: 'audio', ext: 'webm' };
  return s;
}
