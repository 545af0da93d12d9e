import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { latestEpisodes } from '@swarmcast/catalog';
import { openDb } from '@swarmcast/platform';
import {
  type OwnPostgres,
  ownPostgres,
  postgresBinDir,
  requireServices,
  scratchDir,
} from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * Fault injection: the node's PostgreSQL is restarted (immediate stop: every connection
 * reset) under page and beacon load. The node must live, answer 503 with a coded body (never
 * a 500 with the driver's text) while the database is away, recover by itself, and lose no
 * acknowledged beacon. The cluster is the test's own (own data dir, own port), so the
 * shared server on 5432 is never touched.
 */
const services = await requireServices('PostgreSQL restart under load', 'postgres');
const noBinaries = postgresBinDir() === null;
if (noBinaries && process.env.SWARMCAST_REQUIRE_SERVICES === '1')
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are missing under /usr/lib/postgresql');

let pg: OwnPostgres;
let node: RunningNode;
let dir: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  if (services.skip || noBinaries) return;
  pg = await ownPostgres();
  dir = await scratchDir('faults-pg-');
  node = await startNode({
    port: 0,
    host: '127.0.0.1',
    dataDir: join(dir.path, 'node'),
    databaseUrl: pg.url,
  });
}, 120_000);

afterAll(async () => {
  await node?.close().catch(() => {});
  await pg?.remove();
  await dir?.remove();
});

describe.skipIf(services.skip || noBinaries)('fault: PostgreSQL restarts under load', () => {
  it('the node lives, answers 503 with a code during the outage, recovers, and loses no acknowledged beacon', async () => {
    const episode = (await latestEpisodes(node.db, 10))[0];
    expect(episode, 'the demo show is published').toBeDefined();
    const pages = [
      node.url,
      new URL(`/episodes/${episode!.id}`, node.url).toString(),
      new URL('/api/search?q=swarm', node.url).toString(),
    ];
    const acked = new Set<string>();
    const statuses = new Map<number, number>();
    const leaks: string[] = [];
    let sent = 0;
    let stop = false;
    const sessionId = randomUUID();
    let seq = 0;

    const pageLoop = async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const res = await fetch(pages[i % pages.length]!, { signal: AbortSignal.timeout(20_000) }).catch(
          () => null,
        );
        if (!res) continue;
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) {
          if (res.status !== 503 || !text.includes('PLT_DB_UNAVAILABLE'))
            leaks.push(`${res.status} ${text.slice(0, 200)}`);
          if (/\/tmp\/|\/work\/|ECONN|terminat|postgres/i.test(text))
            leaks.push(`${res.status} ${text.slice(0, 200)}`);
        }
      }
    };
    const beaconLoop = async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const s = seq++;
        const body = {
          v: 1,
          sessionId,
          seq: s,
          listenerId: null,
          episodeId: episode!.id,
          event: s === 0 ? 'start' : 'progress',
          positionMs: s * 1000,
          durationMs: 3_600_000,
          listenedMs: s * 1000,
          bytesFromPeers: 0,
          bytesFromWebSeed: 0,
        };
        sent++;
        const res = await fetch(new URL('/beacon/play', node.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(20_000),
        }).catch(() => null);
        if (!res) continue;
        await res.arrayBuffer();
        if (res.status === 204) acked.add(`play:${sessionId}:${s}`);
      }
    };
    const load = Promise.all([pageLoop(), pageLoop(), beaconLoop()]);
    // Let load run, then stop the database hard, keep it away while load goes on, restart.
    await until(() => acked.size >= 20, 60_000, 'beacons before the outage');
    await pg.stop();
    const ackedBefore = acked.size;
    await until(
      () => (statuses.get(503) ?? 0) >= 3 || acked.size >= ackedBefore + 20,
      60_000,
      'load during the outage',
    );
    await pg.start();
    // Recovery: a page answers 200 again, with no restart of the node.
    await until(
      async () => (await fetch(pages[1]!).catch(() => null))?.status === 200,
      60_000,
      'pages answer again',
    );
    stop = true;
    await load;
    // Every acknowledged beacon reaches the database once the pipeline catches up.
    const db = await openDb({ databaseUrl: pg.url, dataDir: join(dir.path, 'check') });
    try {
      await until(
        async () => {
          const r = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM measure_play_events WHERE session_id = $1',
            [sessionId],
          );
          return Number(r.rows[0]?.n) >= acked.size;
        },
        120_000,
        'acknowledged beacons in measure_play_events',
      );
      const stored = await db.query<{ event_id: string }>(
        'SELECT event_id FROM measure_play_events WHERE session_id = $1',
        [sessionId],
      );
      const have = new Set(stored.rows.map((r) => r.event_id));
      const lost = [...acked].filter((id) => !have.has(id));
      console.log(
        `[fault pg-restart] beacons sent ${sent}, acknowledged ${acked.size}, stored ${have.size}, lost ${lost.length}; page statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      expect(lost).toEqual([]);
    } finally {
      await db.close();
    }
    expect(leaks).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});

/** Waits for a condition, checking it after each short pause, up to a generous bound. */
async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
