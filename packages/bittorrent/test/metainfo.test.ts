import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  asPieceIndex,
  type BEncodable,
  encodeBencode,
  parseInfoDict,
  parseTorrent,
  pieceLengthAt,
  pieceSlices,
  subtleHasher,
  toHex,
  verifyPiece,
} from '../src/index.ts';
import { nodeHasher } from '../src/node/index.ts';
import { prng, randomBytes, testSeed } from './prng.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest());

/** A v1 torrent made by hand (the reference for the parser): pieces over the concatenated files. */
function v1Torrent(
  files: { path: string[]; data: Uint8Array }[],
  pieceLength: number,
  extra: Record<string, BEncodable> = {},
) {
  const all = new Uint8Array(files.reduce((n, f) => n + f.data.length, 0));
  let at = 0;
  for (const f of files) {
    all.set(f.data, at);
    at += f.data.length;
  }
  const pieces: Uint8Array[] = [];
  for (let p = 0; p < all.length; p += pieceLength) pieces.push(sha1(all.subarray(p, p + pieceLength)));
  const info: Record<string, BEncodable> = {
    name: 'pack',
    'piece length': pieceLength,
    pieces: new Uint8Array(pieces.flatMap((p) => [...p])),
    files: files.map((f) => ({ length: f.data.length, path: f.path })),
    ...((extra.info as Record<string, BEncodable>) ?? {}),
  };
  const { info: _i, ...top } = extra;
  return { bytes: encodeBencode({ announce: 'http://t.example/announce', ...top, info }), all, info };
}

describe('metainfo v1', () => {
  const rand = prng(7);
  const files = [
    { path: ['a.bin'], data: randomBytes(rand, 40_000) },
    { path: ['sub', 'b.bin'], data: randomBytes(rand, 10) },
    { path: ['empty'], data: new Uint8Array(0) },
    { path: ['c.bin'], data: randomBytes(rand, 30_000) },
  ];

  it('parses files, pieces and the info-hash over the info bytes', async () => {
    const { bytes, info, all } = v1Torrent(files, 16384, {
      'url-list': ['http://ws/'],
      info: { private: 1 },
    });
    const r = await parseTorrent(bytes, nodeHasher);
    if (!r.ok) throw new Error(r.error.message);
    const m = r.value;
    expect(m.version).toBe('v1');
    expect(toHex(m.infoHash.v1!)).toBe(toHex(sha1(encodeBencode(info))));
    expect(m.infoHash.v2).toBeUndefined();
    expect(m.length).toBe(70_010);
    expect(m.pieceCount).toBe(5);
    expect(pieceLengthAt(m, asPieceIndex(4))).toBe(70_010 - 4 * 16384);
    expect(m.files.map((f) => [f.path.join('/'), f.offset, f.length])).toEqual([
      ['a.bin', 0, 40_000],
      ['sub/b.bin', 40_000, 10],
      ['empty', 40_010, 0],
      ['c.bin', 40_010, 30_000],
    ]);
    expect(m.private).toBe(true);
    expect(m.announce).toEqual([['http://t.example/announce']]);
    expect(m.urlList).toEqual(['http://ws/']);
    expect(pieceSlices(m, asPieceIndex(2))).toEqual([
      { fileIndex: 0, fileOffset: 32768, pieceOffset: 0, length: 40_000 - 32768 },
      { fileIndex: 1, fileOffset: 0, pieceOffset: 40_000 - 32768, length: 10 },
      { fileIndex: 3, fileOffset: 0, pieceOffset: 40_010 - 32768, length: 49152 - 40_010 },
    ]);
    for (let i = 0; i < m.pieceCount; i++) {
      const piece = all.subarray(i * 16384, (i + 1) * 16384);
      expect(await verifyPiece(m, asPieceIndex(i), piece, nodeHasher)).toBe(true);
      const bad = piece.slice();
      bad[0]! ^= 1;
      expect(await verifyPiece(m, asPieceIndex(i), bad, nodeHasher)).toBe(false);
    }
  });

  it('hashes the original bytes of a non-canonical info dict (as libtorrent does)', async () => {
    // keys out of order inside info: a re-encoder would sort them and change the hash
    const pieces = sha1(enc('hello'));
    const infoText = `d12:piece lengthi16384e4:name5:hello6:lengthi5e6:pieces20:`;
    const info = new Uint8Array([...enc(infoText), ...pieces, ...enc('e')]);
    const bytes = new Uint8Array([...enc('d4:info'), ...info, ...enc('e')]);
    const r = await parseTorrent(bytes, subtleHasher());
    if (!r.ok) throw new Error(r.error.message);
    expect(toHex(r.value.infoHash.v1!)).toBe(toHex(sha1(info)));
    expect(r.value.infoBytes).toEqual(info);
    const again = await parseInfoDict(info, nodeHasher);
    expect(again.ok && toHex(again.value.infoHash.v1!)).toBe(toHex(sha1(info)));
  });

  it('reads announce-list tiers over announce (BEP 12) and a lone url-list string (BEP 19)', async () => {
    const { bytes } = v1Torrent(files, 16384, {
      'announce-list': [['http://a/1', 'udp://a/2'], [], ['http://b/1']],
      'url-list': 'http://one/',
    });
    const r = await parseTorrent(bytes, nodeHasher);
    expect(r.ok && r.value.announce).toEqual([['http://a/1', 'udp://a/2'], ['http://b/1']]);
    expect(r.ok && r.value.urlList).toEqual(['http://one/']);
  });
});

