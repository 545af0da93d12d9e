import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, loadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { DhtNode } from '../src/node/dht.ts';
import { SwarmNode } from '../src/node/swarm-node.ts';
import { startOpentracker } from './opentracker.ts';
import { makeV1Torrent } from './torrent-files.ts';

let dir: { path: string; remove(): Promise<void> };
const handles: TorrentHandle[] = [];
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-magnet-');
});
afterAll(async () => {
  for (const h of handles.reverse()) await h.close().catch(() => {});
  for (const c of closers.reverse()) await c().catch(() => {});
  await dir.remove();
});

async function done(h: TorrentHandle, what: string): Promise<void> {
  await waitFor(() => h.session.isDone, 30_000, what, 100);
}

describe('bare magnet links (BEP 9)', () => {
  it('fetches the metadata from a peer, downloads, then serves the metadata and data to the next magnet', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src'),
      'show',
      [
        { path: ['ep1.mp3'], length: 700_000 },
        { path: ['ep2.mp3'], length: 333_333 },
      ],
      64 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' });
    handles.push(seed);
    const magnet = `magnet:?xt=urn:btih:${t.infoHash}&dn=show`;

    const first = await downloadTorrent({
      torrent: `${magnet}&x.pe=127.0.0.1:${seed.port}`,
      dir: join(dir.path, 'first'),
      host: '127.0.0.1',
    });
    handles.push(first);
    expect(first.meta.name).toBe('show');
    expect(first.infoHash).toBe(t.infoHash);
    await done(first, 'the first magnet download');
    const read = async (root: string) =>
      Buffer.concat([
        await readFile(join(root, 'show', 'ep1.mp3')),
        await readFile(join(root, 'show', 'ep2.mp3')),
      ]);
    expect((await read(join(dir.path, 'first'))).equals(t.content)).toBe(true);

    // The seed is gone: metadata and pieces can only come from the first downloader's session.
    await seed.close();
    const second = await downloadTorrent({
      torrent: `${magnet}&x.pe=127.0.0.1:${first.port}`,
      dir: join(dir.path, 'second'),
      host: '127.0.0.1',
    });
    handles.push(second);
    await done(second, 'the second magnet download, from the first downloader');
    expect((await read(join(dir.path, 'second'))).equals(t.content)).toBe(true);
  }, 60_000);

  it('finds the peers of a bare magnet through a local DHT: no tracker, no x.pe', async () => {
    const dht = async (bootstrap: string[]) => {
      const r = await DhtNode.start({ bootstrap, host: '127.0.0.1', port: 0 });
      if (!r.ok) throw new Error(r.error.message);
      closers.push(() => r.value.close());
      return r.value;
    };
    const boot = await dht([]);
    const bootAddress = `127.0.0.1:${boot.port}`;
    const t = await makeV1Torrent(
      join(dir.path, 'src-dht'),
      'ep.mp3',
      [{ path: [], length: 500_000 }],
      32 * 1024,
    );
    const seedNode = new SwarmNode({ host: '127.0.0.1', dht: await dht([bootAddress]) });
    await seedNode.start();
    closers.push(() => seedNode.close());
    await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, node: seedNode });
    // The seed's announce must reach the DHT before the lookup.
    await new Promise((r) => setTimeout(r, 1500));
    const leech = await downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${t.infoHash}`,
      dir: join(dir.path, 'dht-out'),
      host: '127.0.0.1',
      dht: await dht([bootAddress]),
      signal: AbortSignal.timeout(30_000),
    });
    handles.push(leech);
    await done(leech, 'the magnet download found through the DHT');
    expect((await readFile(join(dir.path, 'dht-out', 'ep.mp3'))).equals(t.content)).toBe(true);
  }, 60_000);

  it('takes the metadata from a seed that dials us (no address in the link)', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src-in'),
      'ep.mp3',
      [{ path: [], length: 300_000 }],
      32 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' });
    handles.push(seed);
    const node = new SwarmNode({ host: '127.0.0.1' });
    await node.start();
    closers.push(() => node.close());
    const pending = downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${t.infoHash}`,
      dir: join(dir.path, 'in-out'),
      node,
      signal: AbortSignal.timeout(30_000),
    });
    // The seed learns our address (as from a tracker) and dials us while we wait for metadata.
    seed.session.addPeers([{ host: '127.0.0.1', port: node.port }]);
    const leech = await pending;
    handles.push(leech);
    await done(leech, 'the download after metadata from an incoming peer');
    expect((await readFile(join(dir.path, 'in-out', 'ep.mp3'))).equals(t.content)).toBe(true);
  }, 60_000);

  it('rejects a magnet link whose btmh does not match the metadata the peers send', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src3'),
      'ep.mp3',
      [{ path: [], length: 100_000 }],
      32 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' });
    handles.push(seed);
    const wrongV2 = `1220${'ab'.repeat(32)}`;
    const err = await downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${t.infoHash}&xt=urn:btmh:${wrongV2}&x.pe=127.0.0.1:${seed.port}`,
      dir: join(dir.path, 'wrong'),
      host: '127.0.0.1',
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('BT_METADATA_HASH_MISMATCH');
  }, 30_000);

  it('gives up with BT_METADATA_ABORTED when cancelled before any peer answers', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const err = await downloadTorrent({
      torrent: `magnet:?xt=urn:btih:${'12'.repeat(20)}`,
      dir: join(dir.path, 'none'),
      host: '127.0.0.1',
      signal: ac.signal,
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('BT_METADATA_ABORTED');
  });

  it('refuses a malformed magnet link with its code', async () => {
    const err = await downloadTorrent({
      torrent: 'magnet:?xt=urn:btih:nothex',
      dir: join(dir.path, 'bad'),
      host: '127.0.0.1',
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('BT_MAGNET_BAD_HASH');
  });
});

const ot = requireBinaries('magnet over a tracker', 'opentracker');

describe.skipIf(ot.skip)('magnet link discovery through its trackers', () => {
  it("finds the seed through the magnet's UDP tracker (tr=), with no peer given", async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src-ot'),
      'ep.mp3',
      [{ path: [], length: 400_000 }],
      32 * 1024,
    );
    // The whitelist needs the hash, and `announce` is outside the info dict: add it after.
    const tracker = await startOpentracker([Buffer.from(t.infoHash, 'hex')]);
    try {
      const meta = await loadTorrent(t.torrent);
      // The seed announces over HTTP (its .torrent); the magnet names the tracker's UDP side.
      const seed = await seedTorrent({
        torrent: { ...meta, announce: [[tracker.http]] },
        dataPath: t.dataPath,
        host: '127.0.0.1',
      });
      handles.push(seed);
      const leech = await downloadTorrent({
        torrent: `magnet:?xt=urn:btih:${t.infoHash}&tr=${encodeURIComponent(tracker.udp)}`,
        dir: join(dir.path, 'ot-out'),
        host: '127.0.0.1',
      });
      handles.push(leech);
      await done(leech, 'the magnet download found through the tracker');
      expect((await readFile(join(dir.path, 'ot-out', 'ep.mp3'))).equals(t.content)).toBe(true);
      await leech.close();
      await seed.close();
    } finally {
      await tracker.stop();
    }
  }, 60_000);
});
