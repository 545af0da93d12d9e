/**
 * The stitching layout: which bytes, in which order, make the episode with its ads. Pure: it
 * reads only the content's scan and the prepared ads' sizes, and returns parts that a server
 * streams (or slices for a Range request) without re-encoding anything.
 *
 * Output: [content's leading ID3v2] [new Xing/Info+LAME frame] then content frames, cut at
 * frame boundaries, with each break's ads (and, where needed, one silent "bridge" frame that
 * carries the bit reservoir of the frame the content resumes with), then the content's
 * trailing tags (ID3v1/APE).
 */
import { fail, type Result } from '../errors.ts';
import { bitrateIndexFor, buildFrameHeader, sideInfoBytes } from '../mp3/header.ts';
import { frameBoundaryAt, type Mp3Profile, type Mp3Scan } from '../mp3/scan.ts';
import { buildXingFrame, xingFrameBytes } from '../mp3/xing.ts';
import { patchId3 } from './id3-patch.ts';

/** What the layout needs to know of a prepared ad (see `prepareAd`). */
export interface AdFrames {
  adId: string;
  profile: Mp3Profile;
  /** Bytes of the ad's frames (no tags, no header frame). */
  byteLength: number;
  frameCount: number;
  /** LAME's priming and padding samples, used when the ad opens or closes the file. */
  encoderDelay?: number;
  encoderPadding?: number;
  /** The ad's single bitrate (CBR) or null. */
  cbrKbps?: number | null;
}

export interface AdBreak {
  /** Where in the content, in ms; cut at the nearest frame boundary. 0 = pre-roll, >= duration = post-roll. */
  atMs: number;
  ads: AdFrames[];
}

export type StitchPart =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'content'; start: number; end: number }
  | { kind: 'ad'; adId: string; start: number; end: number };

export interface AdSpan {
  adId: string;
  breakIndex: number;
  /** [byteStart, byteEnd) of the ad's frames in the stitched file. */
  byteStart: number;
  byteEnd: number;
  /** Where the ad plays in the stitched file (frame time, before any gapless trimming). */
  startMs: number;
  endMs: number;
}

export interface BreakSpan {
  requestedMs: number;
  /** The content frame boundary the break was cut at, and its time in the content. */
  contentFrame: number;
  contentMs: number;
  /** The whole break in the stitched file: ads plus the bridge frame, if any. */
  byteStart: number;
  byteEnd: number;
  startMs: number;
  endMs: number;
  /** 1 when a silent frame carries the bit reservoir of the content frame after the break, else 0. */
  bridgeFrames: number;
  ads: AdSpan[];
}

export interface StitchLayout {
  profile: Mp3Profile;
  parts: StitchPart[];
  totalBytes: number;
  /** Audio frames in the stitched file (the header frame excluded) and their duration. */
  frameCount: number;
  durationMs: number;
  /**
   * What a gapless player reports and plays: durationMs less the encoder delay of the first
   * part and the padding of the last (as written in the LAME tag).
   */
  playableMs: number;
  breaks: BreakSpan[];
  ads: AdSpan[];
}

export interface LayoutOptions {
  /** Written into the LAME tag when the content has none (default "LAME3.100"). */
  encoder?: string;
}

interface Segment {
  kind: 'content' | 'ad' | 'bridge';
  frames: number;
  outStart: number;
  bytes: number;
  /** content: first frame index */
  from: number;
}

const sameProfile = (a: Mp3Profile, b: Mp3Profile) =>
  a.mpegVersion === b.mpegVersion &&
  a.sampleRate === b.sampleRate &&
  a.channels === b.channels &&
  a.layer === b.layer;

/**
 * Lay out `content` with `breaks`. Breaks that land on the same frame boundary play in the
 * order given. Rounding: a break at t ms is cut at boundary round(t x rate / samplesPerFrame),
 * i.e. at most half a frame (13 ms at 44.1 kHz MPEG-1) from t.
 */