describe('metainfo: hostile input gives coded errors', () => {
  const good = {
    name: 'x',
    'piece length': 16384,
    pieces: new Uint8Array(20),
    length: 10,
  };
  const cases: [string, BEncodable, string][] = [
    ['not a dict', ['x'], 'BT_METAINFO_MALFORMED'],
    ['no info', { announce: 'x' }, 'BT_METAINFO_NO_INFO'],
    ['info not a dict', { info: 'x' }, 'BT_METAINFO_NO_INFO'],
    ['no name', { info: { ...good, name: undefined } }, 'BT_METAINFO_MALFORMED'],
    ['name ..', { info: { ...good, name: '..' } }, 'BT_METAINFO_BAD_PATH'],
    ['name with slash', { info: { ...good, name: 'a/b' } }, 'BT_METAINFO_BAD_PATH'],
    ['zero piece length', { info: { ...good, 'piece length': 0 } }, 'BT_METAINFO_BAD_PIECE_LENGTH'],
    ['negative length', { info: { ...good, length: -1 } }, 'BT_METAINFO_MALFORMED'],
    ['pieces count wrong', { info: { ...good, length: 20_000 } }, 'BT_METAINFO_BAD_PIECES'],
    ['pieces not bytes', { info: { ...good, pieces: 5 } }, 'BT_METAINFO_MALFORMED'],
    ['length and files', { info: { ...good, files: [{ length: 1, path: ['a'] }] } }, 'BT_METAINFO_MALFORMED'],
    ['files empty', { info: { ...good, length: undefined, files: [] } }, 'BT_METAINFO_MALFORMED'],
    [
      'path escapes',
      { info: { ...good, length: undefined, files: [{ length: 10, path: ['..', 'etc'] }] } },
      'BT_METAINFO_BAD_PATH',
    ],
    [
      'empty path',
      { info: { ...good, length: undefined, files: [{ length: 10, path: [] }] } },
      'BT_METAINFO_BAD_PATH',
    ],
    [
      'separator in component',
      { info: { ...good, length: undefined, files: [{ length: 10, path: ['a/b'] }] } },
      'BT_METAINFO_BAD_PATH',
    ],
    ['meta version 3', { info: { ...good, 'meta version': 3 } }, 'BT_METAINFO_UNSUPPORTED_VERSION'],
    [
      'v2 odd piece length',
      { info: { ...good, 'meta version': 2, 'piece length': 20_000, 'file tree': {} } },
      'BT_METAINFO_BAD_PIECE_LENGTH',
    ],
    [
      'v2 empty tree',
      { info: { name: 'x', 'piece length': 16384, 'meta version': 2, 'file tree': {} } },
      'BT_METAINFO_BAD_FILE_TREE',
    ],
    [
      'v2 short root',
      {
        info: {
          name: 'x',
          'piece length': 16384,
          'meta version': 2,
          'file tree': { a: { '': { length: 5, 'pieces root': 'abc' } } },
        },
      },
      'BT_METAINFO_BAD_FILE_TREE',
    ],
    [
      'v2 file and folder',
      {
        info: {
          name: 'x',
          'piece length': 16384,
          'meta version': 2,
          'file tree': { a: { '': { length: 0 }, b: { '': { length: 0 } } } },
        },
      },
      'BT_METAINFO_BAD_FILE_TREE',
    ],
    [
      'hybrid lists differ',
      {
        info: {
          ...good,
          'meta version': 2,
          'file tree': { y: { '': { length: 10, 'pieces root': new Uint8Array(32) } } },
        },
      },
      'BT_METAINFO_HYBRID_MISMATCH',
    ],
  ];
  for (const [what, value, code] of cases) {
    it(what, async () => {
      const r = await parseTorrent(encodeBencode(value), nodeHasher);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    });
  }

  it('passes bencode errors through', async () => {
    const r = await parseTorrent(enc('d4:infod'), nodeHasher);
    expect(r.ok ? 'ok' : r.error.code).toBe('BT_BENCODE_MALFORMED');
  });

  const seed = testSeed();
  it(`random mutations of a valid torrent never throw (seed ${seed})`, async () => {
    const rand = prng(seed);
    const base = v1Torrent(
      [
        { path: ['a'], data: randomBytes(rand, 3000) },
        { path: ['d', 'b'], data: randomBytes(rand, 100) },
      ],
      16384,
    ).bytes;
    let parsed = 0;
    for (let i = 0; i < 1500; i++) {
      const bytes = base.slice();
      for (let f = 1 + Math.floor(rand() * 4); f > 0; f--)
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        const r = await parseTorrent(bytes, nodeHasher);
        if (r.ok) parsed++;
        else expect(r.error.code).toMatch(/^BT_/);
      } catch (err) {
        throw new Error(`seed ${seed} iteration ${i}: threw ${String(err)}`);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
