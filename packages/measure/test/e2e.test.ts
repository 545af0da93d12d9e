import { AdsStore, adsPlugin, generateSigningKey, keyRing, publicKeysOf } from '@swarmcast/ads';
import type { EpisodeForAds } from '@swarmcast/catalog';
import { Ledger, ledgerMigrations } from '@swarmcast/ledger';
import {
  type Db,
  type EventStream,
  ManualClock,
  migrate,
  openDb,
  openEventStream,
} from '@swarmcast/platform';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureMigrations } from '../src/pipeline/migrations.ts';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { type MeasureHandle, measurePlugin } from '../src/plugin.ts';
import { verifyStatementBundle } from '../src/statements/statement.ts';
import { testEdge } from './support/edge.ts';
import { dl } from './support/facts.ts';
import { episode1 } from './support/scenario.ts';

/**
 * The proof: publish an episode (registered through measurement's port, as the
 * catalog does on publish), request VMAP and VAST from the real ad server, fire a
 * realistic mix of good and fraudulent beacons at the collector over HTTP, let the
 * pipeline run on the embedded stream, and check every figure and balance exactly.
 */
const t0 = Date.UTC(2026, 11, 7, 9); // Monday 7 December 2026, 09:00 UTC
const clock = new ManualClock(t0);
const ring = keyRing(generateSigningKey('e2e-key'));
let db: Db;
let stream: EventStream;
let app: FastifyInstance;
let measure: MeasureHandle;
let dir: { path: string; remove(): Promise<void> };
let store: AdsStore;

const adsEpisode: EpisodeForAds = {
  id: 'ep1',
  showId: 'show',
  creatorId: 'creator',
  title: 'Episode 1',
  durationMs: 600_000,
  language: 'en',
  categories: ['technology'],
  mediaKind: 'audio',
  adBreaks: [{ id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 30_000, maxAds: 1 }],
};

beforeAll(async () => {
  dir = await scratchDir('measure-e2e');
  db = await openDb({ inMemory: true });
  await migrate(db, [...ledgerMigrations, ...measureMigrations]);
  stream = await openEventStream({ dataDir: dir.path });
  store = new AdsStore();
  store.putAdvertiser({ id: 'acme', name: 'Acme' });
  store.putCampaign({
    id: 'spring',
    advertiserId: 'acme',
    name: 'Spring',
    startsAt: t0 - 86_400_000,
    endsAt: t0 + 30 * 86_400_000,
    currency: 'EUR',
    totalBudgetMicros: 1_000_000_000,
    dailyBudgetMicros: 0,
    paused: false,
  });
  store.putCreative({
    id: 'cr1',
    advertiserId: 'acme',
    name: 'Thirty seconds',
    mediaKind: 'audio',
    mimeType: 'audio/mpeg',
    durationMs: 30_000,
    bytes: 480_000,
    width: 0,
    height: 0,
    mediaUrl: 'http://node.test/ads/media/cr1.mp3',
    alternates: [],
    clickThroughUrl: 'https://acme.example/',
    universalAdId: { registry: 'ad-id.org', value: 'ACME0001000H' },
    approval: 'approved',
  });
  store.putLineItem({
    id: 'li1',
    campaignId: 'spring',
    name: 'Run of network',
    priority: 'standard',
    goal: { kind: 'impressions', impressions: 1_000_000 },
    cpmMicros: 20_000_000,
    targeting: {},
    caps: [],
    pacing: 'asap',
    exclusionCategories: [],
    creativeIds: ['cr1'],
    paused: false,
  });
  app = Fastify();
  await adsPlugin(app, {
    episodes: (id) => (id === 'ep1' ? adsEpisode : null),
    keys: () => ring,
    clock,
    publicUrl: 'http://node.test',
    mediaDir: dir.path,
    adminToken: '',
    store,
    tokenTtlMs: 3_600_000,
  });
  measure = await measurePlugin(app, {
    db,
    stream,
    edge: testEdge,
    publicKeys: () => publicKeysOf(ring),
    statementKey: generateSigningKey('st-e2e'),
    clock,
    // The portal's account check is web's (packages/node/test/measure-access.test.ts).
    authorize: () => true,
  });
  await registerEpisode(db, episode1);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await stream?.close();
  await db?.close();
  await dir?.remove();
});