export function layoutStitch(
  content: Mp3Scan,
  breaks: AdBreak[],
  options: LayoutOptions = {},
): Result<StitchLayout> {
  const profile = content.profile;
  const spf = content.samplesPerFrame;
  const frameMs = (spf / profile.sampleRate) * 1000;
  for (const b of breaks) {
    if (!Number.isFinite(b.atMs) || b.atMs < 0) return fail('MEDIA_BAD_INSERT', `insert point ${b.atMs} ms`);
    for (const ad of b.ads) {
      if (!sameProfile(ad.profile, profile)) {
        return fail(
          'MEDIA_PROFILE_MISMATCH',
          `ad ${ad.adId} is MPEG-${ad.profile.mpegVersion} ${ad.profile.sampleRate} Hz ${ad.profile.channels} ch; the content is MPEG-${profile.mpegVersion} ${profile.sampleRate} Hz ${profile.channels} ch`,
        );
      }
    }
  }
  const cuts = breaks
    .map((b, i) => ({ b, i, k: frameBoundaryAt(content, b.atMs) }))
    .sort((x, y) => x.k - y.k || x.i - y.i);

  const off = content.frameOffsets;
  const len = content.frameBytes;
  const contentRange = (a: number, z: number) => ({
    start: off[a] as number,
    end: (off[z - 1] as number) + (len[z - 1] as number),
  });

  // Audio in order, before the header frame is known (it goes in front and shifts everything).
  type Piece =
    | { kind: 'content'; from: number; to: number }
    | { kind: 'ad'; ad: AdFrames; breakIndex: number }
    | { kind: 'bridge'; k: number; breakIndex: number };
  const pieces: Piece[] = [];
  let k0 = 0;
  for (const { b, i, k } of cuts) {
    if (k > k0) pieces.push({ kind: 'content', from: k0, to: k });
    k0 = k;
    for (const ad of b.ads)
      if (ad.frameCount > 0 && ad.byteLength > 0) pieces.push({ kind: 'ad', ad, breakIndex: i });
  }
  if (content.frameCount > k0) pieces.push({ kind: 'content', from: k0, to: content.frameCount });
  // A bridge goes right before content that resumes after an ad with a reservoir-leaning frame.
  for (let p = pieces.length - 1; p > 0; p--) {
    const here = pieces[p] as Piece;
    const prev = pieces[p - 1] as Piece;
    if (
      here.kind === 'content' &&
      prev.kind === 'ad' &&
      here.from > 0 &&
      (content.mainDataBegin[here.from] as number) > 0
    ) {
      pieces.splice(p, 0, { kind: 'bridge', k: here.from, breakIndex: prev.breakIndex });
    }
  }

  const bridge = (k: number) => bridgeFrame(content, k);
  const bridgeCache = new Map<number, ReturnType<typeof bridgeFrame>>();
  let audioBytes = 0;
  let frameCount = 0;
  let uniformKbps: number | null | undefined = content.cbrKbps;
  for (const piece of pieces) {
    if (piece.kind === 'content') {
      const r = contentRange(piece.from, piece.to);
      audioBytes += r.end - r.start;
      frameCount += piece.to - piece.from;
    } else if (piece.kind === 'ad') {
      audioBytes += piece.ad.byteLength;
      frameCount += piece.ad.frameCount;
      if (piece.ad.cbrKbps !== uniformKbps) uniformKbps = null;
    } else {
      const b = bridge(piece.k);
      bridgeCache.set(piece.k, b);
      audioBytes += b.frameBytes;
      frameCount += 1;
      if (b.kbps !== uniformKbps) uniformKbps = null;
    }
  }

  const preferKbps = content.cbrKbps ?? 128;
  const header = xingFrameBytes(profile.mpegVersion, profile.sampleRate, profile.channels, preferKbps);
  const streamBytes = header.frameBytes + audioBytes;
  const id3 = content.id3v2End;
  const tailTags =
    content.trailingTagsStart < content.byteLength ? content.byteLength - content.trailingTagsStart : 0;

  // Second pass: byte and time positions of every piece in the output.
  const parts: StitchPart[] = [];
  if (id3 > 0) parts.push({ kind: 'content', start: 0, end: id3 });
  const headerPartIndex = parts.length;
  parts.push({ kind: 'bytes', bytes: new Uint8Array(0) }); // the header frame, filled in below
  let pos = id3 + header.frameBytes;
  let frame = 0;
  const segments: Segment[] = [];
  const breakSpans = new Map<number, BreakSpan>();
  const adSpans: AdSpan[] = [];
  const spanOf = (breakIndex: number) => {
    let span = breakSpans.get(breakIndex);
    if (!span) {
      const b = breaks[breakIndex] as AdBreak;
      const contentFrame = frameBoundaryAt(content, b.atMs);
      span = {
        requestedMs: b.atMs,
        contentFrame,
        contentMs: contentFrame * frameMs,
        byteStart: pos,
        byteEnd: pos,
        startMs: frame * frameMs,
        endMs: frame * frameMs,
        bridgeFrames: 0,
        ads: [],
      };
      breakSpans.set(breakIndex, span);
    }
    return span;
  };
  for (const piece of pieces) {
    if (piece.kind === 'content') {
      const r = contentRange(piece.from, piece.to);
      parts.push({ kind: 'content', ...r });
      segments.push({
        kind: 'content',
        frames: piece.to - piece.from,
        outStart: pos - id3,
        bytes: r.end - r.start,
        from: piece.from,
      });
      pos += r.end - r.start;
      frame += piece.to - piece.from;
      continue;
    }
    const span = spanOf(piece.breakIndex);
    if (piece.kind === 'ad') {
      const ad = piece.ad;
      parts.push({ kind: 'ad', adId: ad.adId, start: 0, end: ad.byteLength });
      const s: AdSpan = {
        adId: ad.adId,
        breakIndex: piece.breakIndex,
        byteStart: pos,
        byteEnd: pos + ad.byteLength,
        startMs: frame * frameMs,
        endMs: (frame + ad.frameCount) * frameMs,
      };
      span.ads.push(s);
      adSpans.push(s);
      segments.push({
        kind: 'ad',
        frames: ad.frameCount,
        outStart: pos - id3,
        bytes: ad.byteLength,
        from: 0,
      });
      pos += ad.byteLength;
      frame += ad.frameCount;
    } else {
      const b = bridgeCache.get(piece.k) as ReturnType<typeof bridgeFrame>;
      parts.push(...b.parts);
      segments.push({ kind: 'bridge', frames: 1, outStart: pos - id3, bytes: b.frameBytes, from: 0 });
      pos += b.frameBytes;
      frame += 1;
      span.bridgeFrames = 1;
    }
    span.byteEnd = pos;
    span.endMs = frame * frameMs;
  }
  // Breaks with no ads (empty list) still report where they would have been.
  for (const { i } of cuts) spanOf(i);
  if (tailTags > 0)
    parts.push({ kind: 'content', start: content.trailingTagsStart, end: content.byteLength });
  pos += tailTags;

  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  const lameEncoder = content.headerFrame?.tag.lame?.encoder;
  parts[headerPartIndex] = {
    kind: 'bytes',
    bytes: buildXingFrame(
      {
        version: profile.mpegVersion,
        sampleRate: profile.sampleRate,
        channels: profile.channels,
        kind: uniformKbps != null && uniformKbps === header.kbps ? 'Info' : 'Xing',
        frames: frameCount,
        streamBytes,
        toc: buildToc(segments, content, frameCount, streamBytes, header.frameBytes),
        encoder:
          lameEncoder && /^(LAME|Lavf|Lavc)/.test(lameEncoder)
            ? lameEncoder
            : (options.encoder ?? 'LAME3.100'),
        encoderDelay: first?.kind === 'ad' ? (first.ad.encoderDelay ?? 0) : (content.encoderDelay ?? 0),
        encoderPadding: last?.kind === 'ad' ? (last.ad.encoderPadding ?? 0) : (content.encoderPadding ?? 0),
      },
      preferKbps,
    ),
  };
  const ordered = [...breakSpans.entries()].sort((a, b) => a[1].byteStart - b[1].byteStart || a[0] - b[0]);
  const spans = ordered.map(([, s]) => s);
  const delay = first?.kind === 'ad' ? (first.ad.encoderDelay ?? 0) : (content.encoderDelay ?? 0);
  const padding = last?.kind === 'ad' ? (last.ad.encoderPadding ?? 0) : (content.encoderPadding ?? 0);
  const playableMs = (Math.max(0, frameCount * spf - delay - padding) / profile.sampleRate) * 1000;
  // The ID3 tag keeps its size: patching chapters and TLEN moves no byte of what follows.
  if (id3 > 0 && content.id3Timing && content.id3Timing.end === id3) {
    const { parts: tagParts } = patchId3(
      content.id3Timing,
      id3,
      (ms, edge) => shiftMs(spans, ms, edge),
      playableMs,
    );
    parts.splice(0, 1, ...tagParts);
  }
  return {
    ok: true,
    value: {
      profile,
      parts,
      totalBytes: pos,
      frameCount,
      durationMs: frameCount * frameMs,
      playableMs,
      breaks: spans,
      ads: adSpans,
    },
  };
}

