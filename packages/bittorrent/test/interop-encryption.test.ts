import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinaries, scratchDir, transmissionDaemon, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { requireLibtorrent } from './libtorrent.ts';
import { LtPeer } from './lt-peer.ts';
import { qbittorrent } from './qbittorrent-client.ts';
import { makeV1Torrent } from './torrent-files.ts';

/**
 * Protocol encryption (MSE/PE) against clients set to REQUIRE it (the usual advice against
 * throttling ISPs): qBittorrent (Session\Encryption=1), Transmission (encryption 2) and
 * libtorrent itself (forced, RC4), each way, byte for byte. Our side runs with
 * `encryption: 'require'`, so a plaintext fallback cannot make a test pass.
 */
const bins = requireBinaries(
  'encryption interop',
  'qbittorrent-nox',
  'transmission-daemon',
  'transmission-remote',
);
const lt = requireLibtorrent('encryption interop');

describe.skipIf(bins.skip || lt.skip)('MSE/PE with clients that require encryption', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const closers: (() => Promise<void>)[] = [];
  let t: Awaited<ReturnType<typeof makeV1Torrent>>;
  const files = [
    { path: ['ep1.mp3'], length: 1_200_000 },
    { path: ['notes', 'ep1.txt'], length: 20_001 },
  ];
  const content = (root: string) =>
    Promise.all(files.map((f) => readFile(join(root, 'show', ...f.path)))).then((b) => Buffer.concat(b));

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-mse-');
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

  it('qBittorrent (encryption required) seeds; we dial it encrypted and download', async () => {
    const qbt = await qbittorrent(join(dir.path, 'qbt1'), join(dir.path, 'src'), { requireEncryption: true });
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
        peers: [{ host: '127.0.0.1', port: qbt.port }],
        encryption: 'require',
      }),
    );
    await done(h);
    expect((await content(join(dir.path, 'o1'))).equals(t.content)).toBe(true);
  });

  it('we seed (encryption required) and dial qBittorrent (required), which downloads', async () => {
    const out = join(dir.path, 'qbt2-out');
    const qbt = await qbittorrent(join(dir.path, 'qbt2'), out, { requireEncryption: true });
    closers.push(() => qbt.stop());
    await qbt.add(t.torrent);
    track(
      await seedTorrent({
        torrent: t.torrent,
        dataPath: join(dir.path, 'src', 'show'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: qbt.port }],
        encryption: 'require',
      }),
    );
    await waitFor(
      async () => (await qbt.info(t.infoHash))?.progress === 1,
      60_000,
      'qBittorrent to finish',
      250,
    );
    expect((await content(out)).equals(t.content)).toBe(true);
  });

  it('libtorrent (encryption forced) dials our seeder (required) and downloads', async () => {
    const seed = track(
      await seedTorrent({
        torrent: t.torrent,
        dataPath: join(dir.path, 'src', 'show'),
        host: '127.0.0.1',
        encryption: 'require',
      }),
    );
    const out = join(dir.path, 'lt-out');
    const leech = await LtPeer.start({
      torrent: t.torrentPath,
      save: out,
      seed: false,
      encryption: 'require',
      peers: [{ host: '127.0.0.1', port: seed.port }],
    });
    closers.push(() => leech.close());
    await leech.done();
    expect((await content(out)).equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  });

  it('Transmission (encryption required) seeds; we dial it encrypted and download', async () => {
    const tr = await transmissionDaemon(join(dir.path, 'tr1'), { requireEncryption: true });
    closers.push(() => tr.stop());
    await cp(join(dir.path, 'src', 'show'), join(tr.downloadDir, 'show'), { recursive: true });
    await tr.add(t.torrentPath);
    const h = track(
      await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'o3'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: tr.peerPort }],
        encryption: 'require',
      }),
    );
    await done(h);
    expect((await content(join(dir.path, 'o3'))).equals(t.content)).toBe(true);
  });

  it('we seed (encryption required) and dial Transmission (required), which downloads', async () => {
    const tr = await transmissionDaemon(join(dir.path, 'tr2'), { requireEncryption: true });
    closers.push(() => tr.stop());
    await tr.add(t.torrentPath);
    track(
      await seedTorrent({
        torrent: t.torrent,
        dataPath: join(dir.path, 'src', 'show'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: tr.peerPort }],
        encryption: 'require',
      }),
    );
    await waitFor(
      async () => (await content(tr.downloadDir).catch(() => Buffer.alloc(0))).equals(t.content),
      90_000,
      'Transmission to finish',
      500,
    );
  });
});
