import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  autoPieceLength,
  createTorrentFromMemory,
  parseTorrent,
  planTorrent,
  subtleHasher,
  toHex,
} from '../src/index.ts';
import { createTorrent, nodeHasher } from '../src/node/index.ts';
import { prng, randomBytes } from './prng.ts';

describe('automatic piece length (libtorrent 2.0 rule)', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  // breakpoints measured with lt.create_torrent(fs, 0) from python3-libtorrent 2.0.8
  const table: [number, number][] = [
    [1, 16 * KiB],
    [2_684_355, 16 * KiB],
    [2_684_356, 32 * KiB],
    [10_737_418, 32 * KiB],
    [10_737_419, 64 * KiB],
    [171_798_693, 256 * KiB],
    [1024 * MiB, 512 * KiB],
    [2_748_779_070, 1024 * KiB],
    [1_000_000 * MiB, 16 * MiB],
  ];
  for (const [size, expected] of table)
    it(`${size} bytes -> ${expected / KiB} KiB`, () => expect(autoPieceLength(size)).toBe(expected));
});

describe('plan: order and padding', () => {
  const files = [
    { path: ['sub', 'b'], length: 10 },
    { path: ['sub.txt'], length: 20 },
    { path: ['a'], length: 16384 },
    { path: ['e'], length: 0 },
  ];
  it('v1 sorts by the whole path like mktorrent, without pads', () => {
    const plan = planTorrent('x', files, 'v1', 16384, false);
    expect(plan.files.map((f) => f.path.join('/'))).toEqual(['a', 'e', 'sub.txt', 'sub/b']);
    expect(plan.length).toBe(16414);
  });
  it('hybrid sorts component-wise and pads every unaligned non-empty file, the last one too', () => {
    const plan = planTorrent('x', files, 'hybrid', 16384, false);
    expect(plan.files.map((f) => `${f.path.join('/')}:${f.length}`)).toEqual([
      'a:16384',
      'e:0',
      'sub/b:10',
      '.pad/16374:16374',
      'sub.txt:20',
      '.pad/16364:16364',
    ]);
  });
  it('v2 aligns files without a pad after the last', () => {
    const plan = planTorrent('x', files, 'v2', 16384, false);
    expect(plan.files.map((f) => `${f.path.join('/')}:${f.offset}`)).toEqual([
      'a:0',
      'e:16384',
      'sub/b:16384',
      '.pad/16374:16394',
      'sub.txt:32768',
    ]);
    expect(plan.pieceCount).toBe(3);
  });
});

