/**
 * Scan an MP3 file: skip its tags, lock onto a run of Layer III frames, walk every frame
 * (resynchronising past garbage, dropping a truncated last frame), read the Xing/Info/LAME or
 * VBRI header frame, and return the encoding profile and a table of frames (offset, length,
 * main_data_begin) that a stitcher can cut on. Hostile bytes give a coded error or a
 * best-effort scan with warnings; the walk is linear in the file size and never throws.
 */
import { fail, type Result } from '../errors.ts';
import { crc16Mpeg } from './crc.ts';
import { type FrameHeader, type MpegVersion, mainDataBegin, parseFrameHeader } from './header.ts';
import { type Id3Timing, id3Timing } from './id3-timing.ts';
import { audioEndBeforeTags, id3v2At } from './tags.ts';
import { parseHeaderFrame, type XingTag } from './xing.ts';

/** What an ad must match to be stitched into a file: the stream never changes format mid-file. */
export interface Mp3Profile {
  layer: 3;
  mpegVersion: MpegVersion;
  sampleRate: number;
  /** 1 for mono, 2 for any two-channel mode (stereo, joint stereo, dual channel). */
  channels: 1 | 2;
}

export interface Mp3Scan {
  profile: Mp3Profile;
  /** Size of the scanned file. */
  byteLength: number;
  /** Leading ID3v2 tag(s) occupy [0, id3v2End); 0 when there is none (or only a damaged one). */
  id3v2End: number;
  /** Chapter (CHAP) and length (TLEN) frames of the first leading ID3v2 tag, for the layout to patch. */
  id3Timing: Id3Timing | null;
  /** The Xing/Info/VBRI frame, when the file has one (it is not an audio frame). */
  headerFrame: { start: number; end: number; tag: XingTag } | null;
  /** Offset of the first audio frame and end of the last one. */
  audioStart: number;
  audioEnd: number;
  /** Tags found after the audio (id3v1, ape, lyrics3, id3v2-appended), which occupy [trailingTagsStart, byteLength). */
  trailingTags: string[];
  trailingTagsStart: number;
  frameCount: number;
  samplesPerFrame: number;
  /** frameCount x samplesPerFrame: what the frames decode to, encoder delay and padding included. */
  samples: number;
  /** samples / sampleRate in milliseconds (not rounded). */
  durationMs: number;
  /** From the LAME tag, else null. */
  encoderDelay: number | null;
  encoderPadding: number | null;
  /** The single bitrate of every audio frame (CBR), or null for VBR. */
  cbrKbps: number | null;
  /** Frame i starts at frameOffsets[i] and is frameBytes[i] long. */
  frameOffsets: Uint32Array;
  frameBytes: Uint16Array;
  /** Layer III main_data_begin of frame i (0: the frame does not use the bit reservoir). */
  mainDataBegin: Uint16Array;
  /** Bytes of header, CRC and side information of frame i: its main data starts after them. */
  sideInfoEnd: Uint8Array;
  /** Garbage skipped between frames, and how many times the walk had to resynchronise. */
  skippedBytes: number;
  resyncs: number;
  /** Bytes of a last frame cut short by the end of the file (dropped). */
  truncatedTailBytes: number;
  /** Frames whose CRC-16 did not match (kept: decoders conceal them). */
  crcMismatches: number;
  warnings: string[];
}

export interface ScanOptions {
  /** Stop with MEDIA_TOO_LARGE beyond this many frames (default 2^22, about 30 h at 44.1 kHz). */
  maxFrames?: number;
}

const sameProfile = (a: FrameHeader, b: FrameHeader) =>
  a.version === b.version &&
  a.layer === b.layer &&
  a.sampleRate === b.sampleRate &&
  a.channels === b.channels;

/** Frames that must follow a candidate before the scanner trusts it (fewer when the file ends). */
const lockFrames = 3;

function lockAt(bytes: Uint8Array, p: number, end: number, like: FrameHeader | null): FrameHeader | null {
  const first = parseFrameHeader(bytes, p);
  if (typeof first === 'string' || (like && !sameProfile(first, like))) return null;
  let q = p;
  let h: FrameHeader = first;
  for (let n = 1; n < lockFrames; n++) {
    q += h.frameBytes;
    if (q === end) return first;
    if (q > end) return n > 1 ? first : null;
    const next = parseFrameHeader(bytes, q);
    if (typeof next === 'string' || !sameProfile(first, next)) return null;
    h = next;
  }
  return first;
}

class Grow {
  offsets = new Uint32Array(1024);
  sizes = new Uint16Array(1024);
  mdb = new Uint16Array(1024);
  side = new Uint8Array(1024);
  n = 0;
  push(offset: number, size: number, mdb: number, side: number) {
    if (this.n === this.offsets.length) {
      const grow = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.offsets = grow(this.offsets, (n) => new Uint32Array(n));
      this.sizes = grow(this.sizes, (n) => new Uint16Array(n));
      this.mdb = grow(this.mdb, (n) => new Uint16Array(n));
      this.side = grow(this.side, (n) => new Uint8Array(n));
    }
    this.offsets[this.n] = offset;
    this.sizes[this.n] = size;
    this.mdb[this.n] = mdb;
    this.side[this.n] = side;
    this.n++;
  }
}

