/**
 * What container a file is, from its first bytes, and whether the stitcher can insert ads
 * into it. Anything but MP3 is served plain; `reason` is the sentence shown to the creator.
 */
import { parseFrameHeader } from './mp3/header.ts';
import { id3v2At } from './mp3/tags.ts';

export type Container = 'mp3' | 'mp4' | 'aac-adts' | 'mpeg-layer12' | 'ogg' | 'flac' | 'wav' | 'unknown';

export type StitchSupport =
  | { container: Container; stitchable: true }
  | { container: Container; stitchable: false; reason: string };

const text = (b: Uint8Array, at: number, s: string) => {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
};

/** Classify the head of a file (64 KiB is plenty; an ID3v2 tag in front is skipped when it fits). */
export function detectContainer(head: Uint8Array): StitchSupport {
  let at = 0;
  for (let tag = id3v2At(head, 0); tag && !tag.overruns; tag = id3v2At(head, at)) at += tag.size;
  if (text(head, 4, 'ftyp'))
    return {
      container: 'mp4',
      stitchable: false,
      reason:
        'unsupported: MP4/M4A (AAC) episodes are served without inserted ads; re-rendering their sample tables is not implemented',
    };
  if (text(head, 0, 'OggS'))
    return {
      container: 'ogg',
      stitchable: false,
      reason: 'unsupported: Ogg episodes are served without inserted ads',
    };
  if (text(head, at, 'fLaC'))
    return {
      container: 'flac',
      stitchable: false,
      reason: 'unsupported: FLAC episodes are served without inserted ads',
    };
  if (text(head, 0, 'RIFF') && text(head, 8, 'WAVE'))
    return {
      container: 'wav',
      stitchable: false,
      reason: 'unsupported: WAV episodes are served without inserted ads',
    };
  for (let p = at; p + 4 <= head.length && p < at + 8192; p++) {
    if (head[p] !== 0xff) continue;
    const b1 = head[p + 1] as number;
    if ((b1 & 0xf6) === 0xf0)
      return {
        container: 'aac-adts',
        stitchable: false,
        reason: 'unsupported: raw AAC (ADTS) episodes are served without inserted ads',
      };
    const h = parseFrameHeader(head, p);
    if (typeof h === 'string') continue;
    const next = parseFrameHeader(head, p + h.frameBytes);
    if (p + h.frameBytes + 4 <= head.length && typeof next === 'string') continue;
    if (h.layer !== 3)
      return {
        container: 'mpeg-layer12',
        stitchable: false,
        reason: 'unsupported: MPEG Layer I/II audio is served without inserted ads',
      };
    return { container: 'mp3', stitchable: true };
  }
  return { container: 'unknown', stitchable: false, reason: 'unsupported: not an MP3 file' };
}
