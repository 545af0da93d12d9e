import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileServer, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, loadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-session-webseed-');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await dir.remove();
});

const files = [
  { path: ['ep1.mp3'], length: 16 * 32768 },
  { path: ['ep2.mp3'], length: 300_001 },
];

async function read(root: string): Promise<Buffer> {
  return Buffer.concat([
    await readFile(join(root, 'show', 'ep1.mp3')),
    await readFile(join(root, 'show', 'ep2.mp3')),
  ]);
}

function track(h: TorrentHandle): TorrentHandle {
  closers.push(() => h.close());
  return h;
}

describe('web seeds inside the session (BEP 19)', () => {
  it('a web seed as the only source completes the download', async () => {
    const t = await makeV1Torrent(join(dir.path, 'www1'), 'show', files, 32768);
    const www = await fileServer(join(dir.path, 'www1'));
    closers.push(() => www.close());
    const meta = await loadTorrent(t.torrent);
    const h = track(
      await downloadTorrent({
        torrent: { ...meta, urlList: [www.url] },
        dir: join(dir.path, 'o1'),
        host: '127.0.0.1',
      }),
    );
    await waitFor(() => h.session.isDone, 30_000, 'download from the web seed alone', 100);
    expect((await read(join(dir.path, 'o1'))).equals(t.content)).toBe(true);
    expect(h.stats().webSeeds).toBe(1);
    expect(h.stats().downloaded).toBe(t.content.length);
  });

  it('drops a web seed that sends wrong bytes and completes from a good one', async () => {
    const t = await makeV1Torrent(join(dir.path, 'www2'), 'show', files, 32768);
    const liar = await fileServer(join(dir.path, 'www2'), { lie: true });
    const good = await fileServer(join(dir.path, 'www2'));
    closers.push(
      () => liar.close(),
      () => good.close(),
    );
    const meta = await loadTorrent(t.torrent);
    const h = track(
      await downloadTorrent({
        torrent: { ...meta, urlList: [liar.url, good.url] },
        dir: join(dir.path, 'o2'),
        host: '127.0.0.1',
      }),
    );
    const warnings: string[] = [];
    h.session.on('warning', (e) => warnings.push(e.code));
    await waitFor(() => h.session.isDone, 30_000, 'download despite a lying web seed', 100);
    expect((await read(join(dir.path, 'o2'))).equals(t.content)).toBe(true);
    expect(warnings).toContain('BT_WEBSEED_BAD_DATA');
    expect(h.stats().webSeeds).toBe(1);
  });

  it('leaves the web seed alone while a peer serves every piece (the origin is offloaded)', async () => {
    const t = await makeV1Torrent(join(dir.path, 'www4'), 'show', files, 32768);
    const seed = track(await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' }));
    const www = await fileServer(join(dir.path, 'www4'));
    closers.push(() => www.close());
    const meta = await loadTorrent(t.torrent);
    const h = track(
      await downloadTorrent({
        torrent: { ...meta, urlList: [www.url] },
        dir: join(dir.path, 'o4'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: seed.port }],
      }),
    );
    await waitFor(() => h.session.isDone, 30_000, 'download from the peer', 100);
    expect((await read(join(dir.path, 'o4'))).equals(t.content)).toBe(true);
    expect(www.requests).toBe(0);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  });

  it('takes from the web seed the pieces no peer has, and the rest from the peer', async () => {
    const t = await makeV1Torrent(join(dir.path, 'www3'), 'show', files, 32768);
    // The peer has ep1 only (ep2 on its disk is zeros, so those pieces fail its check);
    // the web server has ep2 only. Neither alone can complete the download.
    const peerDir = join(dir.path, 'peer3', 'show');
    await mkdir(peerDir, { recursive: true });
    await writeFile(join(peerDir, 'ep1.mp3'), t.content.subarray(0, files[0]!.length));
    await writeFile(join(peerDir, 'ep2.mp3'), Buffer.alloc(files[1]!.length));
    const seed = track(await seedTorrent({ torrent: t.torrent, dataPath: peerDir, host: '127.0.0.1' }));
    expect(seed.stats().pieces).toBe(16);
    const www = await fileServer(join(dir.path, 'www3'), { only: (p) => p.endsWith('ep2.mp3') });
    closers.push(() => www.close());
    const meta = await loadTorrent(t.torrent);
    const h = track(
      await downloadTorrent({
        torrent: { ...meta, urlList: [www.url] },
        dir: join(dir.path, 'o3'),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: seed.port }],
      }),
    );
    await waitFor(() => h.session.isDone, 30_000, 'download from a peer and a web seed together', 100);
    expect((await read(join(dir.path, 'o3'))).equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThan(0);
  });

  it('a 404 seed and a liar listed before the good seed cannot starve the download', async () => {
    // 512 pieces: before the fix the 404 seed set every piece aside one request at a time and
    // pump() returned instead of moving on, so the good seed idled through each back-off.
    const many = [{ path: ['long.mp3'], length: 512 * 16384 - 1000 }];
    const t = await makeV1Torrent(join(dir.path, 'www5'), 'show', many, 16384);
    const missing = await fileServer(join(dir.path, 'www5'), { only: () => false });
    const liar = await fileServer(join(dir.path, 'www5'), { lie: true });
    const good = await fileServer(join(dir.path, 'www5'));
    closers.push(
      () => missing.close(),
      () => liar.close(),
      () => good.close(),
    );
    const meta = await loadTorrent(t.torrent);
    expect(meta.pieceCount).toBe(512);
    const h = track(
      await downloadTorrent({
        torrent: { ...meta, urlList: [missing.url, liar.url, good.url] },
        dir: join(dir.path, 'o5'),
        host: '127.0.0.1',
      }),
    );
    const warnings: string[] = [];
    h.session.on('warning', (e) => warnings.push(e.code));
    await waitFor(() => h.session.isDone, 45_000, 'download past a 404 seed and a liar', 100);
    expect((await readFile(join(dir.path, 'o5', 'show', 'long.mp3'))).equals(t.content)).toBe(true);
    // The liar is dropped after its first bad piece: only the requests it had in flight then.
    expect(warnings).toContain('BT_WEBSEED_BAD_DATA');
    expect(liar.requests).toBeLessThanOrEqual(4);
    // The 404 seed is backed off as a whole (2 s, doubling): a handful of requests, not one
    // per piece, and every piece came from the good seed.
    expect(missing.requests).toBeLessThanOrEqual(12);
    expect(good.requests).toBeGreaterThanOrEqual(512 - liar.requests);
    expect(h.stats().webSeeds).toBe(2);
  });
});
