/**
 * MPEG audio frame headers (ISO/IEC 11172-3 2.4.2.3, 13818-3 and the unofficial MPEG 2.5):
 * parse four bytes into a header, compute the frame's length and sample count, and build the
 * headers of the frames we synthesise (the Xing/Info frame, silent bridge frames).
 */

/** 1 = MPEG-1, 2 = MPEG-2 (LSF), 2.5 = MPEG-2.5. */
export type MpegVersion = 1 | 2 | 2.5;

export interface FrameHeader {
  version: MpegVersion;
  layer: 1 | 2 | 3;
  /** True when a 16-bit CRC follows the header. */
  crc: boolean;
  /** kbit/s; 0 never appears here (free format is rejected by `parseFrameHeader`). */
  bitrateKbps: number;
  bitrateIndex: number;
  sampleRate: number;
  padding: boolean;
  /** 0 stereo, 1 joint stereo, 2 dual channel, 3 mono. */
  channelMode: 0 | 1 | 2 | 3;
  channels: 1 | 2;
  /** Whole frame in bytes, header included. */
  frameBytes: number;
  /** PCM samples per channel this frame decodes to. */
  samples: number;
  /** Bytes of header, CRC and (Layer III) side information: where main data begins. */
  sideInfoEnd: number;
}

const bitrates = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
} as const;

const sampleRates: Record<string, readonly number[]> = {
  '1': [44100, 48000, 32000],
  '2': [22050, 24000, 16000],
  '2.5': [11025, 12000, 8000],
};

function bitrateTable(version: MpegVersion, layer: 1 | 2 | 3): readonly number[] {
  if (version === 1) return layer === 1 ? bitrates.v1l1 : layer === 2 ? bitrates.v1l2 : bitrates.v1l3;
  return layer === 1 ? bitrates.v2l1 : bitrates.v2l23;
}

/** Layer III side information bytes for a version and channel count. */
export function sideInfoBytes(version: MpegVersion, channels: 1 | 2): number {
  if (version === 1) return channels === 1 ? 17 : 32;
  return channels === 1 ? 9 : 17;
}

export function samplesPerFrame(version: MpegVersion, layer: 1 | 2 | 3): number {
  if (layer === 1) return 384;
  if (layer === 2) return 1152;
  return version === 1 ? 1152 : 576;
}

function frameLength(
  version: MpegVersion,
  layer: 1 | 2 | 3,
  kbps: number,
  rate: number,
  pad: boolean,
): number {
  const p = pad ? 1 : 0;
  if (layer === 1) return (Math.floor((12 * kbps * 1000) / rate) + p) * 4;
  if (layer === 3 && version !== 1) return Math.floor((72 * kbps * 1000) / rate) + p;
  return Math.floor((144 * kbps * 1000) / rate) + p;
}

/** Why four bytes are not a usable frame header (for the scanner's diagnostics). */
export type HeaderFault =
  | 'sync'
  | 'version'
  | 'layer'
  | 'bitrate'
  | 'free-format'
  | 'sample-rate'
  | 'emphasis';

/**
 * Parse the four bytes at `at`. Returns the header, or the reason they are not one. Free
 * format (bitrate index 0) is reported as its own fault so the scanner can name it.
 */
