import { describe, expect, it } from 'vitest';
import {
  type AdFrames,
  assembleStitch,
  layoutStitch,
  type Mp3Scan,
  partsInRange,
  type StitchPart,
  scanMp3,
} from '../src/index.ts';
import { concat, frames, id3v2, sameBytes } from './synth.ts';

const ok = (bytes: Uint8Array): Mp3Scan => {
  const r = scanMp3(bytes);
  if (!r.ok) throw r.error;
  return r.value;
};
const size = (p: StitchPart) => (p.kind === 'bytes' ? p.bytes.length : p.end - p.start);
const frameMs = (1152 / 44100) * 1000;

/** Content whose frame 50 leans on the reservoir (main_data_begin = 300), as LAME's frames do. */
function content() {
  const bytes = concat(id3v2(20), frames(100));
  const f50 = 30 + 50 * 417;
  bytes[f50 + 4] = 300 >> 1;
  bytes[f50 + 5] = (300 & 1) << 7;
  return bytes;
}

describe('layoutStitch', () => {
  const bytes = content();
  const scan = ok(bytes);
  const adBytes = frames(20, { bitrateIndex: 5 }); // 64 kbit/s: 208-byte frames
  const ad = (adId: string): AdFrames => ({
    adId,
    profile: scan.profile,
    byteLength: adBytes.length,
    frameCount: 20,
    cbrKbps: 64,
  });

  it('parts add up to totalBytes and the ad spans point at the ad parts', () => {
    const r = layoutStitch(scan, [
      { atMs: 0, ads: [ad('pre')] },
      { atMs: 50 * frameMs, ads: [ad('m1'), ad('m2')] },
      { atMs: 1e9, ads: [ad('post')] },
    ]);
    if (!r.ok) throw r.error;
    const l = r.value;
    expect(l.parts.reduce((n, p) => n + size(p), 0)).toBe(l.totalBytes);
    expect(l.ads.map((a) => a.adId)).toEqual(['pre', 'm1', 'm2', 'post']);
    let pos = 0;
    const adAt = new Map<string, number>();
    for (const p of l.parts) {
      if (p.kind === 'ad') adAt.set(p.adId, pos);
      pos += size(p);
    }
    for (const a of l.ads) {
      expect(a.byteStart).toBe(adAt.get(a.adId));
      expect(a.byteEnd - a.byteStart).toBe(adBytes.length);
      expect(a.endMs - a.startMs).toBeCloseTo(20 * frameMs, 9);
    }
    expect(l.frameCount).toBe(100 + 4 * 20 + 1);
    expect(l.breaks.map((b) => [b.contentFrame, b.bridgeFrames, b.ads.length])).toEqual([
      [0, 0, 1],
      [50, 1, 2],
      [100, 0, 1],
    ]);
    // The mid-roll break spans its two ads and the bridge frame that follows them.
    const mid = l.breaks[1];
    expect(mid?.byteStart).toBe(l.ads[1]?.byteStart);
    expect(mid?.byteEnd).toBeGreaterThan(l.ads[2]?.byteEnd as number);
    expect((mid?.endMs as number) - (mid?.startMs as number)).toBeCloseTo(41 * frameMs, 9);
    expect(l.durationMs).toBeCloseTo(l.frameCount * frameMs, 9);
  });

  it('the bridge frame ends with the 300 reservoir bytes of the frames before the cut', () => {
    const r = layoutStitch(scan, [{ atMs: 50 * frameMs, ads: [ad('m')] }]);
    if (!r.ok) throw r.error;
    const out = assembleStitch(r.value, bytes, () => adBytes);
    const span = r.value.breaks[0];
    const bridgeEnd = span?.byteEnd as number;
    const f49 = 30 + 49 * 417; // main data of frame 49 ends at the frame's end
    expect(out.subarray(bridgeEnd - 300, bridgeEnd)).toEqual(bytes.subarray(f49 + 417 - 300, f49 + 417));
    // and the content resumes with frame 50 itself
    expect(out.subarray(bridgeEnd, bridgeEnd + 417)).toEqual(bytes.subarray(30 + 50 * 417, 30 + 51 * 417));
    const again = ok(out);
    expect(again.frameCount).toBe(100 + 20 + 1);
    const bridge = again.frameOffsets.indexOf(bridgeEnd - 417); // at the content's 128 kbit/s: 417 bytes
    expect(bridge).toBeGreaterThan(0);
    expect(again.mainDataBegin[bridge]).toBe(0);
  });

  it('a frame that does not lean on the reservoir needs no bridge', () => {
    const r = layoutStitch(scan, [{ atMs: 40 * frameMs, ads: [ad('m')] }]);
    expect(r.ok && r.value.breaks[0]?.bridgeFrames).toBe(0);
  });

  it('rounds to the nearest boundary and keeps the given order for breaks on the same one', () => {
    const r = layoutStitch(scan, [
      { atMs: 10.6 * frameMs, ads: [ad('b')] },
      { atMs: 10.4 * frameMs, ads: [ad('a')] },
      { atMs: 11 * frameMs, ads: [ad('c')] },
    ]);
    if (!r.ok) throw r.error;
    expect(r.value.breaks.map((b) => [b.contentFrame, b.ads[0]?.adId])).toEqual([
      [10, 'a'],
      [11, 'b'],
      [11, 'c'],
    ]);
  });

  it('refuses bad insert points and ads of another profile', () => {
    const bad = layoutStitch(scan, [{ atMs: Number.NaN, ads: [ad('x')] }]);
    expect(!bad.ok && bad.error.code).toBe('MEDIA_BAD_INSERT');
    const neg = layoutStitch(scan, [{ atMs: -1, ads: [] }]);
    expect(!neg.ok && neg.error.code).toBe('MEDIA_BAD_INSERT');
    const mono = layoutStitch(scan, [
      { atMs: 0, ads: [{ ...ad('x'), profile: { ...scan.profile, channels: 1 } }] },
    ]);
    expect(!mono.ok && mono.error.code).toBe('MEDIA_PROFILE_MISMATCH');
    const rate = layoutStitch(scan, [
      { atMs: 0, ads: [{ ...ad('x'), profile: { ...scan.profile, sampleRate: 48000 } }] },
    ]);
    expect(!rate.ok && rate.error.message).toContain('48000 Hz');
  });

  it('with no breaks, the file is the content with a fresh Info frame; a CBR stitch stays "Info", mixed rates say "Xing"', () => {
    const plain = layoutStitch(scan, []);
    if (!plain.ok) throw plain.error;
    expect(plain.value.totalBytes).toBe(bytes.length + 417);
    expect(ok(assembleStitch(plain.value, bytes, () => adBytes)).headerFrame?.tag.kind).toBe('Info');
    const mixed = layoutStitch(scan, [{ atMs: 0, ads: [ad('a')] }]);
    if (!mixed.ok) throw mixed.error;
    expect(ok(assembleStitch(mixed.value, bytes, () => adBytes)).headerFrame?.tag.kind).toBe('Xing');
  });

  it('partsInRange covers exactly the asked bytes, for every range split', () => {
    const r = layoutStitch(scan, [
      { atMs: 0, ads: [ad('a')] },
      { atMs: 50 * frameMs, ads: [ad('b')] },
    ]);
    if (!r.ok) throw r.error;
    const whole = assembleStitch(r.value, bytes, () => adBytes);
    for (const [a, z] of [
      [0, 1],
      [0, 2],
      [5, 500],
      [417, 4170],
      [whole.length - 10, whole.length],
      [1000, whole.length],
    ] as const) {
      expect(
        sameBytes(
          assembleStitch(r.value, bytes, () => adBytes, { start: a, end: z }),
          whole.subarray(a, z),
        ),
      ).toBe(true);
      expect(partsInRange(r.value, a, z).reduce((n, p) => n + size(p), 0)).toBe(z - a);
    }
  });
});
