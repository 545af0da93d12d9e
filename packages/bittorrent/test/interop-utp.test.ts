import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { qbittorrent } from './qbittorrent-client.ts';
import { makeV1Torrent } from './torrent-files.ts';

/**
 * uTP (BEP 29) against libtorrent's own implementation: qBittorrent set to uTP only
 * (Session\BTProtocol=UTP) and our node with `transports: ['utp']` (no TCP listener, no TCP
 * dial), so no TCP fallback can make a test pass. Each way of dialling, byte for byte.
 */
const bins = requireBinaries('uTP interop', 'qbittorrent-nox');

describe.skipIf(bins.skip)('uTP with qBittorrent set to uTP only', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const closers: (() => Promise<void>)[] = [];
  let t: Awaited<ReturnType<typeof makeV1Torrent>>;
  const files = [
    { path: ['ep1.mp3'], length: 2_500_000 },
    { path: ['notes', 'ep1.txt'], length: 20_001 },
  ];
  const content = (root: string) =>
    Promise.all(files.map((f) => readFile(join(root, 'show', ...f.path)))).then((b) => Buffer.concat(b));

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-utp-interop-');
    t = await makeV1Torrent(join(dir.path, 'src'), 'show', files, 64 * 1024);
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await dir?.remove();
  });
  const track = (h: TorrentHandle) => {
    closers.push(() => h.close());
    return h;
  };
  const done = (h: TorrentHandle) =>
    new Promise<void>((r) => (h.session.isDone ? r() : h.session.on('done', () => r())));

  it('qBittorrent (uTP only) seeds; we dial it over uTP and download', async () => {
    const qbt = await qbittorrent(join(dir.path, 'qbt1'), join(dir.path, 'src'), { protocol: 'UTP' });
    closers.push(() => qbt.stop());
    await qbt.add(t.torrent);
    await waitFor(
      async () => (await qbt.info(t.infoHash))?.progress === 1,
      30_000,
      'qBittorrent checked',
      200,
    );
    const h = track(
      await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'o1'),
        host: '127.0.0.1',
        transports: ['utp'],
        encryption: 'off',
        peers: [{ host: '127.0.0.1', port: qbt.port }],
      }),
    );
    await done(h);
    expect((await content(join(dir.path, 'o1'))).equals(t.content)).toBe(true);
  }, 120_000);

  it('we seed over uTP and dial qBittorrent (uTP only), which downloads', async () => {
    const out = join(dir.path, 'qbt2-out');
    const qbt = await qbittorrent(join(dir.path, 'qbt2'), out, { protocol: 'UTP' });
    closers.push(() => qbt.stop());
    await qbt.add(t.torrent);
    const seed = track(
      await seedTorrent({
        torrent: t.torrent,
        dataPath: join(dir.path, 'src', 'show'),
        host: '127.0.0.1',
        transports: ['utp'],
        encryption: 'off',
        peers: [{ host: '127.0.0.1', port: qbt.port }],
      }),
    );
    await waitFor(
      async () => (await qbt.info(t.infoHash))?.progress === 1,
      90_000,
      'qBittorrent to finish',
      250,
    );
    expect((await content(out)).equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  }, 120_000);

  it('qBittorrent (uTP only) dials our uTP seeder and downloads', async () => {
    const out = join(dir.path, 'qbt3-out');
    const qbt = await qbittorrent(join(dir.path, 'qbt3'), out, { protocol: 'UTP' });
    closers.push(() => qbt.stop());
    const seed = track(
      await seedTorrent({
        torrent: t.torrent,
        dataPath: join(dir.path, 'src', 'show'),
        host: '127.0.0.1',
        transports: ['utp'],
        encryption: 'off',
      }),
    );
    await qbt.add(t.torrent);
    await qbt.completeFrom(t.infoHash, `127.0.0.1:${seed.port}`, 90_000, 'qBittorrent to finish');
    expect((await content(out)).equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  }, 120_000);
});
