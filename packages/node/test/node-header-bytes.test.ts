import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { headerBytesOf } from '../src/header-bytes.ts';
import { headerBytesOfFile } from '../src/measure-episodes.ts';

const tag = (bytes: number[]) => new Uint8Array([0x49, 0x44, 0x33, ...bytes]);

describe('headerBytesOf', () => {
  it.each([
    ['ID3v2.3, size 0x159', tag([3, 0, 0, 0, 0, 1, 0x59]), 10 + 0xd9],
    ['ID3v2.4 with footer', tag([4, 0, 0x10, 0, 0, 0, 10]), 10 + 10 + 10],
    ['largest synchsafe size', tag([4, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f]), 10 + 0x0fffffff],
    ['size byte with the high bit set (not synchsafe)', tag([3, 0, 0, 0, 0, 0x80, 0]), 0],
    ['version 0xff (invalid)', tag([0xff, 0, 0, 0, 0, 0, 1]), 0],
    ['too short', tag([3, 0, 0]), 0],
    ['MP4 ftyp', new Uint8Array([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73]), 0],
    ['empty', new Uint8Array(), 0],
  ])('%s', (_name, head, want) => {
    expect(headerBytesOf(head)).toBe(want);
  });

  it('finds the ID3 tag of the demo episode, and its first MPEG frame right after it', async () => {
    const bytes = await readFile(join(demoMediaDir, 'welcome.mp3'));
    const n = headerBytesOf(bytes.subarray(0, 10));
    expect(n).toBeGreaterThan(10);
    // An MPEG audio frame starts with 11 set sync bits.
    expect(bytes[n]).toBe(0xff);
    expect(bytes[n + 1]! & 0xe0).toBe(0xe0);
  });
});

describe('headerBytesOfFile for MP4', () => {
  const box = (type: string, payload: number) => {
    const b = Buffer.alloc(8 + payload);
    b.writeUInt32BE(8 + payload, 0);
    b.write(type, 4, 'latin1');
    return b;
  };

  it('counts the demo video up to the first sample (the mdat payload)', async () => {
    const path = join(demoMediaDir, 'video.mp4');
    const n = await headerBytesOfFile(path);
    const bytes = await readFile(path);
    expect(n).toBeGreaterThan(1000); // ftyp + moov of a real file
    expect(bytes.toString('latin1', n - 4, n)).toBe('mdat');
  });

  it('adds a trailing moov (not fast start), and gives 0 for boxes without mdat or moov', async () => {
    const dir = await scratchDir();
    try {
      const slow = join(dir.path, 'slow.mp4');
      await writeFile(slow, Buffer.concat([box('ftyp', 8), box('mdat', 100), box('moov', 20)]));
      expect(await headerBytesOfFile(slow)).toBe(16 + 8 + 28);
      const fast = join(dir.path, 'fast.mp4');
      await writeFile(fast, Buffer.concat([box('ftyp', 8), box('moov', 20), box('mdat', 100)]));
      expect(await headerBytesOfFile(fast)).toBe(16 + 28 + 8);
      const broken = join(dir.path, 'broken.mp4');
      await writeFile(
        broken,
        Buffer.concat([box('ftyp', 8), Buffer.from([0, 0, 0, 3, 0x6d, 0x64, 0x61, 0x74])]),
      );
      expect(await headerBytesOfFile(broken)).toBe(0);
      expect(await headerBytesOfFile(join(dir.path, 'missing.mp4'))).toBe(0);
    } finally {
      await dir.remove();
    }
  });
});