/** Xing TOC: for i = 0..99, the stream byte at i % of the frames, in 1/256 of the stream. */
function buildToc(
  segments: Segment[],
  content: Mp3Scan,
  frames: number,
  streamBytes: number,
  headerBytes: number,
) {
  const toc = new Uint8Array(100);
  let s = 0;
  let segFrame = 0;
  let prev = 0;
  for (let i = 0; i < 100; i++) {
    const f = Math.floor((i / 100) * frames);
    while (s < segments.length - 1 && f >= segFrame + (segments[s] as Segment).frames) {
      segFrame += (segments[s] as Segment).frames;
      s++;
    }
    const seg = segments[s];
    let byte = headerBytes;
    if (seg) {
      const into = Math.min(f - segFrame, seg.frames);
      byte =
        seg.kind === 'content'
          ? seg.outStart +
            ((content.frameOffsets[seg.from + into] ?? 0) - (content.frameOffsets[seg.from] as number))
          : seg.outStart + Math.floor((seg.bytes * into) / seg.frames);
    }
    const v = Math.max(prev, Math.min(255, Math.floor((byte / streamBytes) * 256)));
    toc[i] = v;
    prev = v;
  }
  return toc;
}

/**
 * A silent Layer III frame (all-zero side information: no granule reads any bit) whose
 * ancillary bytes end with the main data that content frame `k` reaches back to with its
 * main_data_begin. A decoder that meets it after an ad plays 1 frame of silence, and then
 * finds frame k's reservoir bytes exactly where it looks for them.
 */
