import { describe, expect, it } from 'vitest';
import {
  createTorrentFromMemory,
  decodeBencode,
  isDict,
  parseTorrent,
  subtleHasher,
  toHex,
  v1OnlyTorrent,
} from '../src/index.ts';
import { nodeHasher } from '../src/node/index.ts';

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
const files = [
  { path: ['ep1.mp3'], data: bytes(50_000, 1) },
  { path: ['art', 'cover.jpg'], data: bytes(7_777, 2) },
  { path: ['ep2.mp3'], data: bytes(40_001, 3) },
];

async function make(version: 'v1' | 'v2' | 'hybrid', list = files, name = 'show', singleFile = false) {
  const made = await createTorrentFromMemory(
    name,
    list,
    {
      version,
      singleFile,
      pieceLength: 16384,
      announce: [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']],
      webSeeds: ['http://127.0.0.1:3/media/'],
      private: true,
    },
    subtleHasher(),
  );
  if (!made.ok) throw new Error(made.error.message);
  const parsed = await parseTorrent(made.value.torrent, nodeHasher);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

describe('v1OnlyTorrent: a v1 torrent for legacy clients from a hybrid one', () => {
  it('keeps pieces, pad files, layout, trackers, web seeds and private; drops the v2 half', async () => {
    const hybrid = await make('hybrid');
    const derived = v1OnlyTorrent(hybrid);
    if (!derived.ok) throw new Error(derived.error.message);
    const v1 = await parseTorrent(derived.value, nodeHasher);
    if (!v1.ok) throw new Error(v1.error.message);
    const m = v1.value;
    expect(m.version).toBe('v1');
    expect(m.infoHash.v2).toBeUndefined();
    expect(toHex(m.pieces!)).toBe(toHex(hybrid.pieces!));
    expect(m.pieceLength).toBe(hybrid.pieceLength);
    expect(m.length).toBe(hybrid.length);
    // The same byte space, pad files (BEP 47) included, so one copy of the data seeds both.
    const shape = (x: typeof m) => x.files.map((f) => [f.path.join('/'), f.length, f.offset, f.pad]);
    expect(shape(m)).toEqual(shape(hybrid));
    expect(m.files.some((f) => f.pad)).toBe(true);
    expect(m).toMatchObject({
      name: 'show',
      private: true,
      announce: [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']],
      urlList: ['http://127.0.0.1:3/media/'],
    });
    // A torrent of its own: no `file tree`, no `meta version`, no `piece layers`.
    const top = decodeBencode(derived.value);
    if (!top.ok || !isDict(top.value.value)) throw new Error('not a dict');
    expect(Object.keys(top.value.value).sort()).toEqual(['announce', 'announce-list', 'info', 'url-list']);
    const info = top.value.value.info;
    if (!isDict(info)) throw new Error('no info');
    expect(Object.keys(info).sort()).toEqual(['files', 'name', 'piece length', 'pieces', 'private']);
    expect(toHex(m.infoHash.v1!)).not.toBe(toHex(hybrid.infoHash.v1!));
  });

  it('a single-file hybrid gives a single-file v1 torrent (length, no files list)', async () => {
    const hybrid = await make('hybrid', [{ path: ['ep.mp3'], data: bytes(70_000, 9) }], 'ep.mp3', true);
    expect(hybrid.singleFile).toBe(true);
    const derived = v1OnlyTorrent(hybrid);
    if (!derived.ok) throw new Error(derived.error.message);
    const v1 = await parseTorrent(derived.value, nodeHasher);
    if (!v1.ok) throw new Error(v1.error.message);
    expect(v1.value).toMatchObject({ version: 'v1', singleFile: true, length: 70_000 });
    expect(toHex(v1.value.pieces!)).toBe(toHex(hybrid.pieces!));
  });

  it('a v1 torrent comes back with the same info-hash; a v2-only one is refused with a code', async () => {
    const v1 = await make('v1');
    const again = v1OnlyTorrent(v1);
    if (!again.ok) throw new Error(again.error.message);
    const parsed = await parseTorrent(again.value, nodeHasher);
    expect(parsed.ok && toHex(parsed.value.infoHash.v1!)).toBe(toHex(v1.infoHash.v1!));
    const v2 = v1OnlyTorrent(await make('v2'));
    expect(v2.ok || v2.error.code).toBe('BT_METAINFO_NOT_HYBRID');
  });
});
