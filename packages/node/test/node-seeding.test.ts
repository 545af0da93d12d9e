import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpTracker, parseMagnet, systemTimers, WebSocketTrackerClient } from '@swarmcast/bittorrent';
import { downloadTorrent, nodeRtcFactory, nodeWebSocket } from '@swarmcast/bittorrent/node';
import { latestEpisodes, torrentFile } from '@swarmcast/catalog';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * The node seeds every published episode with our engine and announces it to its own
 * tracker. The torrents here have their web seeds removed, so the bytes can only come from
 * the node's engine, found through the node's tracker. (aria2c 1.36 is not tested here: it
 * computes another info-hash for our hybrid v1+v2 torrents, so it never finds the swarm and
 * only the web seed serves it; see the integrate notes.)
 */
let node: RunningNode;
let dir: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  dir = await scratchDir('node-seeding');
  node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
}, 60_000);

afterAll(async () => {
  await node?.close();
  await dir?.remove();
});

async function demo() {
  const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast')!;
  expect(ep?.torrent && ep.media).toBeTruthy();
  const bytes = await torrentFile(node.db, ep.id);
  const original = await readFile(join(node.catalog.mediaDir, ep.media!.path));
  // Only the swarm may serve: drop the web seeds (outside the info dict: same info-hash).
  const meta = bencode.decode(Buffer.from(bytes!)) as Record<string, unknown>;
  delete meta['url-list'];
  return { ep, torrent: new Uint8Array(bencode.encode(meta)), original };
}

describe('a node seeds what it publishes', () => {
  it('seeds every demo episode and its tracker lists the engine as a seeder', async () => {
    const seeding = node.services.seeding!;
    const eps = await latestEpisodes(node.db, 10);
    expect(eps.length).toBeGreaterThanOrEqual(3);
    // Each episode's hybrid torrent and its v1-only companion.
    expect(new Set(seeding.seeded())).toEqual(
      new Set(eps.flatMap((e) => [e.torrent!.infoHashV1, e.torrent!.legacy!.infoHashV1])),
    );
    const { ep } = await demo();
    const magnet = parseMagnet(ep.torrent!.magnet);
    expect(magnet.ok).toBe(true);
    const reply = await new HttpTracker(new URL('/announce', node.url).toString()).announce({
      infoHash: Buffer.from(ep.torrent!.infoHashV1, 'hex'),
      peerId: Buffer.from('-TS0001-abcdefghijkl'),
      port: 6881,
      uploaded: 0,
      downloaded: 0,
      left: 1,
    });
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.value.peers).toContainEqual({ host: '127.0.0.1', port: seeding.port });
    // Our announce is a fact for measurement; the node's own engine's announces are not (it
    // is not an audience: swarm figures count listeners' peers only).
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const announces = async () => {
      const admin = (await (
        await fetch(new URL(`/api/measure/admin?from=${today}&to=${tomorrow}`, node.url), {
          headers: { authorization: `Bearer ${node.services.adminToken}` },
        })
      ).json()) as {
        events: Array<{ subject: string; count: number }>;
      };
      return admin.events.filter((e) => e.subject === 'fact.announce').reduce((n, e) => n + e.count, 0);
    };
    await waitFor(async () => (await announces()) >= 1, 20_000, 'announce facts in the pipeline');
    expect(await announces()).toBe(1);
  }, 30_000);

  for (const transport of ['tcp', 'utp'] as const)
    it(`our engine downloads a demo episode from the node over ${transport}, byte for byte`, async () => {
      const { torrent, original } = await demo();
      const out = join(dir.path, `engine-${transport}`);
      const handle = await downloadTorrent({
        torrent,
        dir: out,
        host: '127.0.0.1',
        // uTP alone: the node's seeder also accepts uTP (BEP 29) on the UDP port of its number.
        transports: [transport],
        peers: [{ host: '127.0.0.1', port: node.services.seeding!.port }],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('download did not finish in 30 s')), 30_000);
          if (handle.session.isDone) return resolve();
          handle.session.on('done', () => {
            clearTimeout(t);
            resolve();
          });
        });
        const got = await readFile(join(out, handle.meta.name));
        expect(got.equals(original)).toBe(true);
      } finally {
        await handle.close();
      }
    }, 40_000);

  it('a browser-like peer joining only by the WebSocket tracker gets the episode over WebRTC', async () => {
    const { torrent, original } = await demo();
    const out = join(dir.path, 'webrtc');
    // No TCP peers: the only way in is the node's ws:// tracker and a WebRTC data channel.
    const handle = await downloadTorrent({ torrent, dir: out, host: '127.0.0.1' });
    const client = new WebSocketTrackerClient({
      url: new URL('/announce', node.url).toString().replace(/^http/, 'ws'),
      infoHash: Buffer.from(handle.infoHash, 'hex'),
      peerId: Buffer.from('-WW0001-browserpeer1'),
      webSocket: nodeWebSocket,
      signalling: { factory: nodeRtcFactory({ bindAddress: '127.0.0.1' }), timers: systemTimers },
      timers: systemTimers,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      stats: () => ({ uploaded: 0, downloaded: handle.stats().downloaded, left: 1 }),
      onTransport: (t) => handle.session.addIncoming(t),
    });
    try {
      client.start();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no WebRTC download in 40 s')), 40_000);
        handle.session.on('done', () => {
          clearTimeout(t);
          resolve();
        });
      });
      expect((await readFile(join(out, handle.meta.name))).equals(original)).toBe(true);
    } finally {
      await client.stop();
      await handle.close();
    }
  }, 50_000);
});
