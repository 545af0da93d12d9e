import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@swarmcast/bittorrent';
import { DhtNode, parseMutableMagnet } from '@swarmcast/bittorrent/node';
import { demoMediaDir, showPublicKey } from '@swarmcast/catalog';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * A show on BitTorrent itself: the node publishes each new feed as an index torrent under the
 * show's Ed25519 key (BEP 44/46) on a local DHT; a DHT node that knows only the key sees each
 * update with a higher sequence number.
 */
describe('a show as a BEP 46 mutable torrent', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  const dhts: DhtNode[] = [];
  let follower: DhtNode;
  const url = (p: string) => new URL(p, node.url).toString();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(url(path), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
  const json = (path: string, body: unknown) =>
    api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    const start = async (bootstrap: string[]) => {
      const r = await DhtNode.start({ bootstrap, port: 0, host: '127.0.0.1' });
      if (!r.ok) throw new Error(r.error.message);
      dhts.push(r.value);
      return r.value;
    };
    const boot = await start([]);
    const via = [`127.0.0.1:${boot.port}`];
    await start(via);
    await start(via);
    follower = await start(via);
    dir = await scratchDir();
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path, demo: false, dhtBootstrap: via });
    const origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long enough password',
        role: 'creator',
      }),
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const t = await fetch(url('/api/tokens'), {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/json' },
      body: '{}',
    });
    token = ((await t.json()) as { token: string }).token;
    expect((await json('/api/shows', { slug: 'dhtshow', title: 'DHT show' })).status).toBe(201);
  });
  afterAll(async () => {
    await node?.close();
    for (const d of dhts) await d.close();
    await dir?.remove();
  });

  const publish = async (title: string) => {
    const up = await api('/api/uploads', {
      method: 'POST',
      body: await readFile(join(demoMediaDir, 'swarm.mp3')),
    });
    const { id: uploadId } = (await up.json()) as { id: string };
    expect((await json('/api/shows/dhtshow/episodes', { uploadId, title })).status).toBe(201);
  };
  /** Looks the key up on the DHT until an item with at least `seq` is there. */
  const itemAtLeast = async (key: Uint8Array, seq: number) => {
    for (;;) {
      const got = await follower.getMutable(key);
      if (got && got.seq >= seq) return { seq: got.seq, ih: toHex((got.value as { ih: Uint8Array }).ih) };
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('publishes on every publish with increasing sequence numbers; the feed advertises the key', async () => {
    await publish('First on the DHT');
    const showId = (
      await node.db.query<{ id: string }>("select id from catalog_shows where slug = 'dhtshow'")
    ).rows[0]!.id;
    let hex = await showPublicKey(node.db, showId);
    while (!hex) {
      await new Promise((r) => setTimeout(r, 100));
      hex = await showPublicKey(node.db, showId);
    }
    const key = new Uint8Array(Buffer.from(hex, 'hex'));
    const one = await itemAtLeast(key, 1);
    const file1 = await readFile(join(dir.path, 'media', 'dhtshow', 'index', `feed-${one.seq}.xml`), 'utf8');
    expect(file1).toContain('First on the DHT');
    await publish('Second on the DHT');
    const two = await itemAtLeast(key, one.seq + 1);
    expect(two.ih).not.toBe(one.ih);
    const file2 = await readFile(join(dir.path, 'media', 'dhtshow', 'index', `feed-${two.seq}.xml`), 'utf8');
    expect(file2).toContain('Second on the DHT');
    // The index torrent in the item is the one the node seeds for that feed file.
    const torrent = await fetch(url(`/media/dhtshow/index/feed-${two.seq}.xml`));
    expect(await torrent.text()).toBe(file2);
    const xml = await (await fetch(url('/shows/dhtshow/feed.xml'))).text();
    const magnet = /<podcast:txt purpose="btpk">([^<]+)<\/podcast:txt>/.exec(xml)?.[1];
    expect(parseMutableMagnet(magnet ?? '')?.publicKey).toEqual(key);

    // A third feed: only the newest two index torrents are kept (files and seeding).
    await publish('Third on the DHT');
    const three = await itemAtLeast(key, two.seq + 1);
    const indexDir = join(dir.path, 'media', 'dhtshow', 'index');
    // The node prunes right after it stores the item (the item can be seen first).
    const listing = (want: string[]) =>
      waitFor(
        async () => {
          const names = (await readdir(indexDir)).sort();
          return JSON.stringify(names) === JSON.stringify([...want].sort()) ? names : null;
        },
        30_000,
        `the index folder to hold ${want.join(', ')}`,
      );
    await listing([`feed-${two.seq}.xml`, `feed-${three.seq}.xml`]);
    const seeded = new Set(node.services.seeding!.seeded());
    expect(seeded.has(one.ih)).toBe(false);
    expect(seeded.has(two.ih) && seeded.has(three.ih)).toBe(true);

    // A restart: the new process seeds the show's newest feed and stores a fresh item (a
    // restart once left the index torrent unseeded until the next publish).
    await node.close();
    node = await startNode({
      port: 0,
      host: '127.0.0.1',
      dataDir: dir.path,
      demo: false,
      dhtBootstrap: [`127.0.0.1:${dhts[0]!.port}`],
    });
    const four = await itemAtLeast(key, three.seq + 1);
    expect(new Set(node.services.seeding!.seeded()).has(four.ih)).toBe(true);
    await listing([`feed-${four.seq}.xml`]);
    expect(await readFile(join(indexDir, `feed-${four.seq}.xml`), 'utf8')).toContain('Third on the DHT');
  }, 180_000);
});
