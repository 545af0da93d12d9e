/**
 * A day of synthetic ad requests against many campaigns on a virtual clock, through the real
 * decision path (decideBreak: policy, signing, counting, VAST). Checks: budgets never
 * exceeded, frequency caps hold per listener, even pacing within +-10% of plan in every
 * hour, priorities win, competitors never share a pod, and paced items meet their goals.
 * Seeded; the seed is printed on failure.
 */
import type { EpisodeForAds } from '@swarmcast/catalog';
import { describe, expect, it } from 'vitest';
import {
  AdsStore,
  type Campaign,
  type DecisionClaims,
  decideBreak,
  eligibility,
  generateSigningKey,
  type LineItem,
} from '../src/index.ts';
import { campaign, creative, episode, lineItem, prng, t0 } from './helpers.ts';

const seed = Number(process.env.ADS_SIM_SEED ?? 20261123);
const hour = 3_600_000;

const shows: Array<[string, string[], string]> = [
  ['s1', ['technology'], 'en'],
  ['s2', ['news'], 'en'],
  ['s3', ['sports'], 'de'],
  ['s4', ['technology', 'business'], 'de-CH'],
  ['s5', ['comedy'], 'fr'],
];
const episodes: EpisodeForAds[] = shows.map(([show, categories, language], i) =>
  episode({ id: `ep-${i + 1}`, showId: show, categories, language }),
);

interface Item {
  li: Partial<LineItem> & { id: string };
  campaign?: Partial<Campaign>;
  /** Checked hour by hour against the even plan. */
  paced?: boolean;
}

