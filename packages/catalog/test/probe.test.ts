import { execFileSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinaries, scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../src/media/probe.ts';

const ffmpeg = requireBinaries('an M4A made with ffmpeg', 'ffmpeg');
const demo = join(import.meta.dirname, '..', 'demo-media');

describe('probeMedia', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir();
  });
  afterAll(() => dir.remove());

  it('reads an MP3: duration, codec, bitrate, chapters', async () => {
    const r = await probeMedia(join(demo, 'welcome.mp3'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      mediaKind: 'audio',
      mime: 'audio/mpeg',
      extension: 'mp3',
      bitrate: 32000,
    });
    expect(r.value.durationMs).toBeGreaterThan(10_000);
    expect(r.value.codecs.join()).toMatch(/Layer 3/);
    expect(r.value.chapters.map((c) => c.title)).toEqual(['Welcome', 'Ad breaks']);
    expect(r.value.chapters[1]?.startMs).toBeGreaterThan(5000);
  });

  it.skipIf(ffmpeg.skip)('reads an audio-only M4A (AAC) as audio, not video', async () => {
    const path = join(dir.path, 'talk.m4a');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:duration=2',
      '-c:a',
      'aac',
      '-y',
      path,
    ]);
    const r = await probeMedia(path);
    expect(r.ok && r.value).toMatchObject({ mediaKind: 'audio', mime: 'audio/mp4', extension: 'm4a' });
  });

  it('reads an MP4 with video and tells a fast-start file from one that is not', async () => {
    const fast = await probeMedia(join(demo, 'video.mp4'));
    expect(fast.ok && fast.value).toMatchObject({ mediaKind: 'video', mime: 'video/mp4', fastStart: true });
    // Move moov after mdat by hand: the same boxes, reordered.
    const bytes = await readFile(join(demo, 'video.mp4'));
    const boxes: Buffer[] = [];
    for (let pos = 0; pos < bytes.length; ) {
      const size = bytes.readUInt32BE(pos);
      boxes.push(bytes.subarray(pos, pos + size));
      pos += size;
    }
    const type = (b: Buffer) => b.toString('latin1', 4, 8);
    const moov = boxes.find((b) => type(b) === 'moov') as Buffer;
    const slow = Buffer.concat([...boxes.filter((b) => type(b) !== 'moov'), moov]);
    await writeFile(join(dir.path, 'slow.mp4'), slow);
    const r = await probeMedia(join(dir.path, 'slow.mp4'));
    // The stco offsets now point elsewhere, but the probe only judges box order and headers.
    expect(r.ok && r.value.fastStart).toBe(false);
  });

  it.each([
    [
      'random bytes named .mp3',
      () => Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7919) % 251)),
    ],
    ['a text file', () => Buffer.from('<html><script>alert(1)</script></html>\n'.repeat(100))],
    [
      'a PNG header',
      () => Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(500)]),
    ],
    [
      'an empty ID3 tag and nothing else',
      () => Buffer.from('4944330300000000000a00000000000000000000', 'hex'),
    ],
  ])('refuses %s with CAT_NOT_MEDIA', async (_name, make) => {
    const path = join(dir.path, 'fake.mp3');
    await writeFile(path, make());
    const r = await probeMedia(path);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('CAT_NOT_MEDIA');
      expect(r.message).toMatch(/not audio or video/);
    }
  });

  it('refuses an MP4 cut off in its header', async () => {
    const path = join(dir.path, 'cut.mp4');
    await copyFile(join(demo, 'video.mp4'), path);
    await writeFile(path, (await readFile(path)).subarray(0, 600));
    const r = await probeMedia(path);
    expect(r.ok).toBe(false);
  });
});
