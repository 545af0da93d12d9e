import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import {
  announce,
  beaconEvents,
  creatorReport,
  type Db,
  delivered,
  fire,
  impressionOf,
  listen,
  type Network,
  openNetwork,
  pageViews,
  playAds,
  type Seen,
  totals,
  viewAndPlay,
  viewPage,
} from './support/network.ts';
import { filled, trackerOf } from './support/podcast-app.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const services = await requireServices(
  'three node processes on PostgreSQL, Redis, NATS',
  'postgres',
  'redis',
  'nats',
);
const binaries = requireBinaries('three node processes behind nginx', 'nginx');

/** One network's engines: its database, data folder, Redis prefix and NATS stream. */
interface Deployment {
  tag: string;
  dir: Awaited<ReturnType<typeof scratchDir>>;
  pg: Awaited<ReturnType<typeof scratchPostgres>>;
  /** Where listeners reach it: nginx for the three processes, the node itself for the single. */
  base: string;
}

const listeners = 12;
const ads = 8;
/** Listeners who also open the episode page and play a little of it. */
const players = 6;
/** Listeners who open the episode page just before the kill (and nothing else). */
const viewers = 8;
/** Each ad's impression, start, 3 quartiles and complete stored once (retries folded), and the replays. */
const adBeaconEvents = ads * 6 + ads / 2;

/**
 * Issue 19's proof: three `swarmcast up` processes (the built bundle, as `npm start` runs it)
 * on one real PostgreSQL, Redis and NATS JetStream and one shared data folder, two of them
 * behind a real nginx. The first runs every role; the second web, origin, tracker and
 * measure; the third only seeder and measure, off the proxy. A fourth, single process with
 * every role on engines of its own gets the same traffic, straight (no proxy, no kill).
 * The traffic: listeners open the episode page and play a little (page views, play beacons),
 * download the episode and announce; ad listeners ask for a pre-roll (VMAP, then VAST, read
 * as the player reads them) and play it to the end (impression, start, quartiles, complete,
 * macros filled as the player fills them), then replay their impressions. On the three, the
 * first process is killed with SIGKILL while a burst of downloads and impression beacons is in
 * flight (nginx still sends it every other request), a moment after a burst of episode page
 * views was served (about half of them by the process killed).
 * Checked: no answer the proxy gives is a 5xx; every listener who got the episode is counted
 * once; every acknowledged beacon is stored once (a retried URL is folded); a peer announced
 * to one process is returned by the other (swarms in Redis); the seeding leases move to the
 * third process; and the reports' totals (downloads, plays, impressions, quartiles, spend,
 * invalid share, page views) equal the single process's; every page view served is counted
 * exactly once.
 */