const xmlText = (s: string) => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** Asks the ad server for the pre-roll as a player would: VMAP, then the VAST it points to. */
async function requestAd(listener: number, ua: string): Promise<Record<string, string>> {
  const headers = { 'user-agent': ua };
  const remoteAddress = `198.51.100.${listener}`;
  const vmap = await app.inject({ url: `/ads/vmap?episode=ep1&lid=lid-${listener}`, headers, remoteAddress });
  expect(vmap.statusCode).toBe(200);
  const tag = /<vmap:AdTagURI[^>]*>([^<]+)<\/vmap:AdTagURI>/.exec(vmap.body)?.[1];
  expect(tag).toBeDefined();
  const vastUrl = new URL(xmlText(tag!));
  const vast = await app.inject({ url: vastUrl.pathname + vastUrl.search, headers, remoteAddress });
  const urls: Record<string, string> = {};
  const impression = /<Impression[^>]*>([^<]+)<\/Impression>/.exec(vast.body);
  expect(impression, vast.body).not.toBeNull();
  urls.impression = xmlText(impression![1]!);
  for (const m of vast.body.matchAll(/<Tracking event="(\w+)">([^<]+)<\/Tracking>/g))
    urls[m[1]!] = xmlText(m[2]!);
  urls.click = xmlText(/<ClickTracking[^>]*>([^<]+)<\/ClickTracking>/.exec(vast.body)![1]!);
  return urls;
}

let cb = 0;
/** Fires a tracking URL as a player does: fill the VAST macros, GET it from the listener's address. */
async function fire(url: string, listener: number, ua: string, playheadMs = 0) {
  const filled = url
    .replace('[TIMESTAMP]', encodeURIComponent(new Date(clock.now()).toISOString()))
    .replace('[ADPLAYHEAD]', `00:00:${String(Math.floor(playheadMs / 1000)).padStart(2, '0')}.000`)
    .replace('[CACHEBUSTING]', String(++cb))
    .replace('[MEDIAPLAYHEAD]', '00:00:00.000')
    .replace('[BREAKPOSITION]', '1');
  const u = new URL(filled);
  const r = await app.inject({
    url: u.pathname + u.search,
    headers: { 'user-agent': ua },
    remoteAddress: `198.51.100.${listener}`,
  });
  expect([200, 204]).toContain(r.statusCode);
  return r;
}

const player = (i: number) => `SwarmcastPlayer/1.0 (listener ${i})`;

