import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent } from '../src/node/api.ts';
import { DhtNode } from '../src/node/dht.ts';
import { SwarmNode } from '../src/node/swarm-node.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-dht-');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await dir.remove();
});

async function dht(bootstrap: string[]): Promise<DhtNode> {
  const r = await DhtNode.start({ bootstrap, host: '127.0.0.1', port: 0 });
  if (!r.ok) throw new Error(r.error.message);
  closers.push(() => r.value.close());
  return r.value;
}

describe('peer discovery through a local DHT', () => {
  it('two of our nodes find each other through a DHT bootstrap node, with no tracker', async () => {
    const boot = await dht([]);
    const bootAddress = `127.0.0.1:${boot.port}`;
    const t = await makeV1Torrent(
      join(dir.path, 'src'),
      'ep.mp3',
      [{ path: [], length: 1_000_000 }],
      32 * 1024,
    );

    const seedNode = new SwarmNode({ host: '127.0.0.1', dht: await dht([bootAddress]) });
    await seedNode.start();
    closers.push(() => seedNode.close());
    await seedTorrent({ torrent: t.torrentPath, dataPath: t.dataPath, node: seedNode });
    // Let the seed's announce reach the DHT before the leecher looks up.
    await new Promise((r) => setTimeout(r, 1500));

    const leechNode = new SwarmNode({ host: '127.0.0.1', dht: await dht([bootAddress]) });
    await leechNode.start();
    closers.push(() => leechNode.close());
    const leech = await downloadTorrent({ torrent: t.torrent, dir: join(dir.path, 'out'), node: leechNode });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no download through the DHT in 30 s')), 30_000);
      leech.session.on('done', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect((await readFile(join(dir.path, 'out', 'ep.mp3'))).equals(t.content)).toBe(true);
  }, 45_000);
});
