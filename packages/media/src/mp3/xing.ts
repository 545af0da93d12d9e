/**
 * The header frames encoders put first in an MP3: the Xing/Info tag (frame count, byte
 * count, 100-entry seek TOC), LAME's extension of it (encoder delay and padding for gapless
 * playback, http://gabriel.mp3-tech.org/mp3infotag.html) and Fraunhofer's VBRI. Parse them
 * from a scanned first frame, and build a new Xing/Info + LAME frame for a stitched file.
 */
import { crc16Arc } from './crc.ts';
import {
  bitrateIndexFor,
  buildFrameHeader,
  type FrameHeader,
  type MpegVersion,
  sideInfoBytes,
} from './header.ts';

export interface LameTag {
  /** Nine characters, e.g. "LAME3.100" or "Lavc60.31". */
  encoder: string;
  /** Samples the encoder added before the audio (decoders also drop their own 529). */
  encoderDelay: number;
  /** Samples of padding after the audio in the last frame(s). */
  encoderPadding: number;
  /** True when the tag's own CRC-16 matches (false for a damaged or hand-edited tag). */
  crcOk: boolean;
}

export interface XingTag {
  kind: 'Xing' | 'Info' | 'VBRI';
  frames: number | null;
  bytes: number | null;
  /** 100 entries (Xing) or VBRI's table length; absent when the tag has none. */
  hasToc: boolean;
  lame: LameTag | null;
}

const tagAt = (bytes: Uint8Array, at: number, text: string) =>
  at >= 0 && at + 4 <= bytes.length && String.fromCharCode(...bytes.subarray(at, at + 4)) === text;

/** The Xing/Info/VBRI tag in the frame at `at` (already parsed as `h`), or null. */
export function parseHeaderFrame(bytes: Uint8Array, at: number, h: FrameHeader): XingTag | null {
  if (h.layer !== 3) return null;
  const end = Math.min(bytes.length, at + h.frameBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // Xing sits after the side information; some writers ignore the CRC when placing it.
  for (const x of new Set([at + h.sideInfoEnd, at + 4 + sideInfoBytes(h.version, h.channels)])) {
    const isXing = tagAt(bytes, x, 'Xing');
    if (!isXing && !tagAt(bytes, x, 'Info')) continue;
    if (x + 8 > end) return null;
    const flags = view.getUint32(x + 4);
    let p = x + 8;
    const field = (bit: number, size: number): number | null => {
      if (!(flags & bit)) return null;
      if (p + size > end) return null;
      const v = size === 4 ? view.getUint32(p) : 0;
      p += size;
      return v;
    };
    const frames = field(1, 4);
    const byteCount = field(2, 4);
    const hasToc = (flags & 4) !== 0 && p + 100 <= end;
    if (flags & 4) p += 100;
    field(8, 4);
    return {
      kind: isXing ? 'Xing' : 'Info',
      frames,
      bytes: byteCount,
      hasToc,
      lame: parseLame(bytes, p, at, end),
    };
  }
  const v = at + 36;
  if (tagAt(bytes, v, 'VBRI') && v + 26 <= end) {
    return {
      kind: 'VBRI',
      bytes: view.getUint32(v + 10),
      frames: view.getUint32(v + 14),
      hasToc: view.getUint16(v + 18) > 0,
      lame: null,
    };
  }
  return null;
}

function parseLame(bytes: Uint8Array, p: number, frameStart: number, end: number): LameTag | null {
  if (p + 36 > end) return null;
  const encoder = String.fromCharCode(...bytes.subarray(p, p + 9));
  if (!/^(LAME|Lavf|Lavc|L3\.99|GOGO)/.test(encoder)) return null;
  const d = ((bytes[p + 21] as number) << 16) | ((bytes[p + 22] as number) << 8) | (bytes[p + 23] as number);
  const stored = ((bytes[p + 34] as number) << 8) | (bytes[p + 35] as number);
  return {
    encoder: encoder.replace(/[^\x20-\x7e]/g, ' '),
    encoderDelay: d >> 12,
    encoderPadding: d & 0xfff,
    crcOk: crc16Arc(bytes, frameStart, p + 34) === stored,
  };
}

/** Bytes from a Xing tag's start to the end of the LAME extension when all four fields are written. */
const xingAndLameBytes = 4 + 4 + 4 + 4 + 100 + 4 + 36;

export interface XingFrameSpec {
  version: MpegVersion;
  sampleRate: number;
  channels: 1 | 2;
  /** "Info" for a constant-bitrate stream (every audio frame has one bitrate), else "Xing". */
  kind: 'Xing' | 'Info';
  /** Audio frames after this one. */
  frames: number;
  /** Bytes of the MPEG stream, this frame included (ID3 tags excluded). */
  streamBytes: number;
  /** 100 seek points: TOC[i] = byte position at i % of the duration, in 1/256 of streamBytes. */
  toc: Uint8Array;
  encoder: string;
  encoderDelay: number;
  encoderPadding: number;
}

/**
 * The length the header frame will have: the content's own bitrate when the tag fits in it
 * (so a CBR file stays uniform, as LAME does), else the smallest bitrate that holds the tag.
 */
export function xingFrameBytes(
  version: MpegVersion,
  sampleRate: number,
  channels: 1 | 2,
  preferKbps: number,
) {
  const need = 4 + sideInfoBytes(version, channels) + xingAndLameBytes;
  const index = bitrateIndexFor(version, sampleRate, need, preferKbps);
  const built = buildFrameHeader(version, sampleRate, channels, index);
  return { bitrateIndex: index, frameBytes: built.frameBytes, kbps: built.kbps };
}

/** A complete Xing/Info frame with a LAME extension, its side information silent (all zero). */
export function buildXingFrame(spec: XingFrameSpec, preferKbps: number): Uint8Array {
  const { bitrateIndex, frameBytes } = xingFrameBytes(
    spec.version,
    spec.sampleRate,
    spec.channels,
    preferKbps,
  );
  const { header } = buildFrameHeader(spec.version, spec.sampleRate, spec.channels, bitrateIndex);
  const frame = new Uint8Array(frameBytes);
  frame.set(header, 0);
  const view = new DataView(frame.buffer);
  let p = 4 + sideInfoBytes(spec.version, spec.channels);
  for (const c of spec.kind) frame[p++] = c.charCodeAt(0);
  view.setUint32(p, 0x0f);
  view.setUint32(p + 4, spec.frames);
  view.setUint32(p + 8, spec.streamBytes);
  frame.set(spec.toc.subarray(0, 100), p + 12);
  view.setUint32(p + 112, 0); // quality: unknown
  const lame = p + 116;
  const encoder = `${spec.encoder}         `.slice(0, 9);
  for (let i = 0; i < 9; i++) frame[lame + i] = encoder.charCodeAt(i) & 0x7f;
  const delay = Math.max(0, Math.min(4095, Math.round(spec.encoderDelay)));
  const padding = Math.max(0, Math.min(4095, Math.round(spec.encoderPadding)));
  frame[lame + 21] = delay >> 4;
  frame[lame + 22] = ((delay & 15) << 4) | (padding >> 8);
  frame[lame + 23] = padding & 0xff;
  view.setUint32(lame + 28, spec.streamBytes);
  // Music CRC (lame+32) stays 0: it would need every audio byte, and players do not check it.
  view.setUint16(lame + 34, crc16Arc(frame, 0, lame + 34));
  return frame;
}
