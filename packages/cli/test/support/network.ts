import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpTracker } from '@swarmcast/bittorrent';
import { openDb } from '@swarmcast/platform';
import type { LinearEvent } from '@swarmcast/player';
import { expect } from 'vitest';
import {
  filled,
  type Headers,
  listenerHeaders,
  type PreRoll,
  playBeacons,
  preRoll,
  send,
  trackerOf,
} from './podcast-app.ts';

/**
 * A running Swarmcast network as the multi-process proof drives it (the same traffic for the
 * three processes behind nginx and for the single process), and what its reports say.
 */
export type Db = Awaited<ReturnType<typeof openDb>>;

export interface Network {
  /** Where listeners reach it: the proxy, or the node itself. */
  base: string;
  db: Db;
  token: string;
  owner: string;
  episodeId: string;
  durationMs: number;
  /** The plain file of the first episode and its bytes. */
  media: string;
  original: Buffer;
  infoHash: string;
}

/** Statuses and client retries one run of the traffic saw. */
export interface Seen {
  statuses: number[];
  beaconStatuses: number[];
  retried: number;
}

/** The demo network at `base`, whose data folder is `dir` and database `databaseUrl`. */
export async function openNetwork(base: string, dir: string, databaseUrl: string): Promise<Network> {
  const db = await openDb({ databaseUrl });
  const feed = await (await fetch(`${base}/shows/swarmcast-demo/feed.xml`)).text();
  // The plain file of the first episode (the alternate of a stitched enclosure).
  const media = /<podcast:source uri="([^"]*\/media\/[^"]+)"/.exec(feed)?.[1] ?? '';
  const episode = (
    await db.query<{ id: string; duration_ms: number }>(
      "select id, duration_ms from catalog_episodes where title = 'Welcome to Swarmcast'",
    )
  ).rows[0]!;
  const owner = await db.query<{ owner_id: string }>(
    "select owner_id from catalog_shows where slug = 'swarmcast-demo'",
  );
  return {
    base,
    db,
    token: (await readFile(join(dir, 'admin-token'), 'utf8')).trim(),
    owner: owner.rows[0]!.owner_id,
    episodeId: episode.id,
    durationMs: Number(episode.duration_ms),
    media,
    original: await readFile(join(dir, 'media', new URL(media).pathname.slice('/media/'.length))),
    infoHash: /urn:btih:([0-9a-f]{40})/i.exec(feed)?.[1] ?? '',
  };
}

const day = (offset: number) => new Date(Date.now() + offset).toISOString().slice(0, 10);
const period = () => `from=${day(0)}&to=${day(86_400_000)}`;
const api = async <T>(n: Network, path: string): Promise<T> =>
  (await (await fetch(`${n.base}${path}`, { headers: { authorization: `Bearer ${n.token}` } })).json()) as T;

export type Delivery = Record<
  'impressions' | 'starts' | 'firstQuartile' | 'midpoint' | 'thirdQuartile' | 'complete',
  number
>;

/** The creator report: downloads and plays as the pipeline counted them. */
export const creatorReport = (n: Network) =>
  api<{ totals: { downloads: number | null; plays: number | null; revenueMicros: number } }>(
    n,
    `/api/measure/creator/${n.owner}?${period()}`,
  );

/** The house advertiser's report (a fresh node fills every break with the house ad). */
export const houseReport = (n: Network) =>
  api<{
    totals: { impressions: number; spendMicros: number; ivtShare: number };
    campaigns: Array<{ delivery: Delivery & Record<string, unknown> }>;
  }>(n, `/api/measure/advertiser/swarmcast-house?${period()}`);

export const delivered = async (n: Network, field: keyof Delivery) =>
  (await houseReport(n)).campaigns.reduce((sum, c) => sum + c.delivery[field], 0);

const count = async (n: Network, sql: string) => Number((await n.db.query<{ n: string }>(sql)).rows[0]!.n);
/** Episode page views counted so far (catalog_episodes.views). */
export const pageViews = (n: Network) =>
  count(n, 'select coalesce(sum(views), 0) as n from catalog_episodes');
/** Beacon events measurement stored (each once, by its event id). */
export const beaconEvents = (n: Network, kind: 'ad' | 'play') =>
  count(n, `select count(*) as n from measure_events where subject like '%beacon.${kind}'`);

