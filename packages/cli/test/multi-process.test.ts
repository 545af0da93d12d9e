import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpTracker } from '@swarmcast/bittorrent';
import { openDb } from '@swarmcast/platform';
import {
  freePort,
  type Nginx,
  requireBinaries,
  requireServices,
  scratchDir,
  scratchPostgres,
  serviceUrl,
  startNginx,
  waitFor,
} from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filled, preRoll, send, trackerOf } from './support/podcast-app.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const services = await requireServices(
  'three node processes on PostgreSQL, Redis, NATS',
  'postgres',
  'redis',
  'nats',
);
const binaries = requireBinaries('three node processes behind nginx', 'nginx');

/**
 * Issue 19's proof: three `swarmcast up` processes (the built bundle, as `npm start` runs it)
 * on one real PostgreSQL, Redis and NATS JetStream and one shared data folder, two of them
 * behind a real nginx. The first runs every role; the second web, origin, tracker and
 * measure; the third only seeder and measure, off the proxy. Listeners download and announce
 * through the proxy; the first process is killed with SIGKILL while a burst of downloads is in
 * flight (nginx still sends it every other request).
 * Ad listeners ask for a pre-roll (VMAP, then VAST) and fire its impression beacon through the
 * proxy too, some of them while the first process is being killed.
 * Checked: no answer the proxy gives is a 5xx; every listener that got the episode is
 * counted once; every acknowledged impression beacon is counted once in the measurement report; a peer announced to one process is returned by the other (swarms in Redis);
 * the seeding leases move to the third process.
 */
