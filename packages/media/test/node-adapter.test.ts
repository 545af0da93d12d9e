import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdFrames, assembleStitch, layoutStitch, scanMp3 } from '../src/index.ts';
import { readStitchedRange, scanMp3File } from '../src/node/index.ts';
import { chapFrame, concat, frames, id3WithFrames, prng, sameBytes, textFrame } from './synth.ts';

/** Larger than the streamed window (1 MiB), with garbage straddling the window's edge. */
function bigFile(): Uint8Array {
  const v1 = new Uint8Array(128);
  v1.set([0x54, 0x41, 0x47]);
  const head = concat(
    id3WithFrames(
      4,
      [textFrame('TLEN', '130000'), chapFrame('a', 0, 60000, 'A'), chapFrame('b', 60000, 130000, 'B')],
      100,
    ),
    frames(2514), // ends just before 1 MiB
  );
  const garbage = new Uint8Array(9000);
  for (let i = 0; i < garbage.length; i++) garbage[i] = i % 7 === 0 ? 0xff : (i * 31) & 0xff;
  return concat(head, garbage, frames(2500), frames(1).subarray(0, 200), v1);
}

describe('the node adapter streams the file and finds what the in-memory scan finds', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-media-node-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('a 2 MB file with ID3 chapters, garbage across the 1 MiB window edge, a truncated last frame and ID3v1', async () => {
    const bytes = bigFile();
    const path = join(dir.path, 'big.mp3');
    await writeFile(path, bytes);
    const streamed = await scanMp3File(path);
    const inMemory = scanMp3(bytes);
    expect(streamed).toEqual(inMemory);
    if (!streamed.ok) throw streamed.error;
    expect(streamed.value.frameCount).toBe(2514 + 2500);
    expect(streamed.value.resyncs).toBe(1);
    expect(streamed.value.truncatedTailBytes).toBe(200);
    expect(streamed.value.trailingTags).toEqual(['id3v1']);
    expect(streamed.value.id3Timing?.chapters).toHaveLength(2);
  });

  it('agrees with the in-memory scan on mutated big files (seeded)', async () => {
    const rnd = prng(2026);
    const base = bigFile();
    for (let n = 0; n < 12; n++) {
      const b = base.slice(0, Math.floor(base.length * (0.4 + 0.6 * rnd())));
      for (let e = 0; e < 40; e++)
        b[Math.floor(rnd() * b.length)] = rnd() < 0.4 ? 0xff : Math.floor(rnd() * 256);
      const path = join(dir.path, `m${n}.mp3`);
      await writeFile(path, b);
      expect(await scanMp3File(path)).toEqual(scanMp3(b));
    }
  });

  it('empty and missing-audio files give the same coded errors', async () => {
    await writeFile(join(dir.path, 'empty.mp3'), new Uint8Array(0));
    const r = await scanMp3File(join(dir.path, 'empty.mp3'));
    expect(!r.ok && r.error.code).toBe('MEDIA_EMPTY');
    const text = new TextEncoder().encode('<html>not audio</html>'.repeat(50000));
    await writeFile(join(dir.path, 'html.mp3'), text);
    const h = await scanMp3File(join(dir.path, 'html.mp3'));
    expect(!h.ok && h.error.code).toBe('MEDIA_NOT_MP3');
  });

  it('readStitchedRange streams exactly the bytes assembleStitch makes, for any range', async () => {
    const bytes = bigFile();
    const path = join(dir.path, 'content.mp3');
    await writeFile(path, bytes);
    const scan = scanMp3(bytes);
    if (!scan.ok) throw scan.error;
    const adBytes = frames(30);
    const ad: AdFrames = {
      adId: 'x',
      profile: scan.value.profile,
      byteLength: adBytes.length,
      frameCount: 30,
    };
    const layout = layoutStitch(scan.value, [
      { atMs: 0, ads: [ad] },
      { atMs: 60000, ads: [ad] },
      { atMs: 1e12, ads: [ad] },
    ]);
    if (!layout.ok) throw layout.error;
    const whole = assembleStitch(layout.value, bytes, () => adBytes);
    for (const [a, z] of [
      [0, 2],
      [0, whole.length],
      [1_000_000, 1_300_000],
      [whole.length - 300, whole.length],
    ] as const) {
      const chunks: Uint8Array[] = [];
      for await (const c of readStitchedRange(layout.value, path, () => adBytes, a, z)) chunks.push(c);
      expect(sameBytes(concat(...chunks), whole.subarray(a, z))).toBe(true);
    }
  });
});
