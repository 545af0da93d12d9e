import {
  AdsStore,
  adsMigrations,
  type Campaign,
  type Creative,
  campaignReport,
  type DecisionClaims,
  decideBreak,
  generateSigningKey,
  keyRing,
  type LineItem,
  loadStore,
  MeasuredFeedback,
  publicKeysOf,
  saveAdvertiser,
  saveCampaign,
  saveCreative,
  saveLineItem,
} from '@swarmcast/ads';
import type { EpisodeForAds } from '@swarmcast/catalog';
import { Ledger } from '@swarmcast/ledger';
import {
  type AudienceKey,
  type Consumer,
  type Db,
  type EventStream,
  migrate,
  openEventStream,
} from '@swarmcast/platform';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdBeaconEvent } from '../src/beacon-types.ts';
import { invalidateDecision, startPipeline } from '../src/pipeline/pipeline.ts';
import { Reports } from '../src/reports/reports.ts';
import { prng } from './support/prng.ts';
import { human, measureDb } from './support/world.ts';

/**
 * One truth for delivery and money (issue 13): a simulated day through the real decision
 * path (decideBreak), the real embedded event stream, the measurement pipeline and the ad
 * server's feedback consumer. Some ads play, some never do, some are fabricated (too fast:
 * charged, then refunded), one is invalidated by the operator later. Afterwards the ads
 * dashboard's figures (campaignReport) and the measured report agree to the micro-unit
 * and the impression, both equal the ledger, decisions are shown apart from impressions,
 * and every reservation of an ad that never played is released once its token expired.
 */
const seed = Number(process.env.MEASURE_SIM_SEED ?? 20261207);
const rnd = prng(seed);
const day0 = Date.UTC(2026, 11, 7);
const hour = 3_600_000;
const ttl = 2 * hour;

const episode: EpisodeForAds = {
  id: 'ep1',
  showId: 'show',
  creatorId: 'creator',
  title: 'One',
  durationMs: 1_800_000,
  language: 'en',
  categories: ['technology'],
  mediaKind: 'audio',
  adBreaks: [{ id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 60_000, maxAds: 2 }],
};
const campaign: Campaign = {
  id: 'camp',
  advertiserId: 'adv',
  name: 'Spring',
  startsAt: day0,
  endsAt: day0 + 86_400_000,
  currency: 'EUR',
  totalBudgetMicros: 1_000_000_000,
  dailyBudgetMicros: 0,
  paused: false,
};
const creative = (id: string): Creative => ({
  id,
  advertiserId: 'adv',
  name: id,
  mediaKind: 'audio',
  mimeType: 'audio/mpeg',
  durationMs: 10_000,
  bytes: 160_000,
  bitrateKbps: 128,
  width: 0,
  height: 0,
  mediaUrl: `https://cdn.example/${id}.mp3`,
  alternates: [],
  universalAdId: { registry: 'ad-id.org', value: `UAID-${id}` },
  approval: 'approved',
});
const item = (id: string, over: Partial<LineItem>): LineItem => ({
  id,
  campaignId: campaign.id,
  name: id,
  priority: 'standard',
  goal: { kind: 'impressions', impressions: 1_000_000 },
  // Not a multiple of 1000: the ledger charges floor(CPM / 1000), and so must the dashboard.
  cpmMicros: 23_456_789,
  targeting: {},
  caps: [],
  pacing: 'asap',
  exclusionCategories: [],
  creativeIds: [`cr-${id}`],
  paused: false,
  ...over,
});

let db: Db;
let dir: Awaited<ReturnType<typeof scratchDir>>;
let stream: EventStream;
const consumers: Consumer[] = [];
beforeAll(async () => {
  db = await measureDb();
  await migrate(db, adsMigrations);
  dir = await scratchDir('measured-delivery-');
  stream = await openEventStream({ dataDir: dir.path });
});
afterAll(async () => {
  for (const c of consumers) await c.stop();
  await stream?.close();
  await db?.close();
  await dir?.remove();
});