describe.skipIf(services.skip || binaries.skip)('three node processes behind nginx', () => {
  const procs: Array<{ name: string; child: ChildProcess; out: () => string }> = [];
  let nginx: Nginx;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let pg: Awaited<ReturnType<typeof scratchPostgres>>;
  let front: string;
  const tag = randomBytes(4).toString('hex');

  function start(name: string, port: number, roles: string) {
    let out = '';
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist', 'swarmcast.mjs'),
        'up',
        '--port',
        String(port),
        '--data',
        dir.path,
        '--roles',
        roles,
      ],
      {
        cwd: dir.path,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          DATABASE_URL: pg.url,
          REDIS_URL: serviceUrl('redis'),
          NATS_URL: serviceUrl('nats'),
          SWARMCAST_REDIS_PREFIX: `sc${tag}:`,
          SWARMCAST_NATS_STREAM: `SC${tag}`,
          SWARMCAST_NATS_SUBJECTS: `sc${tag}`,
          SWARMCAST_PUBLIC_URL: front,
          SWARMCAST_TRUST_PROXY: '127.0.0.1',
          SWARMCAST_SEED_LEASE_MS: '3000',
          SWARMCAST_LOG_LEVEL: 'warn',
        },
      },
    );
    child.stdout?.on('data', (d) => (out += String(d)));
    child.stderr?.on('data', (d) => (out += String(d)));
    const p = { name, child, out: () => out };
    procs.push(p);
    return p;
  }

  async function up(p: (typeof procs)[number]) {
    await waitFor(
      () => {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}: ${p.out()}`);
        return /Swarmcast node up at/.test(p.out());
      },
      150_000,
      `${p.name} to start`,
      200,
    );
  }

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'pipe' });
    dir = await scratchDir('swarmcast-3proc-');
    pg = await scratchPostgres('swarmcast_3proc');
    const [p1, p2, p3, proxyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    front = `http://127.0.0.1:${proxyPort}`;
    nginx = await startNginx({
      dir: dir.path,
      upstream: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`],
      port: proxyPort,
    });
    // The first publishes the demo (and so holds its seeding leases); then the others join.
    const a = start('A (all roles)', p1, 'all');
    await up(a);
    const b = start('B (web, origin, tracker, measure)', p2, 'web,origin,tracker,measure');
    const c = start('C (seeder, measure)', p3, 'seeder,measure');
    await Promise.all([up(b), up(c)]);
  }, 400_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const gone = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        await gone;
      }
    }
    await nginx?.close();
    await pg?.drop();
    await dir?.remove();
    // This run's swarms in Redis and its JetStream stream.
    const redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
    const keys = await redis.keys(`sc${tag}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const nc = await connect({ servers: serviceUrl('nats') });
    await (await nc.jetstreamManager()).streams.delete(`SC${tag}`).catch(() => {});
    await nc.close();
  }, 60_000);

  async function leases(db: Awaited<ReturnType<typeof openDb>>) {
    const r = await db.query<{ name: string; holder: string }>(
      'select name, holder from platform_leases where expires_at >= $1 order by name',
      [Date.now()],
    );
    return r.rows;
  }

  it('serves one network through the proxy, survives kill -9 of a process, counts each listener once', async () => {
    const [a, , c] = procs as [(typeof procs)[number], (typeof procs)[number], (typeof procs)[number]];
    const db = await openDb({ databaseUrl: pg.url });
    try {
      // One seeder per demo episode: A published them, so A holds all three leases.
      const before = await leases(db);
      expect(before).toHaveLength(3);
      for (const l of before) expect(l.holder).toContain(`:${a.child.pid}:`);

      const feed = await (await fetch(`${front}/shows/swarmcast-demo/feed.xml`)).text();
      const enclosures = [...feed.matchAll(/<enclosure url="([^"]+)"/g)].map((m) => m[1]!);
      expect(enclosures.length).toBe(3);
      // The plain file of the first episode (the alternate of a stitched enclosure).
      const media = /<podcast:source uri="([^"]*\/media\/[^"]+)"/.exec(feed)?.[1] ?? '';
      const original = await readFile(
        join(dir.path, 'media', new URL(media).pathname.slice('/media/'.length)),
      );

      // Listeners: each its own address (X-Forwarded-For, trusted from the proxy only) and app.
      const statuses: number[] = [];
      let retried = 0;
      // Called when a listener's answer arrives (its body may still be on the way).
      let answered: () => void = () => {};
      const listen = async (i: number) => {
        const headers = {
          'x-forwarded-for': `10.9.${i}.7`,
          'user-agent': `AntennaPod/3.${i}.0`,
        };
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            const r = await fetch(media, { headers });
            statuses.push(r.status);
            answered();
            const body = Buffer.from(await r.arrayBuffer());
            if (r.status === 200 && body.equals(original)) return true;
          } catch {
            // The connection broke mid-answer (its process was killed): an app retries.
          }
          retried++;
        }
        return false;
      };
      // The creator report: downloads counted by the pipeline (measure processes B and C).
      const token = (await readFile(join(dir.path, 'admin-token'), 'utf8')).trim();
      const owner = (
        await db.query<{ owner_id: string }>(
          "select owner_id from catalog_shows where slug = 'swarmcast-demo'",
        )
      ).rows[0]!.owner_id;
      const today = new Date().toISOString().slice(0, 10);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const report = async () =>
        (await (
          await fetch(`${front}/api/measure/creator/${owner}?from=${today}&to=${tomorrow}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { totals: { downloads: number | null } };
      const counts = (n: number) =>
        waitFor(
          async () => {
            const r = await report();
            return r.totals.downloads === n ? r : null;
          },
          60_000,
          `${n} downloads in the report`,
          500,
        ).catch(async () => report());
      // Ad listeners: a pre-roll decision (VMAP, then its VAST tag) and its impression beacon,
      // all through the proxy. A fresh node fills the break with the house ad.
      const episodeId = (
        await db.query<{ id: string }>("select id from catalog_episodes where title = 'Welcome to Swarmcast'")
      ).rows[0]!.id;
      const beaconStatuses: number[] = [];
      // Each ad listener's impression URL, macros filled by the player (a fresh cache-buster);
      // a retry sends the very same URL (the same event), a replay a new one.
      const impressionOf = async (i: number) => {
        const p = await preRoll(front, episodeId, i);
        const url = filled(trackerOf(p.ad, 'impression'), 0);
        expect(url, 'every macro filled').not.toMatch(/\[[A-Z]+\]/);
        return { ...p, url };
      };
      const fire = (b: { url: string; headers: Record<string, string> }) =>
        send(b.url, { headers: b.headers }, beaconStatuses);
      const house = async () =>
        (
          (await (
            await fetch(`${front}/api/measure/advertiser/swarmcast-house?from=${today}&to=${tomorrow}`, {
              headers: { authorization: `Bearer ${token}` },
            })
          ).json()) as { campaigns: Array<{ delivery: { impressions: number } }> }
        ).campaigns.reduce((n, c) => n + c.delivery.impressions, 0);
      const impressions = (n: number) =>
        waitFor(
          async () => ((await house()) === n ? n : null),
          60_000,
          `${n} impressions in the report`,
          500,
        ).catch(async () => house());
      const ads = 8;
      const firstAds = await Promise.all(Array.from({ length: ads / 2 }, (_, i) => impressionOf(i)));
      const firstAcked = await Promise.all(firstAds.map(fire));
      // Decided now (on A or B), their beacons fired while A is being killed.
      const secondAds = await Promise.all(
        Array.from({ length: ads / 2 }, (_, i) => impressionOf(ads / 2 + i)),
      );

      const first = await Promise.all(Array.from({ length: 6 }, (_, i) => listen(i)));
      expect((await counts(6))?.totals.downloads).toBe(6);
      // Kill A while the next listeners' downloads are in flight: a download A finished has
      // its fact stored before its last bytes left (origin's held last chunk); one A did not
      // finish is retried through the proxy on B and counted once.
      const inFlight = new Promise<void>((r) => {
        answered = r;
      });
      const second = Promise.all(Array.from({ length: 6 }, (_, i) => listen(6 + i)));
      await inFlight;
      const beaconsDuringKill = Promise.all(secondAds.map(fire));
      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      const rest = await second;
      const acked = [...firstAcked, ...(await beaconsDuringKill)];
      const proxyLog = await readFile(join(dir.path, 'error.log'), 'utf8').catch(() => '');
      expect([...first, ...rest].every(Boolean), `${statuses}\n${proxyLog.slice(-3000)}`).toBe(true);
      expect(
        statuses.filter((s) => s >= 500),
        proxyLog.slice(-3000),
      ).toEqual([]);

      // A peer announced through the proxy (to whichever process) is seen by every tracker process.
      const torrent = /urn:btih:([0-9a-f]{40})/i.exec(feed)?.[1];
      expect(torrent).toBeTruthy();
      const announce = (peer: number) =>
        new HttpTracker(`${front}/announce`).announce({
          infoHash: Buffer.from(torrent!, 'hex'),
          peerId: Buffer.from(`-TS0001-${String(peer).padStart(12, '0')}`),
          port: 7000 + peer,
          uploaded: 0,
          downloaded: 0,
          left: 1000,
        });
      for (let peer = 0; peer < 4; peer++) {
        const r = await announce(peer);
        expect(r.ok ? 'ok' : r.error).toBe('ok');
      }
      const seen = await announce(4);
      expect(seen.ok).toBe(true);
      if (seen.ok)
        for (let p = 0; p < 4; p++)
          expect(seen.value.peers).toContainEqual({ host: '127.0.0.1', port: 7000 + p });

      // The seeding leases moved to C (the only seeder left) within the lease time and a round.
      const moved = await waitFor(
        async () => {
          const now = await leases(db);
          return now.length === 3 && now.every((l) => l.holder.includes(`:${c.child.pid}:`)) ? now : null;
        },
        30_000,
        'the seeding leases to move to C',
        250,
      );
      expect(moved).toHaveLength(3);
      const tookOverMs = Date.now() - killedAt;

      // Each of the 12 listeners counted once, whichever process served or retried them.
      expect((await counts(12))?.totals.downloads).toBe(12);
      // Every impression beacon was acknowledged (a retry at most), and each is counted once.
      expect(acked, `${beaconStatuses}`).toEqual(Array(ads).fill(true));
      // A player that lost the acknowledgements sends the first beacons again (new cache-buster:
      // new events, which measurement must judge duplicates). Once measurement has stored every
      // distinct beacon event (ads + replays), the report still has one impression per decision.
      const replays = await Promise.all(
        firstAds.map((b) => fire({ ...b, url: filled(trackerOf(b.ad, 'impression'), 0) })),
      );
      expect(replays, `${beaconStatuses}`).toEqual(Array(ads / 2).fill(true));
      expect(beaconStatuses.filter((s) => s >= 500)).toEqual([]);
      const beaconEvents = async () =>
        Number(
          (
            await db.query<{ n: string }>(
              "select count(*) as n from measure_events where subject like '%beacon.ad'",
            )
          ).rows[0]!.n,
        );
      await waitFor(
        async () => (await beaconEvents()) >= ads + ads / 2,
        60_000,
        'measurement to store every beacon event',
        250,
      ).catch(() => {});
      expect(await beaconEvents()).toBe(ads + ads / 2);
      expect(await impressions(ads)).toBe(ads);
      console.log(
        `[3 processes] 12 listeners through nginx, A killed (SIGKILL) mid-burst: ${statuses.length} answers, 0 5xx, ${retried} client retries; 12 downloads counted once each; ${ads} impression beacons (${ads / 2} fired during the kill, ${ads / 2} replayed; ${beaconStatuses.length} requests) counted once each; leases A -> C in ${tookOverMs} ms`,
      );
    } finally {
      await db.close();
    }
  }, 240_000);
});
