import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const handles: TorrentHandle[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-pex-');
});
afterAll(async () => {
  for (const h of handles.reverse()) await h.close().catch(() => {});
  await dir.remove();
});

describe('peer exchange in the session (BEP 11)', () => {
  it('peers learnt only by PEX are dialled: C knows only B, B knows the seed, C and the seed connect', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src'),
      'ep.mp3',
      [{ path: [], length: 2_000_000 }],
      32 * 1024,
    );
    // A capped seed keeps B downloading (and so connected to it) while C joins.
    const seed = await seedTorrent({
      torrent: t.torrent,
      dataPath: t.dataPath,
      host: '127.0.0.1',
      uploadRateLimit: 300_000,
    });
    handles.push(seed);
    const b = await downloadTorrent({
      torrent: t.torrent,
      dir: join(dir.path, 'b'),
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port: seed.port }],
    });
    handles.push(b);
    await waitFor(() => b.stats().peers === 1, 10_000, 'B to connect to the seed', 50);
    const c = await downloadTorrent({
      torrent: t.torrent,
      dir: join(dir.path, 'c'),
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port: b.port }],
    });
    handles.push(c);
    // B tells C about the seed and the seed about C, a second after their extension
    // handshakes. C knew only B, so a second peer of C's came by PEX (C dialled the seed, or
    // the seed dialled C: the peer-id tie-break keeps one of the two).
    await waitFor(() => c.stats().peers >= 2, 30_000, 'C to connect to the seed through PEX', 100);
    await waitFor(() => c.session.isDone, 30_000, 'C to finish', 100);
    expect((await readFile(join(dir.path, 'c', 'ep.mp3'))).equals(t.content)).toBe(true);
  }, 75_000);
});
