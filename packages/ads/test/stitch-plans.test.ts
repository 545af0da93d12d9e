/**
 * Stitch plans: decided by the ad server's own policy per break, signed so each ad traces
 * to its decision, stored once per (episode, audience key, window) and reused, bounded per
 * client and per episode (then the shared plan), and only prepared ads stitched.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AdsStore,
  decideStitchPlan,
  generateSigningKey,
  keyRing,
  loadPlansById,
  type PlanDeps,
  PreparedAds,
  plannedAds,
  publicKeysOf,
  StitchPlanner,
  stitchPlanMigrations,
  verifyDecisionToken,
} from '../src/index.ts';
import { campaign, creative, day, episode, lineItem, t0 } from './helpers.ts';

const ring = keyRing(generateSigningKey('k1'));
let n = 0;
function world(): { store: AdsStore; deps: PlanDeps } {
  const store = new AdsStore();
  store.putAdvertiser({ id: 'adv-a', name: 'A' });
  store.putAdvertiser({ id: 'adv-h', name: 'House' });
  store.putCampaign(campaign('a', { advertiserId: 'adv-a' }));
  store.putCampaign(campaign('h', { advertiserId: 'adv-h' }));
  store.putCreative(creative('cr-a', { durationMs: 10_000 }));
  store.putCreative(creative('cr-h', { durationMs: 6_000 }));
  store.putLineItem(
    lineItem('a', 'a', {
      creativeIds: ['cr-a'],
      caps: [{ max: 1, periodMs: day }],
      targeting: { countries: ['DE'], devices: ['phone'] },
    }),
  );
  store.putLineItem(lineItem('h', 'h', { priority: 'house', cpmMicros: 0, creativeIds: ['cr-h'] }));
  return {
    store,
    deps: {
      view: store,
      signingKey: () => ring.active,
      newId: () => `plan${++n}`,
      tokenTtlMs: 3 * day,
    },
  };
}

const ep = episode({
  adBreaks: [
    { id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 30_000, maxAds: 1 },
    { id: 'mid-1', position: 'mid', offsetMs: 600_000, maxDurationMs: 30_000, maxAds: 2 },
  ],
});
const base = {
  episode: ep,
  planKey: 'key-1',
  window: '2026-11-23',
  country: 'DE',
  device: 'phone' as const,
  profileKey: 'mpeg1-44100-2',
  now: t0 + 3_600_000,
  prepared: () => true,
};

describe('decideStitchPlan', () => {
  it('fills every break with the ad server policy and signs each ad with a verifiable decision token', () => {
    const { deps } = world();
    const plan = decideStitchPlan(deps, { ...base, audienceKey: 'key-1' });
    expect(plan.breaks.map((b) => b.breakId)).toEqual(['pre', 'mid-1']);
    // Targeting (country + device) admits the standard line item first; the house ad fills after it.
    expect(plan.breaks[0]!.ads.map((a) => a.adId)).toEqual(['cr-a']);
    // Frequency cap 1 per day keyed by the audience key: the mid-roll gets the house ad only.
    expect(plan.breaks[1]!.ads.map((a) => a.adId)).toEqual(['cr-h']);
    for (const ad of plannedAds(plan)) {
      const v = verifyDecisionToken(ad.token, publicKeysOf(ring), base.now + day);
      expect(v.ok).toBe(true);
      if (v.ok) {
        expect(v.claims.decisionId).toBe(ad.decisionId);
        expect(v.claims.listenerId).toBe('key-1');
        expect(v.claims.episodeId).toBe(ep.id);
      }
    }
  });

  it('applies country and device targeting from the request', () => {
    const { deps } = world();
    const plan = decideStitchPlan(deps, { ...base, audienceKey: 'key-2', country: 'FR' });
    expect(plannedAds(plan).map((a) => a.adId)).toEqual(['cr-h', 'cr-h']);
    const tv = decideStitchPlan(deps, { ...base, audienceKey: 'key-3', device: 'tv' });
    expect(plannedAds(tv).map((a) => a.adId)).toEqual(['cr-h', 'cr-h']);
  });

  it('leaves out ads not prepared for the profile, with the reason', () => {
    const { deps } = world();
    const plan = decideStitchPlan(deps, { ...base, audienceKey: 'key-4', prepared: (id) => id !== 'cr-a' });
    expect(plan.breaks[0]!.ads).toEqual([]);
    expect(plan.notes).toContain('not-prepared:cr-a');
  });

  it('the shared plan (no listener) never serves capped line items', () => {
    const { deps } = world();
    const plan = decideStitchPlan(deps, { ...base, audienceKey: null, planKey: 'shared' });
    expect(plannedAds(plan).map((a) => a.adId)).toEqual(['cr-h', 'cr-h']);
  });
});

describe('StitchPlanner', () => {
  let db: Db;
  beforeEach(async () => {
    db = await openDb({ inMemory: true, migrations: stitchPlanMigrations });
    await migrate(db, stitchPlanMigrations);
  });
  afterEach(async () => {
    await db.close();
  });
  const ask = (audienceKey: string, clientKey = 'client-1', now = base.now) => ({
    episode: ep,
    audienceKey,
    clientKey,
    country: 'DE',
    device: 'phone' as const,
    profileKey: 'p',
    now,
    prepared: () => true,
  });

  it('decides once per (episode, audience key, window) and reuses it, also after a restart', async () => {
    const { deps } = world();
    const planner = new StitchPlanner({ db, deps });
    const [a, b] = await Promise.all([planner.planFor(ask('k1')), planner.planFor(ask('k1'))]);
    expect(a.plan.id).toBe(b.plan.id);
    const other = await planner.planFor(ask('k2'));
    expect(other.plan.id).not.toBe(a.plan.id);
    await planner.idle();
    const restarted = new StitchPlanner({ db, deps: world().deps });
    expect((await restarted.planFor(ask('k1', 'client-1', base.now + 3_600_000))).plan.id).toBe(a.plan.id);
    // The next UTC day is a new window: a new plan.
    expect((await restarted.planFor(ask('k1', 'client-1', base.now + day))).plan.id).not.toBe(a.plan.id);
    const stored = await loadPlansById(db, [a.plan.id]);
    expect(stored.get(a.plan.id)?.plan.breaks.length).toBe(2);
  });

  it('bounds plans per client: rotating user agents beyond the limit get the shared plan', async () => {
    const { deps } = world();
    const planner = new StitchPlanner({ db, deps, limits: { perClient: 3 } });
    const ids = new Set<string>();
    const reasons: Array<string | undefined> = [];
    for (let i = 0; i < 50; i++) {
      const p = await planner.planFor(ask(`rotating-${i}`, 'same-address'));
      ids.add(p.plan.id);
      reasons.push(p.sharedBecause);
    }
    await planner.idle();
    expect(ids.size).toBe(4); // 3 own plans + the shared one
    expect(reasons.filter((r) => r === 'client-limit')).toHaveLength(47);
    const rows = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM ads_stitch_plans');
    expect(Number(rows.rows[0]!.n)).toBe(4);
    expect(planner.overflow.get(ep.id)?.clientLimit).toBe(47);
    // Another address is not affected.
    expect((await planner.planFor(ask('fresh', 'other-address'))).sharedBecause).toBeUndefined();
  });

  it('bounds plans per client when the rotating user agents ask all at once', async () => {
    const { deps } = world();
    const planner = new StitchPlanner({ db, deps, limits: { perClient: 3 } });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => planner.planFor(ask(`parallel-${i}`, 'parallel-address'))),
    );
    await planner.idle();
    expect(new Set(answers.map((p) => p.plan.id)).size).toBe(4); // 3 own plans + the shared one
    expect(answers.filter((p) => p.sharedBecause === 'client-limit')).toHaveLength(37);
    const rows = await db.query<{ n: unknown }>(
      "SELECT count(*) AS n FROM ads_stitch_plans WHERE client_key = 'parallel-address'",
    );
    expect(Number(rows.rows[0]!.n)).toBe(3);
  });

  it('bounds plans per episode', async () => {
    const { deps } = world();
    const planner = new StitchPlanner({ db, deps, limits: { perEpisode: 5 } });
    for (let i = 0; i < 5; i++)
      expect((await planner.planFor(ask(`k${i}`, `c${i}`))).sharedBecause).toBeUndefined();
    expect((await planner.planFor(ask('k6', 'c6'))).sharedBecause).toBe('episode-limit');
  });
});

const pg = await requireServices('stitch plan bounds on PostgreSQL', 'postgres');

describe('StitchPlanner bounds under parallel requests', () => {
  const ask = (audienceKey: string, clientKey: string) => ({
    episode: ep,
    audienceKey,
    clientKey,
    country: 'DE',
    device: 'phone' as const,
    profileKey: 'p',
    now: base.now,
    prepared: () => true,
  });
  const ownPlans = async (db: Db) =>
    Number(
      (
        await db.query<{ n: unknown }>(
          "SELECT count(*) AS n FROM ads_stitch_plans WHERE plan_key <> 'shared'",
        )
      ).rows[0]!.n,
    );

  it('bounds plans per episode when new listeners of many clients ask all at once', async () => {
    const db = await openDb({ inMemory: true });
    try {
      await migrate(db, stitchPlanMigrations);
      const planner = new StitchPlanner({ db, deps: world().deps, limits: { perEpisode: 5 } });
      // Each listener comes from its own address: the per-client bound never applies.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => planner.planFor(ask(`listener-${i}`, `address-${i}`))),
      );
      await planner.idle();
      expect(await ownPlans(db)).toBe(5);
      expect(answers.filter((a) => a.sharedBecause === undefined)).toHaveLength(5);
      expect(answers.filter((a) => a.sharedBecause === 'episode-limit')).toHaveLength(35);
      expect(new Set(answers.filter((a) => a.sharedBecause).map((a) => a.plan.id)).size).toBe(1);
      // A listener who got an own plan keeps it.
      const own = answers.findIndex((a) => a.sharedBecause === undefined);
      expect((await planner.planFor(ask(`listener-${own}`, `address-${own}`))).plan.id).toBe(
        answers[own]!.plan.id,
      );
    } finally {
      await db.close();
    }
  });

  it('on PGlite answers a new listener before the plan is stored; stored() says when it is', async () => {
    const db = await openDb({ inMemory: true });
    try {
      await migrate(db, stitchPlanMigrations);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The database as the planner sees it, with every store held until the gate opens.
      const held: Db = {
        ...db,
        query: async (sql, params) => {
          if (sql.includes('ads_stitch_store')) await gate;
          return db.query(sql, params);
        },
      };
      const planner = new StitchPlanner({ db: held, deps: world().deps });
      const answer = await planner.planFor(ask('listener-1', 'address-1'));
      expect(answer.sharedBecause).toBeUndefined();
      expect(await ownPlans(db)).toBe(0);
      // The same listener's next request gets the same plan while the store is pending.
      expect((await planner.planFor(ask('listener-1', 'address-1'))).plan.id).toBe(answer.plan.id);
      let stored = false;
      const storedNow = planner.stored(answer.plan.id).then(() => {
        stored = true;
      });
      await Promise.resolve();
      expect(stored).toBe(false);
      release();
      await storedNow;
      expect(await ownPlans(db)).toBe(1);
      // A restart reads the stored plan (key and counters) instead of deciding again.
      const restarted = new StitchPlanner({ db, deps: world().deps });
      expect((await restarted.planFor(ask('listener-1', 'address-1'))).plan.id).toBe(answer.plan.id);
    } finally {
      await db.close();
    }
  });

  it.skipIf(pg.skip)(
    'holds both bounds across two processes on one PostgreSQL, each asking in parallel',
    async () => {
      const scratch = await scratchPostgres('swarmcast_stitch');
      const a = await openDb({ databaseUrl: scratch.url });
      const b = await openDb({ databaseUrl: scratch.url });
      try {
        await migrate(a, stitchPlanMigrations);
        const limits = { perEpisode: 7, perClient: 2 };
        const one = new StitchPlanner({ db: a, deps: world().deps, limits });
        const two = new StitchPlanner({ db: b, deps: world().deps, limits });
        // 60 listeners behind 6 addresses, each asking both processes at once.
        const asks = Array.from({ length: 60 }, (_, i) => ask(`listener-${i}`, `address-${i % 6}`));
        const answers = await Promise.all(asks.flatMap((x) => [one.planFor(x), two.planFor(x)]));
        expect(await ownPlans(a)).toBe(7);
        const perClient = await a.query<{ client_key: string; n: unknown }>(
          "SELECT client_key, count(*) AS n FROM ads_stitch_plans WHERE plan_key <> 'shared' GROUP BY client_key",
        );
        for (const row of perClient.rows) expect(Number(row.n)).toBeLessThanOrEqual(2);
        // Both processes gave one listener the same plan (one row per key).
        for (let i = 0; i < 60; i++) expect(answers[2 * i]!.plan.id).toBe(answers[2 * i + 1]!.plan.id);
        const counters = await a.query<{ n: unknown }>(
          "SELECT n FROM ads_stitch_plan_counts WHERE client_key = ''",
        );
        expect(counters.rows.map((r) => Number(r.n))).toEqual([7]);
      } finally {
        await a.close();
        await b.close();
        await scratch.drop();
      }
    },
  );
});

describe('PreparedAds', () => {
  it('prepares in the background, never on the asking path, and remembers failures with a reason', async () => {
    const dir = await scratchDir('prepared-ads-');
    try {
      await mkdir(join(dir.path, 'src'));
      await writeFile(join(dir.path, 'src', 'good.mp3'), 'GOOD');
      await writeFile(join(dir.path, 'src', 'bad.mp3'), 'BAD');
      let calls = 0;
      const prepared = new PreparedAds<{ rate: number }>({
        dir: join(dir.path, 'out'),
        profileKey: (p) => `r${p.rate}`,
        sourceOf: (id) => join(dir.path, 'src', `${id}.mp3`),
        prepare: async (input, p) => {
          calls++;
          const text = Buffer.from(input).toString();
          if (text === 'BAD') throw new Error('cannot match the encoding');
          return { bytes: Buffer.from(`${text}@${p.rate}`), meta: { frames: 1 } };
        },
      });
      expect(prepared.ready('good', { rate: 44100 })).toBeNull();
      expect(prepared.ready('bad', { rate: 44100 })).toBeNull();
      await prepared.idle();
      const ok = prepared.ready('good', { rate: 44100 });
      expect(ok).not.toBeNull();
      expect((await readFile(ok!.path)).toString()).toBe('GOOD@44100');
      expect(ok!.meta).toEqual({ frames: 1 });
      expect(prepared.ready('bad', { rate: 44100 })).toBeNull();
      expect(prepared.failure('bad', 'r44100')).toBe('cannot match the encoding');
      await prepared.idle();
      expect(calls).toBe(2); // the failure is not retried at once
      // After a restart the prepared file is found on disk without preparing again.
      const again = new PreparedAds<{ rate: number }>({
        dir: join(dir.path, 'out'),
        profileKey: (p) => `r${p.rate}`,
        sourceOf: () => null,
        prepare: async () => {
          throw new Error('must not prepare again');
        },
      });
      expect(again.ready('good', { rate: 44100 })?.meta).toEqual({ frames: 1 });
    } finally {
      await dir.remove();
    }
  });
});