export function parseFrameHeader(bytes: Uint8Array, at: number): FrameHeader | HeaderFault {
  if (at < 0 || at + 4 > bytes.length) return 'sync';
  const b1 = bytes[at + 1] as number;
  const b2 = bytes[at + 2] as number;
  const b3 = bytes[at + 3] as number;
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return 'sync';
  const v = (b1 >> 3) & 3;
  if (v === 1) return 'version';
  const version: MpegVersion = v === 3 ? 1 : v === 2 ? 2 : 2.5;
  const l = (b1 >> 1) & 3;
  if (l === 0) return 'layer';
  const layer = (4 - l) as 1 | 2 | 3;
  const bitrateIndex = b2 >> 4;
  if (bitrateIndex === 15) return 'bitrate';
  if (bitrateIndex === 0) return 'free-format';
  const sr = (b2 >> 2) & 3;
  if (sr === 3) return 'sample-rate';
  if ((b3 & 3) === 2) return 'emphasis';
  const sampleRate = (sampleRates[String(version)] as readonly number[])[sr] as number;
  const bitrateKbps = bitrateTable(version, layer)[bitrateIndex] as number;
  const padding = (b2 & 2) !== 0;
  const channelMode = (b3 >> 6) as 0 | 1 | 2 | 3;
  const channels = channelMode === 3 ? 1 : 2;
  const crc = (b1 & 1) === 0;
  const side = layer === 3 ? sideInfoBytes(version, channels) : 0;
  return {
    version,
    layer,
    crc,
    bitrateKbps,
    bitrateIndex,
    sampleRate,
    padding,
    channelMode,
    channels,
    frameBytes: frameLength(version, layer, bitrateKbps, sampleRate, padding),
    samples: samplesPerFrame(version, layer),
    sideInfoEnd: 4 + (crc ? 2 : 0) + side,
  };
}

/**
 * Layer III main_data_begin of the frame at `at`: how many bytes before this frame's side
 * information end (counting only earlier frames' main data) its audio data starts. 0 means the
 * frame does not lean on the bit reservoir, so it decodes after any cut.
 */
export function mainDataBegin(bytes: Uint8Array, at: number, h: FrameHeader): number {
  const s = at + 4 + (h.crc ? 2 : 0);
  if (s + 2 > bytes.length) return 0;
  const hi = bytes[s] as number;
  const lo = bytes[s + 1] as number;
  return h.version === 1 ? (hi << 1) | (lo >> 7) : hi;
}

/** The smallest Layer III bitrate index whose unpadded frame holds `minBytes`, or -1. */
export function bitrateIndexFor(
  version: MpegVersion,
  sampleRate: number,
  minBytes: number,
  preferKbps = 0,
): number {
  const table = bitrateTable(version, 3);
  const pref = table.indexOf(preferKbps);
  if (pref > 0 && frameLength(version, 3, preferKbps, sampleRate, false) >= minBytes) return pref;
  for (let i = 1; i < 15; i++) {
    if (frameLength(version, 3, table[i] as number, sampleRate, false) >= minBytes) return i;
  }
  return -1;
}

/**
 * Four header bytes of an unpadded, unprotected Layer III frame. Stereo content gets plain
 * stereo mode (any two-channel mode decodes alike); mono stays mono.
 */
export function buildFrameHeader(
  version: MpegVersion,
  sampleRate: number,
  channels: 1 | 2,
  bitrateIndex: number,
) {
  const v = version === 1 ? 3 : version === 2 ? 2 : 0;
  const sr = (sampleRates[String(version)] as readonly number[]).indexOf(sampleRate);
  if (sr < 0 || bitrateIndex < 1 || bitrateIndex > 14) throw new RangeError('no such Layer III frame');
  const header = new Uint8Array(4);
  header[0] = 0xff;
  header[1] = 0xe0 | (v << 3) | (1 << 1) | 1; // layer III, no CRC
  header[2] = (bitrateIndex << 4) | (sr << 2);
  header[3] = (channels === 1 ? 3 : 0) << 6;
  const kbps = bitrateTable(version, 3)[bitrateIndex] as number;
  return { header, frameBytes: frameLength(version, 3, kbps, sampleRate, false), kbps };
}

export function isLayer3SampleRate(version: MpegVersion, sampleRate: number): boolean {
  return (sampleRates[String(version)] as readonly number[]).includes(sampleRate);
}

export function versionForSampleRate(sampleRate: number): MpegVersion | null {
  for (const v of [1, 2, 2.5] as const) if (isLayer3SampleRate(v, sampleRate)) return v;
  return null;
}