const items: Item[] = [
  {
    li: {
      id: 'spon-s1',
      priority: 'sponsorship',
      pacing: 'even',
      targeting: { showIds: ['s1'] },
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'spon-tech-mid',
      priority: 'sponsorship',
      pacing: 'even',
      targeting: { categories: ['Technology'], positions: ['mid'] },
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-de',
      pacing: 'even',
      targeting: { countries: ['DE'] },
      goal: { kind: 'impressions', impressions: 4800 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-en',
      pacing: 'even',
      targeting: { languages: ['en'] },
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-auto-1',
      pacing: 'even',
      exclusionCategories: ['auto'],
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-auto-2',
      pacing: 'even',
      exclusionCategories: ['auto'],
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-capped',
      pacing: 'even',
      caps: [{ max: 1, periodMs: hour }],
      goal: { kind: 'impressions', impressions: 2400 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-spend',
      pacing: 'even',
      cpmMicros: 20_000_000,
      goal: { kind: 'spend', micros: 48_000_000 },
    },
    paced: true,
  },
  {
    li: {
      id: 'std-budget',
      pacing: 'even',
      cpmMicros: 20_000_000,
      goal: { kind: 'impressions', impressions: 5000 },
    },
    campaign: { dailyBudgetMicros: 30_000_000 },
  },
  {
    li: { id: 'std-total', pacing: 'asap', cpmMicros: 40_000_000 },
    campaign: { totalBudgetMicros: 20_000_000 },
  },
  {
    li: {
      id: 'std-morning',
      pacing: 'even',
      targeting: { dayParts: [{ days: [1], fromHour: 6, toHour: 10 }] },
      goal: { kind: 'impressions', impressions: 800 },
    },
  },
  {
    li: {
      id: 'std-nomatch',
      pacing: 'even',
      targeting: { countries: ['JP'] },
      goal: { kind: 'impressions', impressions: 800 },
    },
  },
  { li: { id: 'house-1', priority: 'house', pacing: 'asap', cpmMicros: 0 } },
  { li: { id: 'house-2', priority: 'house', pacing: 'asap', cpmMicros: 0 } },
];
for (let i = 0; i < 10; i++) {
  const countries = [['DE'], ['US'], ['FR', 'DE'], [], ['US', 'FR']][i % 5]!;
  items.push({
    li: {
      id: `std-extra-${i}`,
      pacing: 'even',
      cpmMicros: 5_000_000 + i * 1_000_000,
      targeting: { countries },
      goal: { kind: 'impressions', impressions: 1200 },
    },
    paced: true,
  });
}

function build(): AdsStore {
  const store = new AdsStore();
  for (const it of items) {
    store.putCampaign(campaign(`c-${it.li.id}`, it.campaign));
    store.putCreative(
      creative(`cr-${it.li.id}`, { durationMs: it.li.id.startsWith('house') ? 30_000 : 15_000 }),
    );
    store.putLineItem(lineItem(it.li.id, `c-${it.li.id}`, it.li));
  }
  return store;
}

describe(`a simulated day (seed ${seed})`, () => {
  const rand = prng(seed);
  const store = build();
  const key = generateSigningKey('sim');
  let ids = 0;
  const deps = {
    store,
    signingKey: () => key,
    collector: 'https://node.example',
    newId: () => `d${++ids}`,
    tokenTtlMs: hour,
    adSystemVersion: 'sim',
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const countries = ['DE', 'DE', 'DE', 'DE', 'US', 'US', 'US', 'FR', 'FR', null];
  const devices = ['phone', 'phone', 'computer', 'speaker', 'tablet'] as const;

  const pods: DecisionClaims[][] = [];
  const priorityViolations: string[] = [];
  const started = Date.now();
  for (let minute = 0; minute < 24 * 60; minute++) {
    const h = minute / 60;
    const perMinute = Math.round(25 + 17.5 * (1 - Math.cos((2 * Math.PI * (h - 4)) / 24))); // 25 at 04:00, 60 at 16:00
    for (let r = 0; r < perMinute; r++) {
      const now = t0 + minute * 60_000 + Math.floor((r * 60_000) / perMinute);
      const ep = pick(episodes);
      const adBreak = pick(ep.adBreaks);
      const req = {
        episode: ep,
        adBreak,
        breakId: adBreak.id,
        listenerId: rand() < 0.05 ? null : `listener-${Math.floor(rand() * 3000)}`,
        country: pick(countries),
        device: pick(devices),
        now,
      };
      const eligible = store.candidates().filter((c) => eligibility(c, req, store) === null);
      const answer = decideBreak(deps, req);
      pods.push(answer.decisions);
      // Every ad plays: measurement reports it delivered at the ledger's price (CPM / 1000),
      // which turns its reservation into measured delivery (budgets and pacing run on that).
      for (const d of answer.decisions)
        store.applyMeasured({
          kind: 'delivered',
          source: 'vast',
          decisionId: d.decisionId,
          lineItemId: d.lineItemId,
          campaignId: d.campaignId,
          advertiserId: d.advertiserId,
          listenerId: d.listenerId,
          issuedAt: d.issuedAt,
          time: d.issuedAt + 1000,
          cpmMicros: d.cpmMicros,
          chargedMicros: Math.floor(d.cpmMicros / 1000),
        });
      const first = answer.decisions[0];
      const firstPriority = first ? store.lineItems.get(first.lineItemId)!.priority : null;
      const best = eligible.some((c) => c.lineItem.priority === 'sponsorship')
        ? 'sponsorship'
        : eligible.some((c) => c.lineItem.priority === 'standard')
          ? 'standard'
          : eligible.length
            ? 'house'
            : null;
      if (best !== firstPriority)
        priorityViolations.push(`${new Date(now).toISOString()}: ${best} eligible, served ${firstPriority}`);
    }
  }
  const elapsed = Date.now() - started;
  const requests = pods.length;
  const decisions = pods.flat();

  it('ran a full day of traffic', () => {
    expect(requests).toBeGreaterThan(50_000);
    expect(decisions.length).toBeGreaterThan(requests);
    console.log(`simulation seed ${seed}: ${requests} requests, ${decisions.length} ads, ${elapsed} ms`);
  });

  it('never exceeds a total or daily budget', () => {
    for (const c of store.campaigns.values()) {
      const spend = store.spendOf(c.id).spendMilliMicros;
      expect(spend, c.id).toBeLessThanOrEqual(c.totalBudgetMicros * 1000);
      if (c.dailyBudgetMicros) expect(spend, c.id).toBeLessThanOrEqual(c.dailyBudgetMicros * 1000);
    }
    // Budget-bound items spend (nearly) all they may: no under-delivery when inventory exists.
    expect(store.spendOf('c-std-budget').spendMilliMicros).toBeGreaterThanOrEqual(
      30_000_000 * 1000 - 20_000_000,
    );
    expect(store.spendOf('c-std-total').spendMilliMicros).toBeGreaterThanOrEqual(
      20_000_000 * 1000 - 40_000_000,
    );
  });

  it('holds the frequency cap for every listener in every sliding hour', () => {
    const times = new Map<string, number[]>();
    for (const d of decisions) {
      if (d.lineItemId !== 'std-capped') continue;
      expect(d.listenerId).not.toBeNull();
      const list = times.get(d.listenerId!) ?? [];
      list.push(d.issuedAt);
      times.set(d.listenerId!, list);
    }
    expect(times.size).toBeGreaterThan(1000);
    for (const [listener, ts] of times) {
      ts.sort((a, b) => a - b);
      for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!, listener).toBeGreaterThanOrEqual(hour);
    }
  });

  it('paces even line items within +-10% of plan in every hour', () => {
    const off: string[] = [];
    for (const it of items.filter((i) => i.paced)) {
      const li = store.lineItems.get(it.li.id)!;
      const goal = li.goal.kind === 'impressions' ? li.goal.impressions : li.goal.micros * 1000;
      const perHour = goal / 24;
      const hours = store.hourlyOf(li.id);
      for (let h = 0; h < 24; h++) {
        const d = hours.get(Math.floor(t0 / hour) + h) ?? { impressions: 0, spendMilliMicros: 0 };
        const got = li.goal.kind === 'impressions' ? d.impressions : d.spendMilliMicros;
        if (Math.abs(got - perHour) > 0.1 * perHour)
          off.push(`${li.id} hour ${h}: ${got} vs plan ${perHour.toFixed(1)}`);
      }
    }
    expect(off, `seed ${seed}`).toEqual([]);
  });

  it('meets the goals of paced and day-parted items; nothing serves untargetable ones', () => {
    for (const it of items.filter((i) => i.paced)) {
      const li = store.lineItems.get(it.li.id)!;
      const d = store.deliveryOf(li.id);
      const [got, goal] =
        li.goal.kind === 'impressions'
          ? [d.impressions, li.goal.impressions]
          : [d.spendMilliMicros, li.goal.micros * 1000];
      expect(got / goal, li.id).toBeGreaterThanOrEqual(0.99);
      expect(got, li.id).toBeLessThanOrEqual(goal);
    }
    const morning = decisions.filter((d) => d.lineItemId === 'std-morning');
    expect(morning.length).toBe(800);
    for (const d of morning) expect(new Date(d.issuedAt).getUTCHours()).toBeGreaterThanOrEqual(6);
    for (const d of morning) expect(new Date(d.issuedAt).getUTCHours()).toBeLessThan(10);
    expect(store.deliveryOf('std-nomatch').impressions).toBe(0);
    expect(store.deliveryOf('house-1').impressions + store.deliveryOf('house-2').impressions).toBeGreaterThan(
      0,
    );
  });

  it('serves the highest eligible priority class first, and keeps competitors apart', () => {
    expect(priorityViolations.slice(0, 5), `seed ${seed}`).toEqual([]);
    for (const pod of pods) {
      const autos = pod.filter((d) => d.lineItemId.startsWith('std-auto')).length;
      expect(autos).toBeLessThanOrEqual(1);
      const ranks = pod.map(
        (d) => ({ sponsorship: 3, standard: 2, house: 1 })[store.lineItems.get(d.lineItemId)!.priority],
      );
      expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
      expect(pod.reduce((n, d) => n + d.creativeDurationMs, 0)).toBeLessThanOrEqual(90_000);
    }
  });
});
