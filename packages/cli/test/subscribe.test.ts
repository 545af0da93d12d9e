import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { toHex } from '@swarmcast/bittorrent';
import { DhtNode, ed25519Signer, generateEd25519 } from '@swarmcast/bittorrent/node';
import { demoMediaDir, showPublicKey } from '@swarmcast/catalog';
import { type RunningNode, startNode } from '@swarmcast/node';
import { scratchDir } from '@swarmcast/testkit';
import DHT from 'bittorrent-dht';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import type { FollowEvent } from '../src/follow-show.ts';
import { main } from '../src/main.ts';

/**
 * `swarmcast subscribe` on a local DHT (several DHT nodes on loopback): a node publishes a
 * show (each feed an index torrent under the show's BEP 46 key, every torrent announced on
 * the DHT), its HTTP server is then stopped, and a subscriber that knows only the key fetches
 * each episode byte for byte as it appears. Forged items (bad signature, another key, a
 * replayed older sequence number) are refused.
 */

type Ev = FollowEvent | { event: 'started'; port: number };

/** Runs `swarmcast subscribe` in this process; its JSON lines arrive as events. */
function subscriber(args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stop = new AbortController();
  const events: Ev[] = [];
  const waiters: { test: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  let err = '';
  let buf = '';
  stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as Ev;
      events.push(e);
      for (const w of [...waiters])
        if (w.test(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
    }
  });
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: CommandIo = { stdout, stderr, env: {}, signal: stop.signal };
  const exit = main(['subscribe', ...args, '--json'], io);
  return {
    events,
    stderr: () => err,
    /** The next event (from now on, or already seen when `past`) passing `test`. */
    next<T extends Ev>(test: (e: Ev) => boolean, past = false): Promise<T> {
      const seen = past ? events.find(test) : undefined;
      if (seen) return Promise.resolve(seen as T);
      return new Promise((resolve) => waiters.push({ test, resolve: resolve as (e: Ev) => void }));
    },
    async stop() {
      stop.abort();
      return exit;
    },
  };
}