/** What the network's reports say: equal for equal traffic, however many processes served it. */
export async function totals(n: Network) {
  const house = await houseReport(n);
  return {
    creator: (await creatorReport(n)).totals,
    advertiser: house.totals,
    delivery: house.campaigns.map((c) => c.delivery),
    pageViews: await pageViews(n),
    adBeaconEvents: await beaconEvents(n, 'ad'),
    playBeaconEvents: await beaconEvents(n, 'play'),
  };
}

/** Listener `i` downloads the episode's file; retried (as apps do) when its answer breaks. */
export async function listen(n: Network, seen: Seen, i: number, answered = () => {}): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const r = await fetch(n.media, { headers: listenerHeaders(i) });
      seen.statuses.push(r.status);
      answered();
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status === 200 && body.equals(n.original)) return true;
    } catch {
      // The connection broke mid-answer (its process was killed): an app retries.
    }
    seen.retried++;
  }
  return false;
}

/** Listener `i` opens the episode's page: true once the whole page was served. */
export async function viewPage(n: Network, seen: Seen, i: number): Promise<boolean> {
  const page = await fetch(`${n.base}/episodes/${n.episodeId}`, { headers: listenerHeaders(i) });
  seen.statuses.push(page.status);
  const body = await page.text();
  return page.status === 200 && body.includes('</html>');
}

/** Listener `i` opens the episode's page, plays two seconds of it and leaves (play beacons). */
export async function viewAndPlay(n: Network, seen: Seen, i: number): Promise<boolean> {
  let ok = await viewPage(n, seen, i);
  for (const b of playBeacons(`sess-${i}`, n.episodeId, n.durationMs, 2000)) {
    const init = {
      method: 'POST',
      headers: { ...listenerHeaders(i), 'content-type': 'application/json' },
      body: JSON.stringify(b),
    };
    ok = (await send(`${n.base}/beacon/play`, init, seen.beaconStatuses)) && ok;
  }
  return ok;
}

/** Ad listener `i`'s pre-roll and its impression URL, every macro filled by the player. */
export async function impressionOf(n: Network, i: number): Promise<PreRoll & { url: string }> {
  const p = await preRoll(n.base, n.episodeId, i);
  const url = filled(trackerOf(p.ad, 'impression'), 0);
  expect(url, 'every macro filled').not.toMatch(/\[[A-Z]+\]/);
  return { ...p, url };
}

export const fire = (seen: Seen, b: { url: string; headers: Headers }) =>
  send(b.url, { headers: b.headers }, seen.beaconStatuses);

const steps: Array<[LinearEvent, number]> = [
  ['start', 0],
  ['firstQuartile', 0.25],
  ['midpoint', 0.5],
  ['thirdQuartile', 0.75],
  ['complete', 1],
];

/**
 * The ads play to the end together: start, then each quartile once that share of the ad's
 * media has played since start (the rules judge a sooner one fabricated), as players send
 * them: no step waits for the last to be counted. With several consumers a quartile's batch
 * may commit before its start's; the pipeline holds it until then (measure's rules/hold.ts),
 * so the totals still equal the single process's.
 */
export async function playAds(seen: Seen, played: readonly PreRoll[]): Promise<void> {
  let startedAt = 0;
  for (const [event, share] of steps) {
    const due = Math.max(...played.map((p) => startedAt + share * p.ad.durationMs)) - Date.now();
    if (share > 0 && due > 0) await new Promise((r) => setTimeout(r, due));
    const acked = await Promise.all(
      played.map((p) =>
        fire(seen, { url: filled(trackerOf(p.ad, event), share * p.ad.durationMs), headers: p.headers }),
      ),
    );
    expect(acked, `${event}: ${seen.beaconStatuses}`).toEqual(played.map(() => true));
    if (event === 'start') startedAt = Date.now();
  }
}

/** Peer `peer` announces the episode's torrent through `n`. */
export function announce(n: Network, peer: number) {
  return new HttpTracker(`${n.base}/announce`).announce({
    infoHash: Buffer.from(n.infoHash, 'hex'),
    peerId: Buffer.from(`-TS0001-${String(peer).padStart(12, '0')}`),
    port: 7000 + peer,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
  });
}
