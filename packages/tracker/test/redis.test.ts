import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, requireServices, scratchDir, serviceUrl, waitFor } from '@swarmcast/testkit';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrackerError } from '../src/errors.ts';
import { RedisAccess } from '../src/store/redis-access.ts';
import { RedisSwarmStore } from '../src/store/redis-store.ts';
import { Tracker } from '../src/tracker.ts';
import type { AnnounceResult, InfoHash } from '../src/types.ts';
import { announceQuery, peerId } from './helpers/announce.ts';

const redis = await requireServices('tracker swarms in Redis', 'redis');
const root = join(import.meta.dirname, '..', '..', '..');

function startProcess(port: number, prefix: string, dataDir: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'packages/cli/src/main.ts'),
      'tracker',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        REDIS_URL: serviceUrl('redis'),
        TRACKER_REDIS_PREFIX: prefix,
        TRACKER_RATE_LIMIT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

async function announce(port: number, fields: Parameters<typeof announceQuery>[0]) {
  const r = await fetch(`http://127.0.0.1:${port}/announce?${announceQuery(fields)}`);
  return bencode.decode(new Uint8Array(await r.arrayBuffer())) as {
    complete: number;
    incomplete: number;
    peers: Uint8Array;
  };
}

describe.skipIf(redis.skip)('two tracker processes on one Redis', () => {
  const prefix = `swarmcast-test-${process.pid}-${Date.now()}:`;
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let cleaner: RedisSwarmStore;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir();
    cleaner = new RedisSwarmStore({ url: serviceUrl('redis'), prefix });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      ports.push(port);
      // Each process its own data dir: the embedded fact stream is one process per dir.
      const child = startProcess(port, prefix, join(dir.path, `p${i}`));
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d) => {
        out += String(d);
      });
      child.stderr!.on('data', (d) => {
        out += String(d);
      });
      await waitFor(() => out.includes('listening'), 30_000, `tracker process ${i} to listen`).catch(
        (err) => {
          throw new Error(`${String(err)}\n${out}`);
        },
      );
    }
  });
  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) =>
            c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM')),
          ),
      ),
    );
    await dir?.remove();
    if (cleaner) {
      await cleaner.clear();
      await cleaner.close();
    }
  });

  it('returns a peer that announced to the other process, and counts them together', async () => {
    const hash = randomBytes(20);
    await announce(ports[0]!, { infoHash: hash, left: 0, event: 'started', port: 51413 });
    const fromB = await announce(ports[1]!, {
      infoHash: hash,
      left: 100,
      event: 'started',
      port: 6881,
      peerId: peerId('-TR3000-'),
    });
    expect(fromB).toMatchObject({ complete: 1, incomplete: 1 });
    expect(Buffer.from(fromB.peers).toString('hex')).toBe(`7f000001${(51413).toString(16)}`);
    const fromA = await announce(ports[0]!, { infoHash: hash, left: 0, port: 51413 });
    expect(fromA).toMatchObject({ complete: 1, incomplete: 1 });
    expect(Buffer.from(fromA.peers).toString('hex')).toBe(`7f000001${(6881).toString(16).padStart(4, '0')}`);
    const stats = (await (await fetch(`http://127.0.0.1:${ports[1]}/stats`)).json()) as {
      torrents: unknown[];
    };
    expect(stats.torrents).toContainEqual({
      infoHash: hash.toString('hex'),
      seeders: 1,
      leechers: 1,
      completed: 0,
    });
  });
});