describe('end to end: VMAP/VAST -> beacons -> pipeline -> reports and ledger', () => {
  it('counts, filters, charges, refunds and reports exactly', async () => {
    // Listeners 1-6 hear the pre-roll to the end; listener 6 leaves after the midpoint; 1 clicks.
    const quartiles = [
      ['start', 0],
      ['firstQuartile', 7_500],
      ['midpoint', 15_000],
      ['thirdQuartile', 22_500],
      ['complete', 30_000],
    ] as const;
    for (let i = 1; i <= 6; i++) {
      clock.set(t0 + i * 60_000);
      const urls = await requestAd(i, player(i));
      const began = clock.now();
      await fire(urls.impression!, i, player(i));
      for (const [event, at] of quartiles) {
        if (i === 6 && at > 15_000) break;
        clock.set(began + at);
        await fire(urls[event]!, i, player(i), at);
      }
      if (i === 1) {
        await fire(urls.click!, i, player(i), 30_000);
        await fire(urls.impression!, i, player(i)); // a replayed impression
      }
    }
    // Fraud 1: a forged token (the claims edited to a cheaper CPM, the signature kept).
    clock.set(t0 + 20 * 60_000);
    const f = await requestAd(20, player(20));
    const token = new URL(f.impression!).searchParams.get('t')!;
    // A pod token (ads' tracking-contract.ts): the ad's claims as an array (cpmMicros at 13),
    // the pod's signature and hash list.
    const [body, sig, hashes] = token.split('.') as [string, string, string];
    const edited = JSON.parse(Buffer.from(body, 'base64url').toString());
    edited[13] = 1;
    await fire(
      f.impression!.replace(
        token,
        `${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${sig}.${hashes}`,
      ),
      20,
      player(20),
    );
    // Fraud 2: a crawler fetching the tracking URL.
    const b = await requestAd(21, 'Googlebot/2.1 (+http://www.google.com/bot.html)');
    await fire(b.impression!, 21, 'Googlebot/2.1 (+http://www.google.com/bot.html)');
    // Fraud 3: impression, start, and complete 5 s later (charged, then refunded).
    const fast = await requestAd(22, player(22));
    await fire(fast.impression!, 22, player(22));
    await fire(fast.start!, 22, player(22));
    clock.set(clock.now() + 5_000);
    await fire(fast.complete!, 22, player(22), 30_000);
    // Fraud 4: a token used after it expired (the ad server gives them an hour).
    const late = await requestAd(23, player(23));
    clock.set(clock.now() + 2 * 3_600_000);
    await fire(late.impression!, 23, player(23));
    // Hostile: garbage the collector refuses at the door (still 204).
    await fire('http://node.test/beacon/ad/explode?t=x', 24, player(24));

    // The origin's download facts, published as the origin does (same edge, same keys).
    const keyOf = async (i: number) => (await testEdge(`198.51.100.${i}`, player(i), 0)).audienceKey;
    const facts = [];
    for (const i of [1, 2, 3, 4, 5, 6]) {
      const f = dl({ time: t0 + i * 60_000, path: episode1.path, audienceKey: await keyOf(i) });
      facts.push({ id: f.id, subject: 'fact.download', data: f });
    }
    await stream.publish(facts);
    // Listeners 1-6 play the episode in the player: start, then stop after i minutes.
    for (let i = 1; i <= 6; i++) {
      const beacon = (seq: number, event: string, ms: number) => ({
        v: 1,
        sessionId: `session-${i}`,
        seq,
        listenerId: `lid-${i}`,
        episodeId: 'ep1',
        event,
        positionMs: ms,
        durationMs: 600_000,
        listenedMs: ms,
        bytesFromPeers: ms * 8,
        bytesFromWebSeed: ms * 2,
      });
      const post = (payload: object) =>
        app.inject({
          method: 'POST',
          url: '/beacon/play',
          payload,
          headers: { 'user-agent': player(i) },
          remoteAddress: `198.51.100.${i}`,
        });
      clock.set(t0 + 3 * 3_600_000 + i * 1_000_000);
      expect((await post(beacon(0, 'start', 0))).statusCode).toBe(204);
      clock.set(clock.now() + i * 60_000);
      expect((await post(beacon(1, 'stop', i * 60_000))).statusCode).toBe(204);
    }

    const published = 6 * 6 - 2 + 2 + 1 + 1 + 3 + 1 + 6 + 12; // beacons accepted + facts + plays
    await waitFor(
      async () => (measure.pipeline?.totals.processed ?? 0) >= published && (await measure.lag()) === 0,
      20_000,
      'the pipeline to catch up',
    );
    expect(measure.collector.accepted).toBe(published - 6);
    expect(measure.collector.rejected).toEqual({ 'unknown-event': 1 });

    // Advertiser: 6 impressions (listeners 1-6), 5 complete, 1 click; spend 6 x 20,000 micros.
    const period = 'from=2026-12-07&to=2026-12-08';
    const adv = (await app.inject(`/api/measure/advertiser/acme?${period}`)).json();
    expect(adv.campaigns).toHaveLength(1);
    expect(adv.campaigns[0]).toMatchObject({
      campaignId: 'spring',
      spendMicros: 120_000,
      delivery: {
        impressions: 6,
        starts: 6,
        firstQuartile: 6,
        midpoint: 6,
        thirdQuartile: 5,
        complete: 5,
        completionRate: 5 / 6,
        clicks: 1,
        reach: 6,
        frequency: 1,
        invalidByReason: { duplicate: 1, bot: 1, 'decision-invalid': 2, 'too-fast': 1 },
      },
    });

    // Ledger: 7 charged, 1 refunded; creator 70 %; balanced.
    const ledger = new Ledger(db);
    expect(await ledger.balance('advertiser:acme')).toBe(-120_000);
    expect(await ledger.balance('creator:creator')).toBe(84_000);
    expect(await ledger.balance('platform')).toBe(36_000);
    expect((await ledger.check()).balanced).toBe(true);

    // Creator: 6 downloads, revenue 84,000 micros on episode 1.
    const creator = (await app.inject(`/api/measure/creator/creator?${period}`)).json();
    expect(creator.totals).toEqual({ downloads: 6, plays: 6, revenueMicros: 84_000 });
    const e1 = creator.episodes[0];
    expect(e1.corroboratedShare).toBe(1);
    // Every player sent its (monthly) listener id and the week lies inside December: exact.
    expect(e1.listeners).toEqual({
      day: [{ day: Date.UTC(2026, 11, 7), value: 6, exact: true }],
      week: [{ day: Date.UTC(2026, 11, 7), value: 6, exact: true }],
      month: [{ day: Date.UTC(2026, 11, 1), value: 6, exact: true }],
    });
    // Positions 1..6 minutes of 10: deciles 0 and 1 reached by all, 2 by 5, ..., 6 by 1.
    expect(e1.listenThrough).toEqual([6, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0].map((n) => n / 6));
    expect(e1.p2p).toEqual({ peers: 21 * 60_000 * 8, webSeed: 21 * 60_000 * 2, share: 0.8 });

    // Admin: forged and expired tokens kept with their reasons.
    const admin = (await app.inject(`/api/measure/admin?${period}`)).json();
    const n = (reason: string) =>
      admin.events.find(
        (e: { subject: string; reason: string }) => e.subject === 'beacon.ad' && e.reason === reason,
      )?.count;
    expect([n('forged'), n('expired'), n('bot'), n('duplicate'), n('too-fast')]).toEqual([1, 1, 1, 1, 1]);
    expect(admin.streamLag).toBe(0);
    expect(admin.books.balanced).toBe(true);

    // Audience breakdown: the six downloads, one cell per dimension value, k-suppressed.
    const audience = (await app.inject(`/api/measure/creator/creator/audience?${period}`)).json();
    expect(audience.total).toBe(6);

    // The next morning, the day's signed statements: the advertiser's invoice line and the
    // creator's earnings, verified against the published key without trusting the node.
    clock.set(Date.UTC(2026, 11, 8, 3));
    const keys = (await app.inject('/.well-known/swarmcast-statements.json')).json();
    const spring = (await app.inject('/api/measure/statements/campaign/spring?day=2026-12-07')).json();
    expect(spring.statement).toMatchObject({
      account: 'advertiser:acme',
      counts: { impressions: 7, deliveries: 0, refunds: 1 },
      totalMicros: 120_000,
    });
    expect(verifyStatementBundle(spring, keys)).toMatchObject({
      ok: true,
      problems: [],
      totalMicros: 120_000,
    });
    const ep1 = (await app.inject('/api/measure/statements/episode/ep1?day=2026-12-07')).json();
    expect(ep1.statement).toMatchObject({ account: 'creator:creator', totalMicros: 84_000 });
    expect(verifyStatementBundle(ep1, keys).ok).toBe(true);
  });
});
