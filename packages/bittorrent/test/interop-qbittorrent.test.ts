import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { createTorrent } from '../src/node/create-torrent.ts';
import { qbittorrent } from './qbittorrent-client.ts';
import { makeV1Torrent } from './torrent-files.ts';

const p = requireBinaries('qBittorrent interop', 'qbittorrent-nox');

describe.skipIf(p.skip)('interop with qBittorrent (libtorrent 2.0)', () => {
  let dir: { path: string; remove(): Promise<void> };
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-qbt-');
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await dir.remove();
  });

  it('qbittorrent-nox seeds, we download from a bare magnet link byte for byte', async () => {
    const src = join(dir.path, 'src');
    const t = await makeV1Torrent(
      src,
      'show',
      [
        { path: ['ep1.mp3'], length: 1_500_000 },
        { path: ['art', 'cover.jpg'], length: 33_333 },
        { path: ['ep2.mp3'], length: 2_100_000 },
      ],
      256 * 1024,
    );
    const qbt = await qbittorrent(join(dir.path, 'profile'), src);
    closers.push(() => qbt.stop());
    await qbt.add(t.torrent);
    await waitFor(
      async () => {
        const i = await qbt.info(t.infoHash);
        return i !== undefined && i.progress === 1 && /UP$|^uploading$/.test(i.state);
      },
      60_000,
      'qBittorrent to check the data and seed',
      300,
    );

    // Only the info-hash and where the seeder is: the metadata must come from qBittorrent.
    const leech: TorrentHandle = await downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${t.infoHash}&x.pe=127.0.0.1:${qbt.port}`,
      dir: join(dir.path, 'out'),
      host: '127.0.0.1',
      signal: AbortSignal.timeout(60_000),
    });
    closers.push(() => leech.close());
    expect(leech.meta.name).toBe('show');
    expect(leech.meta.files.map((f) => f.path.join('/'))).toEqual(['ep1.mp3', 'art/cover.jpg', 'ep2.mp3']);
    await waitFor(
      () => {
        if (!leech.session.isDone && leech.stats().peers === 0)
          leech.session.addPeers([{ host: '127.0.0.1', port: qbt.port }]);
        return leech.session.isDone;
      },
      60_000,
      'the download from qBittorrent',
      300,
    );
    const got = Buffer.concat([
      await readFile(join(dir.path, 'out', 'show', 'ep1.mp3')),
      await readFile(join(dir.path, 'out', 'show', 'art', 'cover.jpg')),
      await readFile(join(dir.path, 'out', 'show', 'ep2.mp3')),
    ]);
    expect(got.equals(t.content)).toBe(true);
  }, 150_000);

  it('qbittorrent-nox seeds a hybrid torrent, we download from a magnet link with btih and btmh', async () => {
    const src = join(dir.path, 'h-src');
    const t = await makeV1Torrent(
      src,
      'pod',
      [
        { path: ['a.mp3'], length: 700_000 },
        { path: ['b.mp3'], length: 300_000 },
      ],
      64 * 1024,
    );
    // Same files as a hybrid torrent (libtorrent's layout, pad files included).
    const created = await createTorrent(t.dataPath, { version: 'hybrid', pieceLength: 64 * 1024 });
    if (!created.ok) throw new Error(created.error.message);
    const made = created.value;
    const v1 = toHex(made.infoHash.v1!);
    const v2 = toHex(made.infoHash.v2!);
    const qbt = await qbittorrent(join(dir.path, 'h-profile'), src);
    closers.push(() => qbt.stop());
    await qbt.add(made.torrent);
    await waitFor(
      async () => {
        const i = await qbt.info(v1);
        return i !== undefined && i.progress === 1 && /UP$|^uploading$/.test(i.state);
      },
      60_000,
      'qBittorrent to check the hybrid torrent and seed',
      300,
    );
    const leech: TorrentHandle = await downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2}&x.pe=127.0.0.1:${qbt.port}`,
      dir: join(dir.path, 'h-out'),
      host: '127.0.0.1',
      signal: AbortSignal.timeout(60_000),
    });
    closers.push(() => leech.close());
    expect(leech.meta.version).toBe('hybrid');
    await waitFor(
      () => {
        if (!leech.session.isDone && leech.stats().peers === 0)
          leech.session.addPeers([{ host: '127.0.0.1', port: qbt.port }]);
        return leech.session.isDone;
      },
      60_000,
      'the hybrid download from qBittorrent',
      300,
    );
    const got = Buffer.concat([
      await readFile(join(dir.path, 'h-out', 'pod', 'a.mp3')),
      await readFile(join(dir.path, 'h-out', 'pod', 'b.mp3')),
    ]);
    expect(got.equals(t.content)).toBe(true);
  }, 150_000);

  it('we seed, qbittorrent-nox downloads from a bare magnet link: it gets the metadata from us (BEP 9)', async () => {
    const src = join(dir.path, 'u-src');
    const t = await makeV1Torrent(
      src,
      'feed',
      [
        { path: ['ep1.mp3'], length: 900_000 },
        { path: ['ep2.mp3'], length: 400_000 },
      ],
      32 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' });
    closers.push(() => seed.close());
    const into = join(dir.path, 'u-out');
    const qbt = await qbittorrent(join(dir.path, 'u-profile'), into);
    closers.push(() => qbt.stop());
    await qbt.addMagnet(`magnet:?xt=urn:btih:${t.infoHash}&dn=feed&x.pe=127.0.0.1:${seed.port}`, into);
    // x.pe is enough for libtorrent; adding the peer again covers a refused first dial.
    await qbt.completeFrom(
      t.infoHash,
      `127.0.0.1:${seed.port}`,
      90_000,
      'qBittorrent to fetch the metadata from us and download',
      1000,
    );
    const got = Buffer.concat([
      await readFile(join(into, 'feed', 'ep1.mp3')),
      await readFile(join(into, 'feed', 'ep2.mp3')),
    ]);
    expect(got.equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  }, 150_000);
});