describe.skipIf(redis.skip)('Redis swarm store semantics', () => {
  const prefix = `swarmcast-test-${process.pid}-${Date.now()}-s:`;
  let store: RedisSwarmStore;
  beforeAll(async () => {
    store = new RedisSwarmStore({ url: serviceUrl('redis'), prefix, maxPeersPerSwarm: 3 });
  });
  afterAll(async () => {
    await store?.clear();
    await store?.close();
  });

  const base = (port: number, over: Record<string, unknown> = {}) => ({
    infoHash: '77'.repeat(20) as InfoHash,
    peerKey: `127.0.0.1|${port}`,
    peer: {
      kind: 'tcp' as const,
      compact: Buffer.from([127, 0, 0, 1, port >> 8, port & 255]),
      peerId: peerId('-qB-', port),
    },
    seeder: false,
    event: 'started' as const,
    uploaded: 0,
    downloaded: 0,
    numwant: 50,
    now: 1_000_000,
    ttlMs: 60_000,
    ...over,
  });

  it('counts completion once, moves leecher to seeder, remembers counters, removes on stop', async () => {
    await store.announce(base(1));
    const r1 = (await store.announce(base(2, { uploaded: 7 }))) as AnnounceResult & { previous: unknown };
    expect(r1).toMatchObject({ complete: 0, incomplete: 2, previous: null });
    expect(r1.peers).toHaveLength(1);
    const r2 = await store.announce(base(1, { seeder: true, event: 'completed', uploaded: 10 }));
    expect(r2).toMatchObject({
      complete: 1,
      incomplete: 1,
      downloaded: 1,
      previous: { uploaded: 0, downloaded: 0 },
    });
    const r3 = await store.announce(base(1, { seeder: true, event: 'completed', uploaded: 20 }));
    expect(r3).toMatchObject({ downloaded: 1, previous: { uploaded: 10 } });
    await store.announce(base(2, { event: 'stopped' }));
    const files = await store.scrape(['77'.repeat(20) as InfoHash]);
    expect(files.get('77'.repeat(20) as InfoHash)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
  });
  it('hands seeders to a seeder only on a started announce with nothing downloaded (a magnet client)', async () => {
    const h = { infoHash: '78'.repeat(20) as InfoHash };
    await store.announce(base(11, { ...h, seeder: true, event: 'none' }));
    const magnet = (await store.announce(base(12, { ...h, seeder: true }))) as AnnounceResult & {
      previous: unknown;
    };
    expect(magnet.peers.map((p) => Buffer.from(p.compact).readUInt16BE(4))).toEqual([11]);
    const regular = (await store.announce(
      base(12, { ...h, seeder: true, event: 'none' }),
    )) as AnnounceResult & {
      previous: unknown;
    };
    expect(regular.peers).toHaveLength(0);
    await store.announce(base(12, { ...h, event: 'stopped' }));
    await store.announce(base(11, { ...h, event: 'stopped' }));
  });
  it('expires silent peers inside the next announce and refuses past the swarm bound', async () => {
    const h = '78'.repeat(20) as InfoHash;
    await store.announce(base(1, { infoHash: h }));
    await store.announce(base(2, { infoHash: h }));
    await store.announce(base(3, { infoHash: h }));
    const full = await store.announce(base(4, { infoHash: h }));
    expect(isTrackerError(full) && full.error).toBe('TRK_FULL');
    const later = await store.announce(base(4, { infoHash: h, now: 1_000_000 + 61_000 }));
    expect(later).toMatchObject({ incomplete: 1, peers: [] });
  });
  it('keeps private-mode lists and ratios shared', async () => {
    const access = new RedisAccess(store.redis, prefix);
    await access.addPasskey('passkey-bob-000001', 'bob');
    await access.register('79'.repeat(20) as InfoHash);
    const tracker = new Tracker({ store, access, rateLimit: null });
    const q = (up: number) => ({
      type: 'announce' as const,
      transport: 'http' as const,
      infoHash: '79'.repeat(20) as InfoHash,
      peerId: peerId(),
      ip: '10.0.0.1',
      port: 999,
      uploaded: up,
      downloaded: 0,
      left: 5,
      event: 'update' as const,
      numwant: 0,
      compact: true,
      noPeerId: false,
      passkey: 'passkey-bob-000001',
      key: null,
      userAgent: null,
    });
    await tracker.core.announce(q(100));
    await tracker.core.announce(q(250));
    expect(await access.totals('bob')).toEqual({ uploaded: 250, downloaded: 0 });
    const refused = await tracker.core.announce({ ...q(1), passkey: 'nope-nope-nope' });
    expect(isTrackerError(refused) && refused.error).toBe('TRK_UNKNOWN_PASSKEY');
  });
});
