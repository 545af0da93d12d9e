import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const handles: TorrentHandle[] = [];
beforeAll(async () => {
  dir = await scratchDir();
});
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await dir.remove();
});

function done(h: TorrentHandle): Promise<void> {
  return new Promise((resolve) => {
    if (h.session.isDone) resolve();
    h.session.on('done', resolve);
  });
}

describe('sessions over TCP with files on disk', () => {
  it('seeds a multi-file torrent and downloads it byte for byte, then resumes without downloading', async () => {
    const src = join(dir.path, 'src');
    const t = await makeV1Torrent(
      src,
      'album',
      [
        { path: ['a.bin'], length: 700_000 },
        { path: ['sub', 'b.bin'], length: 1 },
        { path: ['c.bin'], length: 1_300_003 },
      ],
      64 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrentPath, dataPath: t.dataPath, host: '127.0.0.1' });
    handles.push(seed);
    expect(seed.session.isDone).toBe(true);
    expect(seed.infoHash).toBe(t.infoHash);

    const out = join(dir.path, 'out');
    const leech = await downloadTorrent({
      torrent: t.torrent,
      dir: out,
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port: seed.port }],
    });
    handles.push(leech);
    await done(leech);
    const got = Buffer.concat([
      await readFile(join(out, 'album', 'a.bin')),
      await readFile(join(out, 'album', 'sub', 'b.bin')),
      await readFile(join(out, 'album', 'c.bin')),
    ]);
    expect(got.equals(t.content)).toBe(true);
    await leech.close();

    // Restart: everything is on disk, so it is done without a single peer.
    const again = await downloadTorrent({ torrent: t.torrent, dir: out, host: '127.0.0.1' });
    handles.push(again);
    expect(again.session.isDone).toBe(true);
    expect(again.stats().downloaded).toBe(0);
    await again.close();

    // Damage one piece on disk: the restart re-downloads just that piece.
    const c = join(out, 'album', 'c.bin');
    const bytes = await readFile(c);
    bytes[100_000] = (bytes[100_000] ?? 0) ^ 0xff;
    await writeFile(c, bytes);
    const repair = await downloadTorrent({
      torrent: t.torrent,
      dir: out,
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port: seed.port }],
    });
    handles.push(repair);
    expect(repair.session.isDone).toBe(false);
    await done(repair);
    expect(repair.stats().downloaded).toBeLessThanOrEqual(64 * 1024 * 2);
    expect((await readFile(c)).equals(t.content.subarray(700_001))).toBe(true);
    await repair.close();
    await rm(out, { recursive: true });
  });
});
