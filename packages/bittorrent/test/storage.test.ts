import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/node/file-storage.ts';
import { makeLayout } from '../src/storage/layout.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import type { Storage } from '../src/storage/storage.ts';

const layout = makeLayout(8, [
  { path: ['t', 'a'], length: 10 },
  { path: ['t', '.pad', '6'], length: 6, pad: true },
  { path: ['t', 'sub', 'b'], length: 3 },
  { path: ['t', 'c'], length: 20 },
]);
const content = Uint8Array.from({ length: layout.totalLength }, (_, i) =>
  i >= 10 && i < 16 ? 0 : 1 + (i % 250),
);

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await scratchDir();
});
afterAll(async () => {
  await dir.remove();
});

const engines: [string, () => Storage][] = [
  ['memory', () => new MemoryStorage(layout)],
  ['file', () => new FileStorage(layout, { dir: join(dir.path, String(Math.random())) })],
];

describe.each(engines)('%s storage', (_name, make) => {
  it('reads back what was written, across files, with pads as zeros', async () => {
    const s = make();
    await s.open();
    for (let p = 0; p < layout.pieceCount; p++) {
      const start = p * 8;
      await s.write(start, content.subarray(start, Math.min(start + 8, layout.totalLength)));
    }
    expect(await s.read(0, layout.totalLength)).toEqual(content);
    expect(await s.read(7, 12)).toEqual(content.subarray(7, 19));
    expect(await s.presentLengths()).toEqual([10, 6, 3, 20]);
    await s.close();
  });

  it('reads zeros where nothing was written and reports missing files', async () => {
    const s = make();
    await s.open();
    await s.write(24, content.subarray(24, 32));
    expect(await s.read(16, 8)).toEqual(new Uint8Array(8));
    expect(await s.read(24, 8)).toEqual(content.subarray(24, 32));
    const present = await s.presentLengths();
    expect(present[0]).toBe(0);
    expect(present[2]).toBe(0);
    await s.close();
  });

  it('rejects ranges outside piece space', async () => {
    const s = make();
    await expect(s.read(30, 10)).rejects.toMatchObject({ code: 'BT_STORAGE_RANGE' });
    await expect(s.write(-1, new Uint8Array(1))).rejects.toMatchObject({ code: 'BT_STORAGE_RANGE' });
    await s.close();
  });
});

describe('file storage', () => {
  it('creates files sparse at full length and never creates pad files', async () => {
    const root = join(dir.path, 'sparse');
    const s = new FileStorage(layout, { dir: root });
    await s.write(24, content.subarray(24, 32));
    await s.flush();
    expect((await stat(join(root, 't', 'c'))).size).toBe(20);
    await expect(stat(join(root, 't', '.pad', '6'))).rejects.toThrow();
    await expect(stat(join(root, 't', 'a'))).rejects.toThrow();
    await s.close();
    expect((await readFile(join(root, 't', 'c'))).subarray(5, 13)).toEqual(
      Buffer.from(content.subarray(24, 32)),
    );
  });

  it('reads data that is already on disk (restart)', async () => {
    const root = join(dir.path, 'restart');
    const a = new FileStorage(layout, { dir: root });
    await a.write(0, content.subarray(0, 8));
    await a.close();
    const b = new FileStorage(layout, { dir: root, readOnly: true });
    expect(await b.read(0, 8)).toEqual(content.subarray(0, 8));
    await expect(b.write(0, content.subarray(0, 8))).rejects.toMatchObject({ code: 'BT_STORAGE_IO' });
    await b.close();
  });

  it('refuses paths that escape its folder', () => {
    const bad = makeLayout(8, [{ path: ['..', 'etc'], length: 4 }]);
    expect(() => new FileStorage(bad, { dir: dir.path })).toThrow(/unsafe/);
  });

  it('maps a single file to a path of its own', async () => {
    const one = makeLayout(4, [{ path: ['x.bin'], length: 6 }]);
    const path = join(dir.path, 'given-name.bin');
    await writeFile(path, Buffer.from([1, 2, 3, 4, 5, 6]));
    const s = new FileStorage(one, { dir: dir.path, readOnly: true, pathOf: () => path });
    expect(await s.read(2, 4)).toEqual(Uint8Array.from([3, 4, 5, 6]));
    await s.close();
  });
});

describe('file storage writes', () => {
  it('writes pieces larger than one write slice, to many files at once with one handle open at most', async () => {
    // 3 files of 200,000 bytes in 64 KiB pieces: spans cross files and slices; with
    // maxOpenFiles 1 every write evicts (closes) another file's handle while writes run
    const big = makeLayout(65536, [
      { path: ['m', 'x'], length: 200_000 },
      { path: ['m', 'y'], length: 200_000 },
      { path: ['m', 'z'], length: 200_000 },
    ]);
    const bytes = Uint8Array.from({ length: big.totalLength }, (_, i) => (i * 7 + (i >> 9)) & 255);
    const s = new FileStorage(big, { dir: join(dir.path, 'slices'), maxOpenFiles: 1 });
    const writes: Promise<void>[] = [];
    for (let p = big.pieceCount - 1; p >= 0; p--) {
      const start = p * 65536;
      writes.push(s.write(start, bytes.subarray(start, Math.min(start + 65536, big.totalLength))));
    }
    // one piece written again as a whole, to cover a write longer than a slice
    writes.push(s.write(0, bytes.subarray(0, 196_608)));
    await Promise.all(writes);
    await s.close();
    for (const [i, name] of ['x', 'y', 'z'].entries()) {
      const got = new Uint8Array(await readFile(join(dir.path, 'slices', 'm', name)));
      expect(got).toEqual(bytes.subarray(i * 200_000, (i + 1) * 200_000));
    }
  });
});