/** A read the scanner asks its driver for: bytes [offset, offset + length), or fewer at the end of the file. */
export interface ReadRequest {
  offset: number;
  length: number;
}

/** Bytes the scanner wants past a position: three frames of lookahead to lock (the largest MPEG frame is 1729 bytes). */
const lookahead = 8192;
/** Bytes to read at once when the driver streams a file. */
const chunkBytes = 1 << 20;
/** Room for trailing tags (ID3v1, APE, Lyrics3) read from the end of the file. */
const tailBytes = 256 * 1024;
/** ID3v2 tags up to this size are read whole for their chapter and length frames. */
const maxTimingTag = 16 << 20;

/**
 * The scanner as a generator: it yields the byte ranges it needs and is resumed with them, so
 * one pure walk serves an in-memory file (`scanMp3`) and a streamed one read a megabyte at a
 * time (`scanMp3File` in `@swarmcast/media/node`).
 */
export function* scanSteps(
  length: number,
  options: ScanOptions = {},
): Generator<ReadRequest, Result<Mp3Scan>, Uint8Array> {
  const maxFrames = options.maxFrames ?? 1 << 22;
  if (length === 0) return fail('MEDIA_EMPTY', 'the file is empty');
  if (length > 0xffffffff) return fail('MEDIA_TOO_LARGE', 'files above 4 GiB are not scanned');
  const warnings: string[] = [];

  let start = 0;
  let id3v2End = 0;
  let firstTag: Uint8Array | null = null;
  let firstTagSize = 0;
  for (;;) {
    const head: Uint8Array = yield { offset: start, length: 10 };
    const tag = id3v2At(head, 0);
    if (!tag) break;
    if (start + tag.size > length) {
      // A size past the end is a damaged or hostile tag: look for audio right after its header.
      warnings.push(
        `the ID3v2 tag claims ${tag.size} bytes, past the end of the file; resynchronising after its header`,
      );
      start += 10;
      break;
    }
    if (start === 0 && tag.size <= maxTimingTag) {
      firstTag = yield { offset: 0, length: tag.size };
      firstTagSize = tag.size;
    }
    start += tag.size;
    id3v2End = start;
  }
  const tailStart = Math.max(0, length - tailBytes);
  const tail: Uint8Array = yield { offset: tailStart, length: length - tailStart };
  const trailing = audioEndBeforeTags(tail, Math.max(0, start - tailStart));
  const end = tailStart + trailing.end;
  const trailingTags = trailing.tags;
  if (end <= start) return fail('MEDIA_EMPTY', 'the file holds only tags, no audio');

  // The window of the file in hand: bytes [w0, w0 + win.length), indexed as win[p - w0].
  let win: Uint8Array = new Uint8Array(0);
  let w0 = 0;
  // Cheap test first: `yield*` makes a generator object, too dear to do for every byte.
  const inWindow = (p: number, need: number) => p >= w0 && Math.min(end, p + need) <= w0 + win.length;
  function* ensure(p: number, need: number): Generator<ReadRequest, void, Uint8Array> {
    const want = Math.min(end, p + need);
    if (inWindow(p, need)) return;
    win = yield { offset: p, length: Math.max(want, Math.min(end, p + chunkBytes)) - p };
    w0 = p;
  }

  // Lock onto the first run of frames; remember what else we saw to name the failure.
  let first = -1;
  let firstHeader: FrameHeader | null = null;
  let freeFormat = 0;
  let otherLayer = 0;
  for (let p = start; p + 4 <= end; p++) {
    if (!inWindow(p, lookahead)) yield* ensure(p, lookahead);
    if (win[p - w0] !== 0xff) continue;
    const h = lockAt(win, p - w0, end - w0, null);
    if (h === null) {
      if (parseFrameHeader(win, p - w0) === 'free-format') freeFormat++;
      continue;
    }
    if (h.layer !== 3) {
      otherLayer++;
      p += h.frameBytes - 1;
      if (otherLayer >= 8) break;
      continue;
    }
    first = p;
    firstHeader = h;
    break;
  }
  if (firstHeader === null) {
    if (otherLayer > 0) return fail('MEDIA_NOT_LAYER3', 'the audio is MPEG Layer I or II, not MP3');
    if (freeFormat > 0) return fail('MEDIA_FREE_FORMAT', 'free-format MP3 frames are not supported');
    return fail('MEDIA_NOT_MP3', 'no run of MPEG Layer III frames was found');
  }
  if (first > start) warnings.push(`${first - start} bytes before the first frame were skipped`);

  const like = firstHeader;
  const frames = new Grow();
  let headerFrame: Mp3Scan['headerFrame'] = null;
  let skippedBytes = first - start;
  let resyncs = 0;
  let truncatedTailBytes = 0;
  let crcMismatches = 0;
  let cbrKbps: number | null = -1;
  let p = first;
  while (p + 4 <= end) {
    if (!inWindow(p, lookahead)) yield* ensure(p, lookahead);
    const at = p - w0;
    const h = parseFrameHeader(win, at);
    if (typeof h !== 'string' && sameProfile(h, like)) {
      if (p + h.frameBytes > end) {
        truncatedTailBytes = end - p;
        warnings.push(`the last frame is cut short (${end - p} of ${h.frameBytes} bytes); it is dropped`);
        break;
      }
      if (p === first) {
        const tag = parseHeaderFrame(win, at, h);
        if (tag) {
          headerFrame = { start: p, end: p + h.frameBytes, tag };
          p += h.frameBytes;
          continue;
        }
      }
      if (frames.n >= maxFrames) return fail('MEDIA_TOO_LARGE', `more than ${maxFrames} frames`);
      if (h.crc) {
        const crc = crc16Mpeg(win, at + 6, at + h.sideInfoEnd, crc16Mpeg(win, at + 2, at + 4));
        if (crc !== (((win[at + 4] as number) << 8) | (win[at + 5] as number))) crcMismatches++;
      }
      frames.push(p, h.frameBytes, mainDataBegin(win, at, h), h.sideInfoEnd);
      cbrKbps = cbrKbps === -1 || cbrKbps === h.bitrateKbps ? h.bitrateKbps : null;
      p += h.frameBytes;
      continue;
    }
    // Not a frame where one should be: find the next place where frames of this profile resume.
    let q = p + 1;
    for (; q + 4 <= end; q++) {
      if (!inWindow(q, lookahead)) yield* ensure(q, lookahead);
      if (win[q - w0] === 0xff && lockAt(win, q - w0, end - w0, like) !== null) break;
    }
    if (q + 4 > end) {
      skippedBytes += end - p;
      warnings.push(`${end - p} bytes of garbage after the last frame`);
      break;
    }
    skippedBytes += q - p;
    resyncs++;
    p = q;
  }
  if (p < end && p + 4 > end && truncatedTailBytes === 0) skippedBytes += end - p;
  if (frames.n === 0) return fail('MEDIA_NOT_MP3', 'the file has a header frame but no audio frames');
  if (resyncs > 0) warnings.push(`resynchronised ${resyncs} time(s) past ${skippedBytes} bytes of garbage`);
  if (crcMismatches > 0) warnings.push(`${crcMismatches} frame(s) fail their CRC`);
  const n = frames.n;
  const spf = like.samples;
  const lame = headerFrame?.tag.lame ?? null;
  const lastOffset = frames.offsets[n - 1] as number;
  return {
    ok: true,
    value: {
      profile: { layer: 3, mpegVersion: like.version, sampleRate: like.sampleRate, channels: like.channels },
      byteLength: length,
      id3v2End,
      id3Timing: id3v2End > 0 && firstTag ? id3Timing(firstTag, 0, firstTagSize) : null,
      headerFrame,
      audioStart: frames.offsets[0] as number,
      audioEnd: lastOffset + (frames.sizes[n - 1] as number),
      trailingTags,
      trailingTagsStart: end,
      frameCount: n,
      samplesPerFrame: spf,
      samples: n * spf,
      durationMs: ((n * spf) / like.sampleRate) * 1000,
      encoderDelay: lame ? lame.encoderDelay : null,
      encoderPadding: lame ? lame.encoderPadding : null,
      cbrKbps: cbrKbps === -1 ? null : cbrKbps,
      frameOffsets: frames.offsets.slice(0, n),
      frameBytes: frames.sizes.slice(0, n),
      mainDataBegin: frames.mdb.slice(0, n),
      sideInfoEnd: frames.side.slice(0, n),
      skippedBytes,
      resyncs,
      truncatedTailBytes,
      crcMismatches,
      warnings,
    },
  };
}

/** Scan a file held in memory (every read is a view of `bytes`, no copy). */
export function scanMp3(bytes: Uint8Array, options: ScanOptions = {}): Result<Mp3Scan> {
  const steps = scanSteps(bytes.length, options);
  let next = steps.next();
  while (!next.done) {
    const { offset } = next.value;
    // Hand over everything from the offset on: the window then never needs refilling.
    next = steps.next(bytes.subarray(offset));
  }
  return next.value;
}

/** Nearest frame boundary to `ms` (0..frameCount): round half up, so 13 ms at 26.1 ms/frame is boundary 0. */
export function frameBoundaryAt(
  scan: Pick<Mp3Scan, 'profile' | 'samplesPerFrame' | 'frameCount'>,
  ms: number,
): number {
  const k = Math.floor((ms * scan.profile.sampleRate) / (1000 * scan.samplesPerFrame) + 0.5);
  return Math.max(0, Math.min(scan.frameCount, k));
}

/** Time of frame boundary `k` in milliseconds. */
export function boundaryMs(scan: Pick<Mp3Scan, 'profile' | 'samplesPerFrame'>, k: number): number {
  return ((k * scan.samplesPerFrame) / scan.profile.sampleRate) * 1000;
}
