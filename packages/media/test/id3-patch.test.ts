import { describe, expect, it } from 'vitest';
import { type AdFrames, assembleStitch, layoutStitch, type Mp3Scan, scanMp3, shiftMs } from '../src/index.ts';
import { chapFrame, concat, frames, id3WithFrames, textFrame } from './synth.ts';

const ok = (bytes: Uint8Array): Mp3Scan => {
  const r = scanMp3(bytes);
  if (!r.ok) throw r.error;
  return r.value;
};
const frameMs = (1152 / 44100) * 1000;

describe('ID3 chapters and TLEN in a stitched file', () => {
  for (const major of [3, 4] as const) {
    it(`v2.${major}: CHAP times move by the ads before them, offsets become unused, TLEN is the new length, the tag keeps its size`, () => {
      const tag = id3WithFrames(
        major,
        [
          textFrame('TIT2', 'Episode'),
          textFrame('TLEN', '0010449'),
          chapFrame('ch0', 0, 5000, 'Intro'),
          chapFrame('ch1', 5000, 10449, 'Talk'),
        ],
        64,
      );
      const content = concat(tag, frames(400)); // 10.449 s
      const scan = ok(content);
      expect(scan.id3Timing?.patchable).toBe(true);
      expect(scan.id3Timing?.chapters.map((c) => [c.elementId, c.startMs, c.endMs])).toEqual([
        ['ch0', 0, 5000],
        ['ch1', 5000, 10449],
      ]);
      expect(scan.id3Timing?.length?.ms).toBe(10449);

      const adBytes = frames(40); // 1.045 s
      const ad: AdFrames = { adId: 'a', profile: scan.profile, byteLength: adBytes.length, frameCount: 40 };
      // The content's frames lean on no reservoir (synthetic), so no bridge: breaks are exactly 40 frames.
      const layout = layoutStitch(scan, [
        { atMs: 0, ads: [ad] },
        { atMs: 5000, ads: [ad] },
      ]);
      if (!layout.ok) throw layout.error;
      const l = layout.value;
      const out = assembleStitch(l, content, () => adBytes);
      const again = ok(out);
      expect(again.id3v2End).toBe(tag.length);
      const adMs = 40 * frameMs;
      const cut = Math.round(5000 / frameMs) * frameMs; // the break is cut on the frame boundary nearest 5 s
      expect(l.breaks[1]?.contentMs).toBeCloseTo(cut, 6);
      // 5 s rounds to boundary 191 (4989 ms), before both chapter edges at 5000: both breaks count.
      expect(cut).toBeLessThan(5000);
      expect(again.id3Timing?.chapters.map((c) => [c.elementId, c.startMs, c.endMs])).toEqual([
        ['ch0', Math.round(adMs), Math.round(5000 + 2 * adMs)],
        ['ch1', Math.round(5000 + 2 * adMs), Math.round(10449 + 2 * adMs)],
      ]);
      const offsets = again.id3Timing?.chapters.map((c) => [
        ...out.subarray(c.fieldsAt + 8, c.fieldsAt + 16),
      ]);
      expect(offsets).toEqual([Array(8).fill(255), Array(8).fill(255)]);
      expect(again.id3Timing?.length?.ms).toBe(Math.round(l.durationMs));
      expect(shiftMs(l.breaks, 0)).toBeCloseTo(adMs, 6);
      expect(shiftMs(l.breaks, 10449, 'end')).toBeCloseTo(10449 + 2 * adMs, 6);
      // Everything else in the tag is unchanged.
      const differing = [...tag].filter((b, i) => out[i] !== b).length;
      expect(differing).toBeLessThanOrEqual(2 * 16 + 7);
    });
  }

  it('a TLEN that cannot hold the new number becomes XLEN (ignored by readers)', () => {
    const tag = id3WithFrames(3, [textFrame('TLEN', '9')], 16);
    const content = concat(tag, frames(10));
    const scan = ok(content);
    const adBytes = frames(10);
    const layout = layoutStitch(scan, [
      { atMs: 0, ads: [{ adId: 'a', profile: scan.profile, byteLength: adBytes.length, frameCount: 10 }] },
    ]);
    if (!layout.ok) throw layout.error;
    const out = assembleStitch(layout.value, content, () => adBytes);
    expect(String.fromCharCode(...out.subarray(10, 14))).toBe('XLEN');
    expect(ok(out).id3Timing?.length).toBeNull();
  });

  it('leaves an unsynchronised tag alone', () => {
    const tag = id3WithFrames(3, [chapFrame('c', 0, 100, 'x')]);
    tag[5] = 0x80;
    const content = concat(tag, frames(10));
    const scan = ok(content);
    expect(scan.id3Timing?.patchable).toBe(false);
    const adBytes = frames(10);
    const layout = layoutStitch(scan, [
      { atMs: 0, ads: [{ adId: 'a', profile: scan.profile, byteLength: adBytes.length, frameCount: 10 }] },
    ]);
    if (!layout.ok) throw layout.error;
    expect(assembleStitch(layout.value, content, () => adBytes).subarray(0, tag.length)).toEqual(tag);
  });
});
