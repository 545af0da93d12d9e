import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries, scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTorrent, toHex } from '../src/index.ts';
import { createTorrent, nodeHasher } from '../src/node/index.ts';
import { prng, randomBytes } from './prng.ts';

const p = requireBinaries('v1 info-hash equals mktorrent', 'mktorrent');

/**
 * For the same input and piece length our v1 info dict is byte for byte mktorrent's, so the
 * info-hashes are equal (README: "its torrents hash exactly as mktorrent's do").
 */
describe.skipIf(p.skip)('create: v1 torrents equal mktorrent 1.1', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const rand = prng(42);
  const put = (rel: string, size: number) => {
    const path = join(dir.path, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, randomBytes(rand, size));
    return path;
  };

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-mktorrent-');
    put('single.bin', 1_000_003);
    put('exact.bin', 4 * 65536);
    put('show/ep1.mp3', 300_001);
    put('show/art/cover.jpg', 12_345);
    put('show/art.txt', 77);
    put('show/.hidden', 5);
    put('show/empty', 0);
    put('show/z/deeper/x.bin', 70_000);
  });
  afterAll(async () => dir?.remove());

  const cases: {
    what: string;
    input: string;
    args: string[];
    pieceLength: number;
    private?: boolean;
    announce?: string[][];
  }[] = [
    {
      what: 'single file, size not a multiple of the piece length',
      input: 'single.bin',
      args: ['-l', '16'],
      pieceLength: 65536,
    },
    { what: 'single file, exact multiple', input: 'exact.bin', args: ['-l', '16'], pieceLength: 65536 },
    {
      what: 'folder with nested, hidden and empty files',
      input: 'show',
      args: ['-l', '15'],
      pieceLength: 32768,
    },
    { what: 'private flag', input: 'show', args: ['-l', '15', '-p'], pieceLength: 32768, private: true },
    {
      what: "mktorrent's default piece length (256 KiB)",
      input: 'single.bin',
      args: [],
      pieceLength: 262144,
    },
    {
      what: 'announce and web seed (outside the info dict)',
      input: 'show',
      args: ['-l', '15', '-a', 'http://127.0.0.1:1/announce', '-w', 'http://127.0.0.1:2/show/'],
      pieceLength: 32768,
      announce: [['http://127.0.0.1:1/announce']],
    },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      const out = join(dir.path, `mk-${Math.floor(rand() * 1e9)}.torrent`);
      execFileSync('mktorrent', [...c.args, '-o', out, join(dir.path, c.input)], { stdio: 'pipe' });
      const theirs = await parseTorrent(readFileSync(out), nodeHasher);
      if (!theirs.ok) throw new Error(theirs.error.message);
      const ours = await createTorrent(join(dir.path, c.input), {
        version: 'v1',
        pieceLength: c.pieceLength,
        private: c.private ?? false,
        ...(c.announce ? { announce: c.announce } : {}),
        threads: 2,
      });
      if (!ours.ok) throw new Error(ours.error.message);
      expect(new TextDecoder('latin1').decode(ours.value.infoBytes)).toBe(
        new TextDecoder('latin1').decode(theirs.value.infoBytes),
      );
      expect(toHex(ours.value.infoHash.v1!)).toBe(toHex(theirs.value.infoHash.v1!));
      const reparsed = await parseTorrent(ours.value.torrent, nodeHasher);
      expect(reparsed.ok && reparsed.value.announce).toEqual(theirs.value.announce);
    });
  }
});
