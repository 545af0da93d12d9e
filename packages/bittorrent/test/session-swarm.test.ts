import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const handles: TorrentHandle[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-swarm-');
});
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await dir.remove();
});

describe('a loopback swarm of our own nodes', () => {
  it('1 seed and 9 leechers all complete, and the leechers trade (seed uploads < 2x the content)', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src'),
      'ep.mp3',
      [{ path: [], length: 8 * 1024 * 1024 }],
      64 * 1024,
    );
    // The seed's upload is capped, as a home uplink would be: the leechers' links are not,
    // so pieces travel faster between leechers than from the seed, and they must trade.
    const seed = await seedTorrent({
      torrent: t.torrentPath,
      dataPath: t.dataPath,
      host: '127.0.0.1',
      uploadRateLimit: 2 * 1024 * 1024,
    });
    handles.push(seed);
    const leechers: TorrentHandle[] = [];
    for (let i = 0; i < 9; i++) {
      const h = await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, `l${i}`),
        host: '127.0.0.1',
        peers: [{ host: '127.0.0.1', port: seed.port }],
      });
      handles.push(h);
      leechers.push(h);
    }
    for (const h of leechers) {
      h.session.addPeers(leechers.filter((o) => o !== h).map((o) => ({ host: '127.0.0.1', port: o.port })));
    }
    await Promise.race([
      Promise.all(
        leechers.map(
          (h) => new Promise<void>((r) => (h.session.isDone ? r() : h.session.on('done', () => r()))),
        ),
      ),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('swarm did not complete in 50 s')), 50_000),
      ),
    ]);
    for (let i = 0; i < 9; i++) {
      expect((await readFile(join(dir.path, `l${i}`, 'ep.mp3'))).equals(t.content)).toBe(true);
    }
    const uploaded = seed.stats().uploaded;
    const traded = leechers.reduce((n, h) => n + h.stats().uploaded, 0);
    console.log(
      `seed uploaded ${(uploaded / t.content.length).toFixed(2)}x the content; leechers ${(traded / t.content.length).toFixed(2)}x`,
    );
    expect(uploaded).toBeLessThan(2 * t.content.length);
    expect(traded).toBeGreaterThan(0);
  }, 60_000);
});