describe(`measured delivery feeds the ad server (seed ${seed})`, () => {
  it('after a simulated day the ads dashboard and the measured report agree to the micro-unit', async () => {
    const store = new AdsStore();
    store.reservationMs = ttl;
    // Measured delivery comes back once per simulated hour here (in real time, within a
    // second), so unplayed decisions hold their cap place that long.
    store.capHoldMs = hour;
    store.putAdvertiser({ id: 'adv', name: 'Spring Audio' });
    store.putCampaign(campaign);
    for (const [id, over] of [
      ['open', {}],
      ['capped', { caps: [{ max: 2, periodMs: 86_400_000 }], cpmMicros: 31_000_500 }],
    ] as [string, Partial<LineItem>][]) {
      store.putCreative(creative(`cr-${id}`));
      store.putLineItem(item(id, over));
    }
    await saveAdvertiser(db, store.advertisers.get('adv')!);
    await saveCampaign(db, campaign);
    for (const c of store.creatives.values()) await saveCreative(db, c);
    for (const li of store.lineItems.values()) await saveLineItem(db, li);
    const ring = keyRing(generateSigningKey('k1'));
    let n = 0;
    const deps = {
      store,
      signingKey: () => ring.active,
      collector: 'https://node.example',
      newId: () => `pod${++n}`,
      tokenTtlMs: ttl,
      adSystemVersion: 't',
    };
    const feedback = new MeasuredFeedback(store, db);
    consumers.push(await feedback.start(stream));
    const pipeline = await startPipeline(stream, db, {
      publicKeys: () => publicKeysOf(ring),
      outboxFlushMs: 200,
    });
    consumers.push(pipeline.consumer);

    const beacons: { id: string; subject: string; data: AdBeaconEvent }[] = [];
    let beaconN = 0;
    const beacon = (event: AdBeaconEvent['event'], tok: string, at: number, key: string) => {
      const data: AdBeaconEvent = {
        kind: 'ad',
        id: `b${beaconN++}`,
        receivedAt: at,
        event,
        token: tok,
        ts: null,
        adPlayheadMs: null,
        offsetMs: null,
        errorCode: null,
        audienceKey: key as AudienceKey,
        client: human,
        datacenter: false,
      };
      beacons.push({ id: data.id, subject: 'beacon.ad', data });
    };
    const decisions: DecisionClaims[] = [];
    const played: string[] = [];
    const fabricated: string[] = [];
    let published = 0;
    for (let r = 0; r < 240; r++) {
      const now = day0 + r * 5 * 60_000;
      const listener = `listener-${Math.floor(rnd() * 12)}`;
      const answer = decideBreak(deps, {
        episode,
        breakId: 'pre',
        listenerId: listener,
        country: null,
        device: 'computer',
        now,
      });
      const tokens = [...answer.vast.matchAll(/[?&]t=([A-Za-z0-9_.-]+)/g)].map((m) => m[1]!);
      decisions.push(...answer.decisions);
      // The tokens as the player would read them: one per ad, in pod order.
      const perAd = [...new Set(tokens)];
      answer.decisions.forEach((d, i) => {
        const tok = perAd[i]!;
        const key = `key-${listener}`;
        const fate = rnd();
        if (fate < 0.55) {
          beacon('impression', tok, now + 1000, key);
          beacon('start', tok, now + 1000, key);
          beacon('complete', tok, now + 12_000, key);
          played.push(d.decisionId);
        } else if (fate < 0.65) {
          beacon('impression', tok, now + 1000, key);
          beacon('start', tok, now + 1000, key);
          beacon('complete', tok, now + 2000, key); // a 10 s ad "completed" in 1 s: refunded
          fabricated.push(d.decisionId);
        }
        // else: the ad never played (the listener left); its reservation must expire.
      });
      // Every simulated hour, the hour's beacons reach the collector and their measured
      // delivery comes back to the ad server before the clock moves on (in real time this
      // takes well under a second; the reservations' two hours are far longer).
      if (r % 12 === 11) {
        const batch = beacons.splice(0);
        published += batch.length;
        for (let i = 0; i < batch.length; i += 50) await stream.publish(batch.slice(i, i + 50));
        const want = 2 * fabricated.length + played.length;
        await waitFor(
          () => feedback.stats.applied === want,
          120_000,
          `hour ${Math.floor(r / 12)}: the ad server to apply ${want} measured events`,
        );
      }
    }
    expect(decisions.length).toBeGreaterThan(200);
    expect(played.length).toBeGreaterThan(50);
    expect(fabricated.length).toBeGreaterThan(5);

    // The operator invalidates one played decision after the fact: refunded, and the ad
    // server hears of it through the same stream.
    const later = played[0]!;
    await waitFor(
      async () => (await pipeline.consumer.pending()) === 0 && pipeline.stats.totals.processed >= published,
      120_000,
      'the pipeline to process every beacon',
    );
    expect(await invalidateDecision(db, later, 'operator', day0 + 86_000_000)).toBe(true);
    const deliveredEvents = played.length + fabricated.length;
    const refundEvents = fabricated.length + 1;
    await waitFor(
      () => feedback.stats.applied === deliveredEvents + refundEvents,
      120_000,
      `the ad server to apply ${deliveredEvents} deliveries and ${refundEvents} refunds (has ${feedback.stats.applied})`,
    );

    const ledger = new Ledger(db);
    expect(await ledger.check()).toMatchObject({ balanced: true, total: 0 });
    const end = day0 + 86_400_000;
    const measured = await new Reports(db).advertiser('adv', { from: day0, to: end });
    const ads = campaignReport(store, 'camp', end - 1)!;
    const billed = played.length - 1;
    const price = (cpm: number) => Math.floor(cpm / 1000);
    const expectedSpend = decisions
      .filter((d) => played.includes(d.decisionId) && d.decisionId !== later)
      .reduce((t, d) => t + price(d.cpmMicros), 0);
    expect(measured.totals.impressions).toBe(billed);
    expect(measured.totals.spendMicros).toBe(expectedSpend);
    expect(-(await ledger.balance('advertiser:adv'))).toBe(expectedSpend);
    // The ads dashboard: the same impressions and spend, to the micro-unit...
    expect(ads.spendMicros).toBe(measured.totals.spendMicros);
    expect(ads.lineItems.reduce((t, l) => t + l.impressions, 0)).toBe(measured.totals.impressions);
    const campaignFigures = measured.campaigns.find((c) => c.campaignId === 'camp')!;
    expect(campaignFigures.spendMicros).toBe(ads.spendMicros);
    // ... per day as well, and decisions apart from impressions.
    const adsDays = new Map<string, number>();
    for (const l of ads.lineItems)
      for (const d of l.days) adsDays.set(d.date, (adsDays.get(d.date) ?? 0) + d.spendMicros);
    for (const d of campaignFigures.spendByDay)
      expect(adsDays.get(new Date(d.day).toISOString().slice(0, 10)), 'spend by day').toBe(d.micros);
    expect(ads.lineItems.reduce((t, l) => t + l.decisions, 0)).toBe(decisions.length);

    // The cap counts measured and in-flight ads: no listener got the capped item played more
    // than twice, though unplayed decisions expired and were offered again.
    const perListener = new Map<string, number>();
    for (const d of decisions.filter((x) => x.lineItemId === 'capped' && played.includes(x.decisionId)))
      perListener.set(d.listenerId!, (perListener.get(d.listenerId!) ?? 0) + 1);
    expect(Math.max(...perListener.values())).toBe(2);
    const cappedDecisions = decisions.filter((x) => x.lineItemId === 'capped').length;
    expect(cappedDecisions).toBeGreaterThan(2 * perListener.size);

    // Reservations of ads that never played are held until their tokens expire, then released.
    const unplayed = decisions.filter(
      (d) => !played.includes(d.decisionId) && !fabricated.includes(d.decisionId),
    );
    expect(unplayed.length).toBeGreaterThan(20);
    const lastIssued = Math.max(...unplayed.map((d) => d.issuedAt));
    store.releaseExpired(lastIssued + ttl - 60_001);
    expect(campaignReport(store, 'camp', end)!.reservedMicros).toBeGreaterThan(0);
    store.releaseExpired(lastIssued + ttl + 60_000);
    const after = campaignReport(store, 'camp', end)!;
    expect(after.reservedMicros).toBe(0);
    // The budget the policies see is now exactly the measured spend.
    expect(Math.floor(store.spendOf('camp').spendMilliMicros / 1000)).toBe(measured.totals.spendMicros);
    for (const l of after.lineItems) {
      const live = store.deliveryOf(l.id);
      expect(live.impressions, l.id).toBe(l.impressions);
    }

    // A restart rebuilds the same measured figures from the ads tables alone.
    const restored = await loadStore(db, lastIssued + ttl + 2 * hour);
    const again = campaignReport(restored, 'camp', end)!;
    expect(again.spendMicros).toBe(measured.totals.spendMicros);
  });
});
