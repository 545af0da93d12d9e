import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMagnet, type Metainfo } from '../src/index.ts';
import { downloadTorrent, loadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { createTorrent } from '../src/node/index.ts';
import { libtorrent, requireLibtorrent } from './libtorrent.ts';
import { LtPeer } from './lt-peer.ts';
import { prng, randomBytes } from './prng.ts';

/**
 * libtorrent 2.0 (Debian's python3-libtorrent, the library inside qBittorrent) against our
 * engine, both ways: v1, v2-only and hybrid torrents made by libtorrent and by us, 16 KiB and
 * 16 MiB pieces, a multi-file torrent with nested folders, an empty file and a unicode name,
 * as a .torrent and as bare magnets (btih, btmh). Every download is checked byte for byte.
 */
const p = requireLibtorrent('libtorrent interop');

type Version = 'v1' | 'v2' | 'hybrid';
const ltFlags: Record<Version, string> = {
  v1: 'lt.create_torrent.v1_only',
  v2: 'lt.create_torrent.v2_only',
  hybrid: '0',
};

/** Every file below `root`, relative path -> bytes. */
function tree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(root, path), readFileSync(path));
    }
  };
  walk(root);
  return out;
}

function expectSameTree(got: string, want: string): void {
  if (statSync(want).isFile()) {
    expect(readFileSync(got).equals(readFileSync(want)), `${got} differs`).toBe(true);
    return;
  }
  const a = tree(got);
  const b = tree(want);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of b) expect(a.get(k)?.equals(v), `${k} differs`).toBe(true);
}

describe.skipIf(p.skip)('libtorrent 2.0 <-> swarmcast', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const open: Array<{ close(): Promise<void> }> = [];
  const rand = prng(1852);
  let n = 0;
  const fresh = (what: string) => {
    const path = join(dir.path, `${what}-${n++}`);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const put = (rel: string, size: number) => {
    const path = join(dir.path, 'src', rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, randomBytes(rand, size));
  };

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-lt-interop-');
    put('pack/a.bin', 100_000);
    put('pack/ünï/cöde — épisode.mp3', 40_000);
    put('pack/nested/deep/x.bin', 70_001);
    put('pack/empty.txt', 0);
    put('pack/tiny.txt', 33);
    put('single.mp3', 300_001);
  });
  afterAll(async () => {
    for (const o of open.reverse()) await o.close().catch(() => {});
    await dir?.remove();
  });
  const track = <T extends { close(): Promise<void> }>(o: T): T => {
    open.push(o);
    return o;
  };

  /** The .torrent of `input`, made by libtorrent or by us. */
  async function make(input: string, version: Version, pieceLength: number, by: 'lt' | 'us') {
    const out = join(dir.path, `${input}-${version}-${pieceLength}-${by}.torrent`);
    if (by === 'lt') {
      libtorrent(
        `fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, int(sys.argv[3]), flags=${ltFlags[version]})
lt.set_piece_hashes(ct, sys.argv[4])
open(sys.argv[2], 'wb').write(lt.bencode(ct.generate()))`,
        [join(dir.path, 'src', input), out, String(pieceLength), join(dir.path, 'src')],
      );
    } else {
      const made = await createTorrent(join(dir.path, 'src', input), { version, pieceLength });
      if (!made.ok) throw new Error(made.error.message);
      writeFileSync(out, made.value.torrent);
    }
    return { path: out, meta: await loadTorrent(out) };
  }

  const magnets = (meta: Metainfo): Array<[string, string]> => {
    const bare = (v1: boolean, v2: boolean) =>
      formatMagnet({
        infoHash: {
          ...(v1 && meta.infoHash.v1 ? { v1: meta.infoHash.v1 } : {}),
          ...(v2 && meta.infoHash.v2 ? { v2: meta.infoHash.v2 } : {}),
        },
        trackers: [],
        webSeeds: [],
        peers: [],
      });
    const out: Array<[string, string]> = [];
    if (meta.infoHash.v1) out.push(['btih magnet', bare(true, false)]);
    if (meta.infoHash.v2) out.push(['btmh magnet', bare(false, true)]);
    return out;
  };

  async function weDownloadFromLibtorrent(torrent: string, meta: Metainfo, input: string, magnet?: string) {
    const seeder = track(await LtPeer.start({ torrent, save: join(dir.path, 'src'), seed: true }));
    await seeder.until((l) => l.progress === 1, 'libtorrent checked its data');
    const out = fresh('ours');
    const h: TorrentHandle = track(
      await downloadTorrent({
        torrent: magnet ?? meta,
        dir: out,
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: seeder.port }],
        webSeeds: false,
      }),
    );
    await new Promise<void>((resolve) =>
      h.session.isDone ? resolve() : h.session.on('done', () => resolve()),
    );
    await h.close();
    await seeder.close();
    expectSameTree(join(out, input), join(dir.path, 'src', input));
  }

  async function libtorrentDownloadsFromUs(torrent: string, meta: Metainfo, input: string, magnet?: string) {
    const seed = track(
      await seedTorrent({ torrent: meta, dataPath: join(dir.path, 'src', input), host: '127.0.0.1' }),
    );
    const out = fresh('lt');
    const leech = track(
      await LtPeer.start({
        ...(magnet ? { magnet } : { torrent }),
        save: out,
        seed: false,
        peers: [{ host: '127.0.0.1', port: seed.port }],
      }),
    );
    await leech.done();
    await leech.close();
    await seed.close();
    expectSameTree(join(out, input), join(dir.path, 'src', input));
  }

  const cases: Array<[string, Version, number, 'lt' | 'us']> = [];
  for (const by of ['lt', 'us'] as const)
    for (const version of ['v1', 'v2', 'hybrid'] as const)
      for (const pieceLength of [16384, 16 * 1024 * 1024]) cases.push(['pack', version, pieceLength, by]);
  for (const version of ['v1', 'v2', 'hybrid'] as const) cases.push(['single.mp3', version, 16384, 'us']);

  for (const [input, version, pieceLength, by] of cases) {
    const label = `${input}, ${version}, ${pieceLength / 1024} KiB pieces, made by ${by === 'lt' ? 'libtorrent' : 'us'}`;
    it(`${label}: .torrent and bare magnets, both ways`, async () => {
      const t = await make(input, version, pieceLength, by);
      await weDownloadFromLibtorrent(t.path, t.meta, input);
      await libtorrentDownloadsFromUs(t.path, t.meta, input);
      for (const [, magnet] of magnets(t.meta)) {
        await weDownloadFromLibtorrent(t.path, t.meta, input, magnet);
        await libtorrentDownloadsFromUs(t.path, t.meta, input, magnet);
      }
    });
  }
});
