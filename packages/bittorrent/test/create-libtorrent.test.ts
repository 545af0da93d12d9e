import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPieceIndex, parseTorrent, pieceSlices, toHex, verifyPiece } from '../src/index.ts';
import { createTorrent, nodeHasher } from '../src/node/index.ts';
import { libtorrent, requireLibtorrent } from './libtorrent.ts';
import { prng, randomBytes } from './prng.ts';

const p = requireLibtorrent('torrents made by libtorrent');

/** Makes a torrent of `path` with libtorrent itself (flags: v1_only, v2_only or 0 = hybrid). */
const makeWithLibtorrent = (path: string, out: string, pieceLength: number, flags: string) =>
  libtorrent(
    `fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, int(sys.argv[3]), flags=${flags})
ct.add_tracker('http://127.0.0.1:1/announce')
lt.set_piece_hashes(ct, sys.argv[4])
open(sys.argv[2], 'wb').write(lt.bencode(ct.generate()))`,
    [path, out, String(pieceLength), join(path, '..')],
  );

describe.skipIf(p.skip)('create and parse: libtorrent 2.0 v1, v2 and hybrid torrents', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const rand = prng(2052);
  const put = (rel: string, size: number) => {
    const path = join(dir.path, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, randomBytes(rand, size));
  };

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-libtorrent-');
    put('one.bin', 300_000);
    put('tiny.bin', 100);
    put('pack/a.bin', 100_000);
    put('pack/sub/b.bin', 40_000);
    put('pack/sub.txt', 33);
    put('pack/10', 5);
    put('pack/empty', 0);
    put('pack/exact.bin', 65536);
    put('pack/z/last.bin', 70_001);
  });
  afterAll(async () => dir?.remove());

  const inputs = ['one.bin', 'tiny.bin', 'pack'];
  const versions = [
    ['v1', 'lt.create_torrent.v1_only'],
    ['v2', 'lt.create_torrent.v2_only'],
    ['hybrid', '0'],
  ] as const;
  for (const input of inputs) {
    for (const pieceLength of [16384, 65536]) {
      for (const [version, flags] of versions) {
        it(`${input}, ${version}, ${pieceLength / 1024} KiB pieces: we parse and verify libtorrent's${version === 'v1' ? '' : ', and make the same info-hashes'}`, async () => {
          const out = join(dir.path, `lt-${input}-${version}-${pieceLength}.torrent`);
          makeWithLibtorrent(join(dir.path, input), out, pieceLength, flags);
          const theirs = await parseTorrent(readFileSync(out), nodeHasher);
          if (!theirs.ok) throw new Error(theirs.error.message);
          const m = theirs.value;
          expect(m.version).toBe(version);
          expect(m.announce).toEqual([['http://127.0.0.1:1/announce']]);
          // every piece of the real files verifies against libtorrent's hashes
          for (let i = 0; i < m.pieceCount; i++) {
            const size = Math.min(m.pieceLength, m.length - i * m.pieceLength);
            const data = new Uint8Array(size);
            for (const s of pieceSlices(m, asPieceIndex(i))) {
              const f = m.files[s.fileIndex]!;
              if (f.pad) continue;
              const file = readFileSync(
                m.singleFile ? join(dir.path, input) : join(dir.path, input, ...f.path),
              );
              data.set(file.subarray(s.fileOffset, s.fileOffset + s.length), s.pieceOffset);
            }
            expect(await verifyPiece(m, asPieceIndex(i), data, nodeHasher), `piece ${i}`).toBe(true);
          }
          if (version === 'v1') return; // libtorrent's v1-only keeps directory order; ours keeps mktorrent's
          const ours = await createTorrent(join(dir.path, input), { version, pieceLength, threads: 2 });
          if (!ours.ok) throw new Error(ours.error.message);
          expect(toHex(ours.value.infoBytes)).toBe(toHex(m.infoBytes));
          expect(ours.value.infoHash.v2 && toHex(ours.value.infoHash.v2)).toBe(toHex(m.infoHash.v2!));
          if (version === 'hybrid')
            expect(ours.value.infoHash.v1 && toHex(ours.value.infoHash.v1)).toBe(toHex(m.infoHash.v1!));
          const reparsed = await parseTorrent(ours.value.torrent, nodeHasher);
          expect(reparsed.ok && reparsed.value.pieceLayers.size).toBe(m.pieceLayers.size);
        });
      }
    }
  }

  it("automatic piece length: our hybrid of the folder equals libtorrent's made with piece size 0", async () => {
    const out = join(dir.path, 'lt-auto.torrent');
    makeWithLibtorrent(join(dir.path, 'pack'), out, 0, '0');
    const theirs = await parseTorrent(readFileSync(out), nodeHasher);
    if (!theirs.ok) throw new Error(theirs.error.message);
    const ours = await createTorrent(join(dir.path, 'pack'), { version: 'hybrid', threads: 1 });
    if (!ours.ok) throw new Error(ours.error.message);
    expect(ours.value.plan.pieceLength).toBe(theirs.value.pieceLength);
    expect(toHex(ours.value.infoBytes)).toBe(toHex(theirs.value.infoBytes));
  });
});