function bridgeFrame(content: Mp3Scan, k: number) {
  const profile = content.profile;
  const need = content.mainDataBegin[k] as number;
  const side = sideInfoBytes(profile.mpegVersion, profile.channels);
  const index = bitrateIndexFor(
    profile.mpegVersion,
    profile.sampleRate,
    4 + side + need,
    content.cbrKbps ?? 0,
  );
  // The largest frame of every profile holds 4 + 32 + 511 bytes, so index is never -1 here.
  const { header, frameBytes, kbps } = buildFrameHeader(
    profile.mpegVersion,
    profile.sampleRate,
    profile.channels,
    index,
  );
  // Walk back over earlier frames' main data to find the `need` bytes, last ones first.
  const ranges: { start: number; end: number }[] = [];
  let missing = need;
  for (let j = k - 1; j >= 0 && missing > 0; j--) {
    const o = content.frameOffsets[j] as number;
    const dataStart = o + (content.sideInfoEnd[j] as number);
    const dataEnd = o + (content.frameBytes[j] as number);
    const take = Math.min(missing, dataEnd - dataStart);
    if (take > 0) ranges.unshift({ start: dataEnd - take, end: dataEnd });
    missing -= take;
  }
  const lead = new Uint8Array(frameBytes - (need - missing));
  lead.set(header, 0);
  const parts: StitchPart[] = [{ kind: 'bytes', bytes: lead }];
  for (const r of ranges) parts.push({ kind: 'content', start: r.start, end: r.end });
  return { parts, frameBytes, kbps };
}

/**
 * Where content time `ms` plays in the stitched file: shifted by every break cut before it.
 * A break exactly at `ms` counts for a start (a chapter starting there starts after the ads)
 * and not for an end (a chapter ending there ends before them).
 */
export function shiftMs(
  breaks: Pick<BreakSpan, 'contentMs' | 'startMs' | 'endMs'>[],
  ms: number,
  edge: 'start' | 'end' = 'start',
): number {
  let shift = 0;
  for (const b of breaks) {
    if (b.contentMs < ms || (edge === 'start' && b.contentMs === ms)) shift += b.endMs - b.startMs;
  }
  return ms + shift;
}
