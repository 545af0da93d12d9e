import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  requireBinaries,
  scratchDir,
  type TransmissionDaemon,
  transmissionDaemon,
  waitFor,
} from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

const p = requireBinaries('Transmission interop', 'transmission-daemon', 'transmission-remote');

describe.skipIf(p.skip)('interop with Transmission', () => {
  let dir: { path: string; remove(): Promise<void> };
  const daemons: TransmissionDaemon[] = [];
  const handles: TorrentHandle[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-transmission-');
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await Promise.all(handles.map((h) => h.close()));
    await dir.remove();
  });

  it('we seed, Transmission downloads byte for byte (our seeder dials it)', async () => {
    const src = join(dir.path, 'src');
    const t = await makeV1Torrent(
      src,
      'show',
      [
        { path: ['ep1.mp3'], length: 1_200_000 },
        { path: ['ep2.mp3'], length: 1_900_017 },
      ],
      64 * 1024,
    );
    const tr = await transmissionDaemon(join(dir.path, 'tr'));
    daemons.push(tr);
    await tr.add(t.torrentPath);
    // Transmission never dials a 127.x peer: the seeder is given its address.
    const seed = await seedTorrent({
      torrent: t.torrentPath,
      dataPath: t.dataPath,
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port: tr.peerPort }],
    });
    handles.push(seed);
    const file = (name: string) => readFile(join(tr.downloadDir, 'show', name)).catch(() => undefined);
    // Transmission says "interested" only at its 10 s rechoke pulse; files keep a .part
    // suffix until complete.
    await waitFor(
      async () => {
        const [a, b] = [await file('ep1.mp3'), await file('ep2.mp3')];
        return a !== undefined && b !== undefined && a.length + b.length === t.content.length;
      },
      120_000,
      'Transmission to finish',
      500,
    );
    const bytes = Buffer.concat([(await file('ep1.mp3'))!, (await file('ep2.mp3'))!]);
    expect(bytes.equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  }, 180_000);
});