describe.skipIf(services.skip || binaries.skip)('three node processes behind nginx', () => {
  type Proc = { name: string; child: ChildProcess; out: () => string };
  const procs: Proc[] = [];
  let nginx: Nginx;
  let three: Deployment;
  let single: Deployment;

  async function deployment(name: string): Promise<Deployment> {
    return {
      tag: randomBytes(4).toString('hex'),
      dir: await scratchDir(`swarmcast-${name}-`),
      pg: await scratchPostgres(`swarmcast_${name}`),
      base: '',
    };
  }

  function start(name: string, port: number, roles: string, d: Deployment) {
    let out = '';
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist', 'swarmcast.mjs'),
        'up',
        '--port',
        String(port),
        '--data',
        d.dir.path,
        '--roles',
        roles,
      ],
      {
        cwd: d.dir.path,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          DATABASE_URL: d.pg.url,
          REDIS_URL: serviceUrl('redis'),
          NATS_URL: serviceUrl('nats'),
          SWARMCAST_REDIS_PREFIX: `sc${d.tag}:`,
          SWARMCAST_NATS_STREAM: `SC${d.tag}`,
          SWARMCAST_NATS_SUBJECTS: `sc${d.tag}`,
          SWARMCAST_PUBLIC_URL: d.base,
          SWARMCAST_TRUST_PROXY: '127.0.0.1',
          SWARMCAST_SEED_LEASE_MS: '3000',
          SWARMCAST_LOG_LEVEL: 'warn',
        },
      },
    );
    child.stdout?.on('data', (x) => (out += String(x)));
    child.stderr?.on('data', (x) => (out += String(x)));
    const p = { name, child, out: () => out };
    procs.push(p);
    return p;
  }

  async function up(p: Proc) {
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
    [three, single] = await Promise.all([deployment('3proc'), deployment('1proc')]);
    const [p1, p2, p3, p4, proxyPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    three.base = `http://127.0.0.1:${proxyPort}`;
    single.base = `http://127.0.0.1:${p4}`;
    nginx = await startNginx({
      dir: three.dir.path,
      upstream: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`],
      port: proxyPort,
    });
    // The first publishes the demo (and so holds its seeding leases); then the others join.
    const a = start('A (all roles)', p1, 'all', three);
    const d = start('D (single process, all roles)', p4, 'all', single);
    await up(a);
    const b = start('B (web, origin, tracker, measure)', p2, 'web,origin,tracker,measure', three);
    const c = start('C (seeder, measure)', p3, 'seeder,measure', three);
    await Promise.all([up(b), up(c), up(d)]);
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
    const redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
    const nc = await connect({ servers: serviceUrl('nats') });
    for (const d of [three, single]) {
      if (!d) continue;
      await d.pg.drop();
      await d.dir.remove();
      // This run's swarms in Redis and its JetStream stream.
      const keys = await redis.keys(`sc${d.tag}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await (await nc.jetstreamManager()).streams.delete(`SC${d.tag}`).catch(() => {});
    }
    redis.disconnect();
    await nc.close();
  }, 60_000);

  async function leases(db: Db) {
    const r = await db.query<{ name: string; holder: string }>(
      'select name, holder from platform_leases where expires_at >= $1 order by name',
      [Date.now()],
    );
    return r.rows;
  }

  /**
   * The same traffic for either network. `kill` is called once the second burst of downloads
   * has its first answer, with that burst's impression beacons in flight.
   */
  async function traffic(n: Network, seen: Seen, kill: () => void = () => {}) {
    const pageViewsBefore = await pageViews(n);
    const firstAds = await Promise.all(Array.from({ length: ads / 2 }, (_, i) => impressionOf(n, i)));
    const firstAcked = await Promise.all(firstAds.map((b) => fire(seen, b)));
    // Decided now, their beacons fired while the second burst downloads (and A is killed).
    const secondAds = await Promise.all(
      Array.from({ length: ads / 2 }, (_, i) => impressionOf(n, ads / 2 + i)),
    );
    const played = await Promise.all(Array.from({ length: players }, (_, i) => viewAndPlay(n, seen, i)));
    const first = await Promise.all(Array.from({ length: listeners / 2 }, (_, i) => listen(n, seen, i)));
    await waitFor(
      async () => (await creatorReport(n)).totals.downloads === listeners / 2,
      60_000,
      `${listeners / 2} downloads in the report of ${n.base}`,
      500,
    );
    // Page views served a moment before the kill (no wait for anything to be written): each
    // one served must be counted once, also those the killed process served.
    const viewed = await Promise.all(
      Array.from({ length: viewers }, (_, i) => viewPage(n, seen, players + i)),
    );
    let answered: () => void = () => {};
    const inFlight = new Promise<void>((r) => {
      answered = r;
    });
    const second = Promise.all(
      Array.from({ length: listeners / 2 }, (_, i) => listen(n, seen, listeners / 2 + i, answered)),
    );
    await inFlight;
    const beaconsDuringKill = Promise.all(secondAds.map((b) => fire(seen, b)));
    kill();
    const rest = await second;
    const acked = [...firstAcked, ...(await beaconsDuringKill)];
    // An app that does not trust what it was told during the outage sends those impressions
    // again, the very same URLs (nginx does the same when an upstream breaks mid-answer):
    // each must fold into the event already stored, on whichever process stored it.
    const retried = await Promise.all(secondAds.map((b) => fire(seen, b)));
    for (let peer = 0; peer < 5; peer++) {
      const r = await announce(n, peer);
      expect(r.ok ? 'ok' : r.error).toBe('ok');
    }
    // A sixth peer gets the five back, whichever tracker process answers (swarms in Redis).
    const swarm = await announce(n, 5);
    await playAds(seen, [...firstAds, ...secondAds]);
    // A player that lost the acknowledgements sends the first impressions again (new
    // cache-buster: new events, which measurement judges duplicates).
    const replays = await Promise.all(
      firstAds.map((b) => fire(seen, { ...b, url: filled(trackerOf(b.ad, 'impression'), 0) })),
    );
    return {
      played,
      viewed,
      pageViews: pageViewsBefore + players + viewers,
      downloaded: [...first, ...rest],
      acked,
      retried,
      replays,
      swarm,
    };
  }

  /** Once every acknowledged event is stored and counted (`views` page views): the totals. */
  async function settled(n: Network, views: number) {
    await waitFor(
      async () =>
        (await pageViews(n)) >= views &&
        (await beaconEvents(n, 'ad')) >= adBeaconEvents &&
        (await beaconEvents(n, 'play')) >= players * 2 &&
        (await creatorReport(n)).totals.downloads === listeners &&
        (await creatorReport(n)).totals.plays === players &&
        (await delivered(n, 'impressions')) === ads,
      60_000,
      `every event counted on ${n.base}`,
      250,
    ).catch(() => {});
    return totals(n);
  }

  it('serves one network through the proxy, survives kill -9 of a process, counts as one process does', async () => {
    const [a, c] = ['A', 'C'].map((x) => procs.find((p) => p.name.startsWith(x))!) as [Proc, Proc];
    const [n3, n1] = await Promise.all([
      openNetwork(three.base, three.dir.path, three.pg.url),
      openNetwork(single.base, single.dir.path, single.pg.url),
    ]);
    try {
      // One seeder per demo episode: A published them, so A holds all three leases.
      const before = await leases(n3.db);
      expect(before).toHaveLength(3);
      for (const l of before) expect(l.holder).toContain(`:${a.child.pid}:`);

      const seen3: Seen = { statuses: [], beaconStatuses: [], retried: 0 };
      const seen1: Seen = { statuses: [], beaconStatuses: [], retried: 0 };
      let killedAt = 0;
      const kill = () => {
        a.child.kill('SIGKILL');
        killedAt = Date.now();
      };
      // Both networks at once (the single process is not behind the proxy and is never killed).
      const [r3, r1] = await Promise.all([traffic(n3, seen3, kill), traffic(n1, seen1)]);
      const proxyLog = await readFile(join(three.dir.path, 'error.log'), 'utf8').catch(() => '');
      for (const [r, seen] of [
        [r3, seen3],
        [r1, seen1],
      ] as const) {
        expect(r.downloaded.every(Boolean), `${seen.statuses}\n${proxyLog.slice(-3000)}`).toBe(true);
        expect(r.played, `${seen.statuses} ${seen.beaconStatuses}`).toEqual(Array(players).fill(true));
        expect(r.viewed, `${seen.statuses}`).toEqual(Array(viewers).fill(true));
        expect([...r.acked, ...r.retried], `${seen.beaconStatuses}`).toEqual(Array(ads + ads / 2).fill(true));
        expect(r.replays, `${seen.beaconStatuses}`).toEqual(Array(ads / 2).fill(true));
        expect(r.swarm.ok ? r.swarm.value.peers : r.swarm.error).toEqual(
          expect.arrayContaining(
            Array.from({ length: 5 }, (_, p) => ({ host: '127.0.0.1', port: 7000 + p })),
          ),
        );
        expect(
          [...seen.statuses, ...seen.beaconStatuses].filter((s) => s >= 500),
          proxyLog.slice(-3000),
        ).toEqual([]);
      }

      // The seeding leases moved to C (the only seeder left) within the lease time and a round.
      const moved = await waitFor(
        async () => {
          const now = await leases(n3.db);
          return now.length === 3 && now.every((l) => l.holder.includes(`:${c.child.pid}:`)) ? now : null;
        },
        30_000,
        'the seeding leases to move to C',
        250,
      );
      expect(moved).toHaveLength(3);
      const tookOverMs = Date.now() - killedAt;

      // Every listener, play, ad and beacon counted once, whichever process served, stored or
      // retried it: the three processes' reports say what the single process's say.
      const [t3, t1] = await Promise.all([settled(n3, r3.pageViews), settled(n1, r1.pageViews)]);
      // Every page view served counted once: none lost with the killed process, none twice.
      expect(t3.pageViews, 'page views on the three processes').toBe(r3.pageViews);
      expect(t1.pageViews, 'page views on the single process').toBe(r1.pageViews);
      expect(t1.creator).toEqual({
        downloads: listeners,
        plays: players,
        revenueMicros: t1.creator.revenueMicros,
      });
      expect(t1.delivery.reduce((s, d) => s + d.impressions, 0)).toBe(ads);
      expect(t1.delivery.reduce((s, d) => s + d.complete, 0)).toBe(ads);
      expect(t1.adBeaconEvents).toBe(adBeaconEvents);
      expect(t3).toEqual(t1);
      console.log(
        `[3 processes vs 1] ${listeners} listeners through nginx, A killed (SIGKILL) mid-burst: ${seen3.statuses.length} answers, 0 5xx, ${seen3.retried} client retries; ${ads} ads played to the end (${ads / 2} impressions fired during the kill and retried, ${ads / 2} replayed; ${seen3.beaconStatuses.length} beacon requests, ${t3.adBeaconEvents} stored); ${players} page views and plays, ${viewers} page views just before the kill, ${t3.pageViews} counted; leases A -> C in ${tookOverMs} ms; report totals equal the single process's: ${JSON.stringify(t3.creator)} ${JSON.stringify(t3.advertiser)}`,
      );
    } finally {
      await n3.db.close();
      await n1.db.close();
    }
  }, 240_000);
});
