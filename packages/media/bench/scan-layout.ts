/**
 * Bench: scan a 1-hour MP3 (128 kbit/s, 44.1 kHz stereo; real LAME frames repeated) and lay
 * out a plan with a pre-roll, three mid-rolls and a post-roll. Bounded: 5 scans, 20 + 200 layouts (the first 20 warm the JIT).
 * Prints medians and p99; the reference beside them is reading the file's bytes (a memcpy-like
 * pass over the same buffer), so the scan's cost shows as a ratio.
 *   npx tsx packages/media/bench/scan-layout.ts
 */
import { loadavg } from 'node:os';
import { Mp3Encoder } from '@breezystack/lamejs';
import { type AdFrames, layoutStitch, partsInRange, scanMp3 } from '../src/index.ts';

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

const second = (() => {
  const pcm = Int16Array.from({ length: 44100 * 4 }, (_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 44100)),
  );
  const enc = new Mp3Encoder(2, 44100, 128);
  const a = enc.encodeBuffer(pcm, pcm);
  return new Uint8Array(a.buffer, a.byteOffset, a.length).slice();
})();
const first = scanMp3(second);
if (!first.ok) throw first.error;
const unit = second.subarray(first.value.frameOffsets[2] as number, first.value.audioEnd);
const hour = new Uint8Array(Math.floor((128000 / 8) * 3600));
for (let at = 0; at < hour.length; at += unit.length)
  hour.set(unit.subarray(0, Math.min(unit.length, hour.length - at)), at);

const scans: number[] = [];
const reads: number[] = [];
let scan = first.value;
for (let i = 0; i < 5; i++) {
  let t = performance.now();
  let sum = 0;
  for (let j = 0; j < hour.length; j += 64) sum += hour[j] as number;
  reads.push(performance.now() - t + (sum < 0 ? 1 : 0));
  t = performance.now();
  const r = scanMp3(hour);
  scans.push(performance.now() - t);
  if (!r.ok) throw r.error;
  scan = r.value;
}
const ad: AdFrames = {
  adId: 'ad',
  profile: scan.profile,
  byteLength: 480_000,
  frameCount: 1149,
  cbrKbps: 128,
};
const layouts: number[] = [];
const ranges: number[] = [];
for (let i = -20; i < 200; i++) {
  const t = performance.now();
  const l = layoutStitch(scan, [
    { atMs: 0, ads: [ad] },
    { atMs: 900_000 + i, ads: [ad, ad] },
    { atMs: 1_800_000 + i, ads: [ad] },
    { atMs: 2_700_000 + i, ads: [ad] },
    { atMs: 4_000_000, ads: [ad] },
  ]);
  if (i >= 0) layouts.push(performance.now() - t);
  if (!l.ok) throw l.error;
  const u = performance.now();
  partsInRange(l.value, 30_000_000 + i, 31_000_000 + i);
  if (i >= 0) ranges.push(performance.now() - u);
}
const ms = (x: number) => `${x.toFixed(3)} ms`;
console.log(
  `1 h MP3, ${(hour.length / 1e6).toFixed(1)} MB, ${scan.frameCount} frames; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `scanMp3: median ${ms(quantile(scans, 0.5))} (reference: one strided pass over the bytes ${ms(quantile(reads, 0.5))})`,
);
console.log(
  `layoutStitch (5 breaks, 6 ads): median ${ms(quantile(layouts, 0.5))}, p99 ${ms(quantile(layouts, 0.99))}`,
);
console.log(`partsInRange (1 MB): median ${ms(quantile(ranges, 0.5))}, p99 ${ms(quantile(ranges, 0.99))}`);