describe('swarmcast subscribe: a show followed through the DHT alone', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  let key: Uint8Array;
  let magnet: string;
  let via: string[];
  const dhts: DhtNode[] = [];
  // A hostile DHT node: stores and serves whatever it is given, signed or not.
  let hostile: DHT;
  let probe: DhtNode;
  let sub: ReturnType<typeof subscriber>;
  let firstItem: { seq: number; value: unknown; signature: Uint8Array };
  const url = (p: string) => new URL(p, node.url).toString();

  const startDht = async (bootstrap: string[]) => {
    const r = await DhtNode.start({ bootstrap, port: 0, host: '127.0.0.1' });
    if (!r.ok) throw new Error(r.error.message);
    dhts.push(r.value);
    return r.value;
  };
  /** The API over the node's HTTP server, or in process once the server is stopped. */
  let inProcess = false;
  const api = async (path: string, init: { method?: string; json?: unknown; body?: Buffer } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    const method = init.method ?? (init.json !== undefined || init.body ? 'POST' : 'GET');
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    if (inProcess) {
      const r = await node.app.inject({
        method: method as 'GET',
        url: path,
        headers,
        ...(body ? { payload: body } : {}),
      });
      return { status: r.statusCode, json: () => r.json() as unknown };
    }
    const r = await fetch(url(path), { method, headers, ...(body ? { body: body as BodyInit } : {}) });
    const text = await r.text();
    return { status: r.status, json: () => JSON.parse(text) as unknown };
  };
  const publish = async (title: string, file: string) => {
    const up = await api('/api/uploads', { body: await readFile(join(demoMediaDir, file)) });
    expect(up.status).toBe(201);
    const { id: uploadId } = up.json() as { id: string };
    expect((await api('/api/shows/subshow/episodes', { json: { uploadId, title } })).status).toBe(201);
  };
  /** Looks the show's key up until an item with at least `seq` is on the DHT. */
  const itemAtLeast = async (seq: number) => {
    for (;;) {
      const got = await probe.getMutable(key);
      if (got && got.seq >= seq) return got;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    const boot = await startDht([]);
    via = [`127.0.0.1:${boot.port}`];
    await startDht(via);
    await startDht(via);
    probe = await startDht(via);
    hostile = new DHT({ bootstrap: via, host: false, verify: () => true });
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => hostile.once('ready', () => r()));
    dir = await scratchDir('swarmcast-subscribe-');
    node = await startNode({
      port: 0,
      host: '127.0.0.1',
      dataDir: join(dir.path, 'node'),
      demo: false,
      dhtBootstrap: via,
    });
    const origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'sub@example.org',
        name: 'Sub',
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
    expect(
      (await api('/api/shows', { json: { slug: 'subshow', title: 'Followed on the DHT' } })).status,
    ).toBe(201);
    await publish('First over the DHT', 'swarm.mp3');
    const showId = (
      await node.db.query<{ id: string }>("select id from catalog_shows where slug = 'subshow'")
    ).rows[0]!.id;
    // The key is made by the first publish to the DHT, after the episode is published.
    let hex = await showPublicKey(node.db, showId);
    while (!hex) {
      await new Promise((r) => setTimeout(r, 100));
      hex = await showPublicKey(node.db, showId);
    }
    key = new Uint8Array(Buffer.from(hex, 'hex'));
    firstItem = await itemAtLeast(1);
    const xml = await (await fetch(url('/shows/subshow/feed.xml'))).text();
    magnet = /<podcast:txt purpose="btpk">([^<]+)<\/podcast:txt>/.exec(xml)?.[1] ?? '';
    expect(magnet).toBe(`magnet:?xs=urn:btpk:${toHex(key)}`);
    // From here on the node has no HTTP server: only its BitTorrent engine and its DHT node.
    // (Not waiting for close's callback: the seeder's WebSocket to its own tracker stays open.)
    node.app.server.close();
    node.app.server.closeAllConnections();
    expect(node.app.server.listening).toBe(false);
    inProcess = true;
    await expect(fetch(url('/shows/subshow/feed.xml'))).rejects.toThrow();
  }, 300_000);

  afterAll(async () => {
    await sub?.stop();
    // Fastify closes its server itself: give it one to close.
    if (node && !node.app.server.listening)
      await new Promise<void>((r) => node.app.server.listen(0, '127.0.0.1', () => r()));
    await node?.close();
    for (const d of dhts) await d.close();
    await new Promise<void>((r) => (hostile ? hostile.destroy(() => r()) : r()));
    await dir?.remove();
  });

  it('every torrent the node seeds is announced on the DHT (BEP 5 announce_peer)', async () => {
    const r = await node.db.query<{ v1: string; v1c: string | null }>(
      "select t.info_hash_v1 as v1, t.v1_info_hash as v1c from catalog_torrents t join catalog_episodes e on e.id = t.episode_id join catalog_shows s on s.id = e.show_id where s.slug = 'subshow'",
    );
    expect(r.rows.length).toBe(1);
    const seedingPort = node.services.seeding?.port;
    expect(seedingPort).toBeGreaterThan(0);
    for (const hex of [r.rows[0]!.v1, r.rows[0]!.v1c, toHex((firstItem.value as { ih: Uint8Array }).ih)]) {
      expect(hex).toMatch(/^[0-9a-f]{40}$/);
      const found = new AbortController();
      const peers: string[] = [];
      // A lookup only (announcePort 0): whom the DHT knows for this info-hash.
      const source = probe.peerSource(Buffer.from(hex as string, 'hex'), { announcePort: 0, retryMs: 300 });
      await source.run(
        {
          peers: (list) => {
            for (const p of list) peers.push(`${p.host}:${p.port}`);
            if (peers.includes(`127.0.0.1:${seedingPort}`)) found.abort();
          },
        },
        found.signal,
      );
      expect(peers).toContain(`127.0.0.1:${seedingPort}`);
    }
  }, 120_000);

  it('fetches each new episode byte for byte with the node HTTP server stopped', async () => {
    const out = join(dir.path, 'follower');
    sub = subscriber([
      magnet,
      '-o',
      out,
      '--dht',
      via[0] as string,
      '--interval',
      '0.5',
      '--host',
      '127.0.0.1',
    ]);
    const first = await sub.next<Extract<Ev, { event: 'episode' }>>(
      (e) => e.event === 'episode' && e.title === 'First over the DHT',
      true,
    );
    expect(await readFile(first.path)).toEqual(await readFile(join(demoMediaDir, 'swarm.mp3')));
    const feed1 = await sub.next<Extract<Ev, { event: 'feed' }>>((e) => e.event === 'feed', true);
    expect(feed1.seq).toBe(firstItem.seq);
    expect(feed1.title).toBe('Followed on the DHT');

    await publish('Second over the DHT', 'welcome.mp3');
    const second = await sub.next<Extract<Ev, { event: 'episode' }>>(
      (e) => e.event === 'episode' && e.title === 'Second over the DHT',
      true,
    );
    expect(await readFile(second.path)).toEqual(await readFile(join(demoMediaDir, 'welcome.mp3')));
    const feed2 = sub.events.filter((e): e is Extract<Ev, { event: 'feed' }> => e.event === 'feed').at(-1);
    expect(feed2?.seq).toBeGreaterThan(firstItem.seq);
    expect(await readFile(join(out, 'feed.xml'), 'utf8')).toContain('Second over the DHT');
    // The first episode is not fetched again.
    expect(sub.events.filter((e) => e.event === 'episode').length).toBe(2);
    expect(sub.stderr()).toBe('');
  }, 180_000);

  it('refuses an item with a bad signature or another key, though a DHT node serves it', async () => {
    const current = sub.events
      .filter((e): e is Extract<Ev, { event: 'feed' }> => e.event === 'feed')
      .at(-1)!.seq;
    const target = createHash('sha1').update(key).digest();
    // A forger that verifies nothing: its put reaches every node near the target; honest nodes
    // drop the bad signature, the hostile node stores it.
    const forger = new DHT({ bootstrap: via, host: false, verify: () => true });
    await new Promise<void>((r) => forger.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => forger.once('ready', () => r()));
    await new Promise<void>((r) =>
      forger.put(
        { k: Buffer.from(key), seq: current + 10, v: { ih: randomBytes(20) }, sign: () => randomBytes(64) },
        () => r(),
      ),
    );
    // A client that verifies nothing gets it from the DHT: the forgery is really out there.
    const served = await new Promise<{ seq?: number } | null>((r) =>
      forger.get(target, { cache: false }, (_err, v) => r(v as { seq?: number } | null)),
    );
    expect(served?.seq).toBe(current + 10);

    // Another key: a validly signed item of another key, served under the show's target.
    const other = generateEd25519();
    const otherTarget = createHash('sha1').update(other.publicKey).digest('hex');
    await new Promise<void>((r) =>
      forger.put(
        {
          k: Buffer.from(other.publicKey),
          seq: current + 20,
          v: { ih: randomBytes(20) },
          sign: ed25519Signer(other.privateKeyDer),
        },
        () => r(),
      ),
    );
    await new Promise<void>((r) => forger.destroy(() => r()));
    const values = (
      hostile as unknown as { _values: { get(k: string): unknown; set(k: string, v: unknown): void } }
    )._values;
    expect(values.get(otherTarget)).toBeTruthy();
    values.set(target.toString('hex'), values.get(otherTarget));

    // Three more rounds after both forgeries: the subscriber stays on the show's own item.
    const before = sub.events.length;
    for (let i = 0; i < 3; i++) {
      const polled = await sub.next<Extract<Ev, { event: 'polled' }>>((e) => e.event === 'polled');
      expect(polled.seq).toBe(current);
    }
    const after = sub.events.slice(before);
    expect(after.filter((e) => e.event === 'item' || e.event === 'feed' || e.event === 'episode')).toEqual(
      [],
    );
  }, 120_000);

  it('refuses a replayed older item (lower sequence number) after a restart on another DHT', async () => {
    const out = join(dir.path, 'follower');
    expect(await sub.stop()).toBe(0);
    const state = JSON.parse(await readFile(join(out, '.swarmcast-follow.json'), 'utf8')) as { seq: number };
    expect(state.seq).toBeGreaterThan(firstItem.seq);
    // An isolated DHT where an attacker replays the show's first item (genuinely signed).
    const boot2 = await startDht([]);
    const via2 = [`127.0.0.1:${boot2.port}`];
    await startDht(via2);
    const replayer = await startDht(via2);
    const replayed = await replayer.putMutable({
      publicKey: key,
      seq: firstItem.seq,
      value: firstItem.value as Record<string, Uint8Array>,
      sign: () => firstItem.signature,
    });
    expect(replayed.ok && replayed.value.nodes).toBeGreaterThan(0);
    sub = subscriber([
      magnet,
      '-o',
      out,
      '--dht',
      via2[0] as string,
      '--interval',
      '0.5',
      '--host',
      '127.0.0.1',
    ]);
    // What it fetched before is seeded again from disk.
    const seeding = await sub.next<Extract<Ev, { event: 'seeding' }>>((e) => e.event === 'seeding', true);
    expect(seeding.infoHash).toMatch(/^[0-9a-f]{40}$/);
    const refused = await sub.next<Extract<Ev, { event: 'refused' }>>((e) => e.event === 'refused', true);
    expect(refused.seq).toBe(firstItem.seq);
    expect(refused.reason).toContain('below');
    expect(sub.events.filter((e) => e.event === 'item' || e.event === 'episode')).toEqual([]);
    const again = JSON.parse(await readFile(join(out, '.swarmcast-follow.json'), 'utf8')) as { seq: number };
    expect(again.seq).toBe(state.seq);
  }, 120_000);
});
