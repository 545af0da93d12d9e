import { randomBytes } from 'node:crypto';
import { requireServices, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdsStore,
  type DecideDeps,
  type DecisionClaims,
  decideBreakShared,
  decidePlan,
  generateSigningKey,
  type LineItem,
  MeasuredFeedback,
  type PlanDeps,
  plannedAds,
  redisSharedDelivery,
} from '../src/index.ts';
import { campaign, creative, day, delivered, episode, lineItem, t0 } from './helpers.ts';

/**
 * Two ad server processes of one network (two stores, as two `swarmcast up --roles web`
 * would hold) on the real Redis (issue 19). Each used to count caps and pacing on its own, so
 * together they served a capped listener twice the cap and a paced line item twice its plan.
 * Requests go to both at once, so the atomic claim is what holds the limits, not turn-taking.
 */
const services = await requireServices('shared ad caps and pacing on Redis', 'redis');
const hour = 3_600_000;

describe.skipIf(services.skip)('two ad servers share caps and pacing through Redis', () => {
  let redis: Redis;
  const key = generateSigningKey('k1');

  beforeAll(async () => {
    redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    await redis?.quit();
  });

  /** Two instances of one network: the same model (`fill` puts it in each), their own stores, one Redis prefix. */
  async function twoServers(
    fill: (store: AdsStore) => void,
    capHoldMs = 10 * 60_000,
    pace?: DecideDeps['pace'],
  ) {
    const prefix = `sc-ads-test-${randomBytes(4).toString('hex')}:`;
    const servers = ['a', 'b'].map((name) => {
      const store = new AdsStore();
      store.capHoldMs = capHoldMs;
      fill(store);
      let n = 0;
      const shared = redisSharedDelivery(redis, prefix, { capHoldMs });
      const deps: DecideDeps = {
        store,
        signingKey: () => key,
        collector: 'https://node.example',
        newId: () => `${name}${++n}`,
        tokenTtlMs: 6 * hour,
        adSystemVersion: 'test',
        shared,
        ...(pace ? { pace } : {}),
      };
      return { store, deps, shared };
    });
    // Seeded before the burst, as the node does at start: no request waits for the other's seeding.
    await Promise.all(servers.map((s) => s.shared.ready(t0)));
    return servers;
  }

  /** One campaign with one line item `li`. */
  const oneLineItem = (li: Partial<LineItem>) => (store: AdsStore) => {
    store.putCampaign(campaign('c1'));
    store.putCreative(creative('cr-li'));
    store.putLineItem(lineItem('li', 'c1', li));
  };

  const ask = (deps: DecideDeps, listenerId: string, now: number) =>
    decideBreakShared(deps, {
      episode: episode(),
      breakId: 'pre',
      listenerId,
      country: null,
      device: 'phone',
      now,
    });

  it('a listener capped at 3 a day gets 3 ads from both servers together, not 3 from each', async () => {
    const [a, b] = await twoServers(oneLineItem({ caps: [{ max: 3, periodMs: day }] }));
    const now = t0 + hour;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ask((i % 2 ? a : b)!.deps, 'listener-1', now + i)),
    );
    expect(answers.reduce((n, x) => n + x.decisions.length, 0)).toBe(3);
    // Another listener is not affected by the first one's cap.
    expect((await ask(b!.deps, 'listener-2', now + 50)).decisions).toHaveLength(1);
  });

  it('runs its scripts by SHA-1, sending one again only when Redis has lost it (restart, SCRIPT FLUSH)', async () => {
    const sent: string[] = [];
    let bySha = 0;
    // The load script's text, each time it is sent.
    const counting = {
      eval: (script: string, n: number, ...args: Array<string | number>) => {
        if (script.includes('local after')) sent.push('load');
        return redis.eval(script, n, ...args);
      },
      evalsha: (sha: string, n: number, ...args: Array<string | number>) => {
        bySha++;
        return redis.evalsha(sha, n, ...args);
      },
    };
    const store = new AdsStore();
    oneLineItem({})(store);
    const shared = redisSharedDelivery(counting, `sc-ads-test-${randomBytes(4).toString('hex')}:`, {
      capHoldMs: hour,
    });
    await shared.ready(t0);
    const deps: DecideDeps = {
      store,
      signingKey: () => key,
      collector: 'https://node.example',
      newId: () => randomBytes(4).toString('hex'),
      tokenTtlMs: 6 * hour,
      adSystemVersion: 'test',
      shared,
    };
    await redis.script('FLUSH');
    for (let i = 0; i < 3; i++) expect((await ask(deps, `l-${i}`, t0 + hour + i)).decisions).toHaveLength(1);
    expect(sent).toEqual(['load']);
    await redis.script('FLUSH');
    for (let i = 3; i < 6; i++) expect((await ask(deps, `l-${i}`, t0 + hour + i)).decisions).toHaveLength(1);
    expect(sent).toEqual(['load', 'load']);
    // A load and a claim per decision, each by SHA-1 first.
    expect(bySha).toBe(12);
  });

  it('a cap place taken by a server whose clock runs ahead counts on the other', async () => {
    const [a, b] = await twoServers(oneLineItem({ caps: [{ max: 1, periodMs: day }] }));
    expect((await ask(a!.deps, 'listener-1', t0 + hour + 50)).decisions).toHaveLength(1);
    // B's clock is 50 ms behind A's: A's decision is "in the future" for B, and still counts.
    expect((await ask(b!.deps, 'listener-1', t0 + hour)).decisions).toHaveLength(0);
    // B's policy had A's cap time (read through the listener's set of capped line items).
    expect(b!.store.seen('listener-1', 'li')).toHaveLength(1);
  });

  it('an even line item runs to its plan once across both servers, not once per server', async () => {
    // 1,440 impressions over the day: 60 planned by 01:00, plus the two-minute lookahead.
    const [a, b] = await twoServers(
      oneLineItem({ pacing: 'even', goal: { kind: 'impressions', impressions: 1440 } }),
    );
    const now = t0 + hour;
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ask((i % 2 ? a : b)!.deps, `l-${i}`, now)),
    );
    const served = answers.reduce((n, x) => n + x.decisions.length, 0);
    // delivered < plan(now + 2 min) = 62: the 62nd is the last one allowed.
    expect(served).toBe(62);
    const both = answers.map((x) => x.decisions.length);
    expect(both.filter((n, i) => n > 0 && i % 2 === 1).length).toBeGreaterThan(0);
    expect(both.filter((n, i) => n > 0 && i % 2 === 0).length).toBeGreaterThan(0);
  });

  it('the shared check paces with the lookahead the policy chose with', async () => {
    // A ten-minute lookahead: 60 planned by 01:00 plus ten minutes' worth (1 a minute).
    const [a, b] = await twoServers(
      oneLineItem({ pacing: 'even', goal: { kind: 'impressions', impressions: 1440 } }),
      10 * 60_000,
      { lookaheadMs: 10 * 60_000 },
    );
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ask((i % 2 ? a : b)!.deps, `l-${i}`, t0 + hour)),
    );
    // delivered < plan(now + 10 min) = 70: the 70th is the last one allowed.
    expect(answers.reduce((n, x) => n + x.decisions.length, 0)).toBe(70);
  });

  it('each server reads the counters the other changed and the reservations that expired, not a stale copy', async () => {
    // Two line items of one impression each; tokens last 6 hours, and nothing is measured.
    // (Ids with a space: they go to the read script one a line and come back with the counters.)
    const [a, b] = await twoServers((store) => {
      for (const id of ['li 1', 'li 2']) {
        store.putCampaign(campaign(`c-${id}`));
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(
          lineItem(id, `c-${id}`, { pacing: 'asap', goal: { kind: 'impressions', impressions: 1 } }),
        );
      }
    });
    const now = t0 + hour;
    const served = async (deps: DecideDeps, at: number) =>
      (await ask(deps, `l-${at}`, at)).decisions.map((d) => d.lineItemId);
    const first = await served(b!.deps, now);
    expect(first).toHaveLength(1);
    const second = await served(a!.deps, now + 1);
    expect(second).toHaveLength(1);
    expect([...first, ...second].sort()).toEqual(['li 1', 'li 2']);
    // B read both line items before: it must see A's claim (the change log), and its own.
    expect(await served(b!.deps, now + 2)).toEqual([]);
    expect([b!.store.deliveryOf('li 1').impressions, b!.store.deliveryOf('li 2').impressions]).toEqual([
      1, 1,
    ]);
    // Both reservations expire unmeasured with their tokens: each server serves again.
    const later = now + 6 * hour + 10;
    expect(await served(b!.deps, later)).toHaveLength(1);
    expect(await served(a!.deps, later + 1)).toHaveLength(1);
    expect(await served(b!.deps, later + 2)).toEqual([]);
  });

  it("a campaign's total budget is spent once across both servers and its line items", async () => {
    // Two line items of one campaign; a budget for 5 impressions at 20 EUR CPM (0.02 EUR each).
    const servers = await twoServers((store) => {
      store.putCampaign(campaign('c1', { totalBudgetMicros: 100_000 }));
      // li-1 (first by id) stops after 3, so li-2's spend must count against the budget too.
      for (const [id, goal] of [
        ['li-1', 3],
        ['li-2', 1000],
      ] as const) {
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(lineItem(id, 'c1', { goal: { kind: 'impressions', impressions: goal } }));
      }
    });
    const now = t0 + hour;
    // Two waves of 10 at once: the second sees li-1 done and fills from li-2 up to the budget.
    const served: string[] = [];
    for (const wave of [0, 1]) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ask(servers[i % 2]!.deps, `l-${wave}-${i}`, now + wave)),
      );
      served.push(...answers.flatMap((x) => x.decisions.map((d) => d.lineItemId)));
    }
    expect(served.sort()).toEqual(['li-1', 'li-1', 'li-1', 'li-2', 'li-2']);
  });

  it("a campaign's daily budget is spent once a day across both servers and its line items", async () => {
    // Two line items of one two-day campaign; a daily budget for 5 impressions at 20 EUR CPM.
    const servers = await twoServers((store) => {
      store.putCampaign(campaign('c1', { endsAt: t0 + 2 * day, dailyBudgetMicros: 100_000 }));
      // li-1 (first by id) stops after 3, so li-2's spend today must count against it too.
      for (const [id, goal] of [
        ['li-1', 3],
        ['li-2', 1000],
      ] as const) {
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(lineItem(id, 'c1', { goal: { kind: 'impressions', impressions: goal } }));
      }
    });
    const wave = async (label: string, now: number) => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ask(servers[i % 2]!.deps, `l-${label}-${i}`, now)),
      );
      return answers.flatMap((x) => x.decisions);
    };
    // Day one: two waves of 10 at once; the second sees li-1 done and fills from li-2.
    const first = [...(await wave('1a', t0 + hour)), ...(await wave('1b', t0 + hour + 1))];
    expect(first.map((d) => d.lineItemId).sort()).toEqual(['li-1', 'li-1', 'li-1', 'li-2', 'li-2']);
    // B measures all five (one consumer group): measured spend stays on their day, once.
    const feedback = new MeasuredFeedback(servers[1]!.store, undefined, servers[1]!.shared, {
      now: () => t0 + 2 * hour,
    });
    await feedback.apply(first.map((d, i) => delivered(d, `e${i}`, t0 + 2 * hour)));
    expect(await wave('1c', t0 + 3 * hour)).toHaveLength(0);
    // Day two has its own budget: li-2 serves five more.
    const second = await wave('2', t0 + day + hour);
    expect(second.map((d) => d.lineItemId)).toEqual(Array(5).fill('li-2'));
  });

  it('a daily budget and a cap hold together in one claim (one listener, two line items)', async () => {
    // Daily budget for 3 at 20 EUR CPM; li-1 capped at 1 a day for the listener, li-2 not.
    const servers = await twoServers((store) => {
      store.putCampaign(campaign('c1', { dailyBudgetMicros: 60_000 }));
      for (const id of ['li-1', 'li-2']) {
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(lineItem(id, 'c1', id === 'li-1' ? { caps: [{ max: 1, periodMs: day }] } : {}));
      }
    });
    const served: string[] = [];
    for (const wave of [0, 1]) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ask(servers[i % 2]!.deps, 'listener-1', t0 + hour + wave)),
      );
      served.push(...answers.flatMap((x) => x.decisions.map((d) => d.lineItemId)));
    }
    expect(served.sort()).toEqual(['li-1', 'li-2', 'li-2']);
  });

  it('a request whose ad another server took gets the next line item, not an empty break', async () => {
    // li-0 (first by id) has one impression left; ten requests at once all choose it first.
    const servers = await twoServers((store) => {
      for (const [id, goal] of [
        ['li-0', 1],
        ['li-1', 1000],
      ] as const) {
        store.putCampaign(campaign(`c-${id}`));
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(lineItem(id, `c-${id}`, { goal: { kind: 'impressions', impressions: goal } }));
      }
    });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ask(servers[i % 2]!.deps, `l-${i}`, t0 + hour)),
    );
    const served = answers.flatMap((x) => x.decisions.map((d) => d.lineItemId)).sort();
    expect(served).toEqual(['li-0', ...Array(9).fill('li-1')]);
  });

  /** Line items `ids`, each in a campaign of its own, the first capped at one a day per listener. */
  const oneCappedOfMany =
    (...ids: string[]) =>
    (store: AdsStore) => {
      for (const [i, id] of ids.entries()) {
        store.putCampaign(campaign(`c-${id}`));
        store.putCreative(creative(`cr-${id}`));
        store.putLineItem(lineItem(id, `c-${id}`, i === 0 ? { caps: [{ max: 1, periodMs: day }] } : {}));
      }
    };

  it('a pod that lost an ad to another server is topped up from the next line item', async () => {
    // Three places in mid-1; li-a (capped at 1) ranks first. Both servers choose li-a, li-b,
    // li-c for one listener at once; one claim of li-a loses and li-d takes its place.
    const servers = await twoServers(oneCappedOfMany('li-a', 'li-b', 'li-c', 'li-d'));
    const answers = await Promise.all(
      servers.map((s) =>
        decideBreakShared(s.deps, {
          episode: episode(),
          breakId: 'mid-1',
          listenerId: 'listener-1',
          country: null,
          device: 'phone',
          now: t0 + hour,
        }),
      ),
    );
    const pods = answers.map((x) => x.decisions.map((d) => d.lineItemId).sort());
    expect(pods.sort()).toEqual([
      ['li-a', 'li-b', 'li-c'],
      ['li-b', 'li-c', 'li-d'],
    ]);
    // The topped-up pod is one signed pod in sequence.
    const topped = answers.find((x) => x.decisions.some((d) => d.lineItemId === 'li-d'))!;
    expect(topped.decisions.map((d) => d.podSequence)).toEqual([1, 2, 3]);
  });

  /** Plan deps of a server: its store, the shared counters, ids of its own. */
  const planDeps = (s: { store: AdsStore; shared: ReturnType<typeof redisSharedDelivery> }, name: string) => {
    let n = 0;
    return {
      view: s.store,
      signingKey: () => key,
      newId: () => `${name}-plan${++n}`,
      tokenTtlMs: 3 * day,
      shared: s.shared,
    } satisfies PlanDeps;
  };
  const planAsk = (audienceKey: string, breaks = episode().adBreaks.slice(0, 1)) => ({
    episode: episode({ adBreaks: breaks }),
    audienceKey,
    planKey: audienceKey,
    window: '2026-11-23',
    country: null,
    device: 'phone' as const,
    profileKey: 'mpeg1-44100-2',
    now: t0 + hour,
    prepared: () => true,
  });

  it('a DAI plan checks the shared caps when it is decided: no ad the listener already had on the other server', async () => {
    const [a, b] = await twoServers(oneCappedOfMany('li-a', 'li-b'));
    // A serves the listener li-a (capped at 1 a day) by VAST.
    expect((await ask(a!.deps, 'aud-1', t0 + hour)).decisions.map((d) => d.lineItemId)).toEqual(['li-a']);
    // B decides a plan for the same listener: li-a is capped there too, so li-b.
    const plan = await decidePlan(planDeps(b!, 'b'), planAsk('aud-1'));
    expect(plannedAds(plan).map((x) => x.lineItemId)).toEqual(['li-b']);
    // Neither server serves li-a to that listener again.
    expect((await ask(b!.deps, 'aud-1', t0 + hour + 1)).decisions.map((d) => d.lineItemId)).toEqual(['li-b']);
  });

  it('two DAI plans decided at once on two servers take a capped ad once; the other is topped up', async () => {
    // Two places in the break, li-a capped at 1 a day: both servers choose li-a and li-b.
    const servers = await twoServers(oneCappedOfMany('li-a', 'li-b', 'li-c'));
    const mid = [
      { id: 'mid', position: 'mid' as const, offsetMs: 600_000, maxDurationMs: 30_000, maxAds: 2 },
    ];
    const plans = await Promise.all(
      servers.map((s, i) => decidePlan(planDeps(s, `s${i}`), planAsk('aud-1', mid))),
    );
    const pods = plans.map((p) =>
      plannedAds(p)
        .map((x) => x.lineItemId)
        .sort(),
    );
    expect(pods.sort()).toEqual([
      ['li-a', 'li-b'],
      ['li-b', 'li-c'],
    ]);
  });

  it('an unmeasured decision frees its cap place after the hold; one measured by the other server keeps it', async () => {
    const [a, b] = await twoServers(oneLineItem({ caps: [{ max: 1, periodMs: day }] }), 10 * 60_000);
    const now = t0 + hour;
    expect((await ask(a!.deps, 'abandoned', now)).decisions).toHaveLength(1);
    const played = (await ask(a!.deps, 'played', now)).decisions[0] as DecisionClaims;
    expect(played).toBeDefined();
    // B consumes the measurement of A's decision (one consumer group: either may get it).
    const feedback = new MeasuredFeedback(b!.store, undefined, b!.shared, { now: () => now + 60_000 });
    await feedback.apply([delivered(played, 'e1', now + 60_000)]);
    const later = now + 11 * 60_000;
    expect((await ask(b!.deps, 'abandoned', later)).decisions).toHaveLength(1);
    expect((await ask(b!.deps, 'played', later)).decisions).toHaveLength(0);
    // The measured one became measured delivery, not a second count beside its reservation:
    // two open reservations (abandoned x2) and one measured.
    await ask(a!.deps, 'someone-else', later);
    expect(a!.store.deliveryOf('li').impressions).toBe(4);
  });
});