describe('createTorrent (Node, worker threads)', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const rand = prng(99);
  const contents = new Map<string, Uint8Array>();
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-create-');
    for (const [rel, size] of [
      ['pack/a.bin', 200_000],
      ['pack/d/b.bin', 33_333],
      ['pack/d/c.bin', 1],
    ] as const) {
      mkdirSync(join(dir.path, rel, '..'), { recursive: true });
      const data = randomBytes(rand, size);
      writeFileSync(join(dir.path, rel), data);
      contents.set(rel.slice('pack/'.length), data);
    }
    mkdirSync(join(dir.path, 'nothing'));
  });
  afterAll(async () => dir?.remove());

  for (const version of ['v1', 'v2', 'hybrid'] as const) {
    it(`${version}: equals the in-memory creator, parses back, reports progress`, async () => {
      const progress: number[] = [];
      const made = await createTorrent(join(dir.path, 'pack'), {
        version,
        pieceLength: 16384,
        chunkBytes: 32768,
        threads: 2,
        announce: [['http://127.0.0.1:1/a'], ['udp://127.0.0.1:2']],
        webSeeds: ['http://127.0.0.1:3/'],
        private: true,
        onProgress: (p) => progress.push(p.hashedBytes),
      });
      if (!made.ok) throw new Error(made.error.message);
      const memory = await createTorrentFromMemory(
        'pack',
        [...contents].map(([k, data]) => ({ path: k.split('/'), data })),
        { version, pieceLength: 16384, private: true },
        subtleHasher(),
      );
      if (!memory.ok) throw new Error(memory.error.message);
      expect(toHex(made.value.infoBytes)).toBe(toHex(memory.value.infoBytes));
      expect(progress.at(-1)).toBe(made.value.plan.length);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      const parsed = await parseTorrent(made.value.torrent, nodeHasher);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(parsed.value).toMatchObject({
        version,
        private: true,
        announce: [['http://127.0.0.1:1/a'], ['udp://127.0.0.1:2']],
        urlList: ['http://127.0.0.1:3/'],
      });
      expect(parsed.value.infoHash).toEqual(made.value.infoHash);
    });
  }

  it('gives coded errors for a missing path, an empty folder and a bad piece length', async () => {
    const missing = await createTorrent(join(dir.path, 'nope'));
    expect(missing.ok || missing.error.code).toBe('BT_CREATE_NOT_FOUND');
    const empty = await createTorrent(join(dir.path, 'nothing'));
    expect(empty.ok || empty.error.code).toBe('BT_CREATE_EMPTY');
    const odd = await createTorrent(join(dir.path, 'pack'), { version: 'v2', pieceLength: 3 * 16384 });
    expect(odd.ok || odd.error.code).toBe('BT_CREATE_BAD_PIECE_LENGTH');
  });

  it('a chunk of several reads (the next read runs while this one hashes) equals the in-memory creator', async () => {
    // 5 MiB in 16 KiB pieces, one 8 MiB chunk: three 2 MiB reads taking turns in two buffers.
    const data = randomBytes(prng(5), 5 * 1024 * 1024 + 123);
    mkdirSync(join(dir.path, 'bigpack'));
    writeFileSync(join(dir.path, 'bigpack', 'big.bin'), data);
    for (const threads of [1, 2]) {
      const made = await createTorrent(join(dir.path, 'bigpack'), {
        version: 'hybrid',
        pieceLength: 16384,
        chunkBytes: 8 * 1024 * 1024,
        threads,
      });
      if (!made.ok) throw new Error(made.error.message);
      const memory = await createTorrentFromMemory(
        'bigpack',
        [{ path: ['big.bin'], data }],
        { version: 'hybrid', pieceLength: 16384 },
        subtleHasher(),
      );
      if (!memory.ok) throw new Error(memory.error.message);
      expect(toHex(made.value.infoBytes)).toBe(toHex(memory.value.infoBytes));
    }
  });

  it('v2 and hybrid pieces of a large file (merkle levels with an odd node) equal the in-memory creator', async () => {
    // 128 KiB pieces (8 leaves each); the last piece has 5 blocks, so its levels have 5, 3 and
    // 2 nodes and the odd ones are paired with all-zero subtrees of two heights
    const data = randomBytes(prng(7), 9 * 131072 + 4 * 16384 + 7);
    mkdirSync(join(dir.path, 'levels'));
    writeFileSync(join(dir.path, 'levels', 'big.bin'), data);
    writeFileSync(join(dir.path, 'levels', 'small.txt'), data.subarray(0, 40000));
    for (const version of ['v2', 'hybrid'] as const) {
      const memory = await createTorrentFromMemory(
        'levels',
        [
          { path: ['big.bin'], data },
          { path: ['small.txt'], data: data.subarray(0, 40000) },
        ],
        { version, pieceLength: 131072 },
        subtleHasher(),
      );
      if (!memory.ok) throw new Error(memory.error.message);
      for (const threads of [1, 2]) {
        const made = await createTorrent(join(dir.path, 'levels'), {
          version,
          pieceLength: 131072,
          chunkBytes: 262144,
          threads,
        });
        if (!made.ok) throw new Error(made.error.message);
        expect(toHex(made.value.torrent)).toBe(toHex(memory.value.torrent));
      }
    }
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const r = await createTorrent(join(dir.path, 'pack'), { signal: controller.signal });
    expect(r.ok || r.error.code).toBe('BT_CREATE_ABORTED');
  });

  it('a worker kept from an earlier torrent hashes the next one right, also after an aborted one', async () => {
    // the first call leaves its worker idle; the aborted one must not hand the next a worker
    // that still holds its chunks; each result must equal the in-memory creator
    const expected = await createTorrentFromMemory(
      'pack',
      [...contents].map(([k, data]) => ({ path: k.split('/'), data })),
      { version: 'hybrid', pieceLength: 16384 },
      subtleHasher(),
    );
    if (!expected.ok) throw new Error(expected.error.message);
    const controller = new AbortController();
    for (const signal of [undefined, controller.signal, undefined, undefined]) {
      const made = createTorrent(join(dir.path, 'pack'), {
        version: 'hybrid',
        pieceLength: 16384,
        chunkBytes: 16384,
        threads: 2,
        ...(signal ? { signal, onProgress: () => controller.abort(new Error('stop')) } : {}),
      });
      const r = await made;
      if (signal) {
        expect(r.ok || r.error.code).toBe('BT_CREATE_ABORTED');
        continue;
      }
      if (!r.ok) throw new Error(r.error.message);
      expect(toHex(r.value.infoBytes)).toBe(toHex(expected.value.infoBytes));
    }
  });
});
