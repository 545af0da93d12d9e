import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { describe, expect, it } from 'vitest';
import { headerBytesOf } from '../src/node/header-bytes.ts';

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
