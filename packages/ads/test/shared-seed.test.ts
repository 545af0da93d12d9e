import { randomBytes } from 'node:crypto';
import { type Db, migrate, openDb, type Transaction } from '@swarmcast/platform';
import { requireServices, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdsStore,
  adsMigrations,
  type DecideDeps,
  type DecisionClaims,
  dbClaimLog,
  decideBreakShared,
  generateSigningKey,
  loadDeliverySeed,
  MeasuredFeedback,
  redisSharedDelivery,
  saveAdvertiser,
  saveCampaign,
  saveCreative,
  saveDelivery,
  saveLineItem,
} from '../src/index.ts';
import { campaign, creative, day, delivered, episode, lineItem, t0 } from './helpers.ts';

/**
 * Redis here keeps nothing on disk: after a restart or flush the shared counters were gone,
 * and a campaign's daily budget, its total budget and a listener's cap started again from
 * nothing (issue 19). They are seeded again from the ads tables in PostgreSQL.
 */
const services = await requireServices(
  'shared ad counters re-seeded after a Redis loss',
  'redis',
  'postgres',
);
const hour = 3_600_000;

describe.skipIf(services.skip)('shared ad counters after Redis loses them', () => {
  let redis: Redis;
  let db: Db;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
    const scratch = await scratchPostgres('swarmcast_ads_seed');
    dropDb = scratch.drop;
    db = await openDb({ databaseUrl: scratch.url });
    await migrate(db, adsMigrations);
  });

  afterAll(async () => {
    await db?.close();
    await dropDb?.();
    await redis?.quit();
  });

  /** Deletes every key under `prefix` (this test's own; the server is shared). */
  async function flushPrefix(prefix: string): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await redis.del(...keys);
    } while (cursor !== '0');
    return n;
  }

  it('daily and total budgets and caps hold after the keys are flushed', async () => {
    // c1: two days, a daily budget for 5 impressions and a total budget for 8 (20 EUR CPM),
    // pre-rolls only. c2: post-rolls, capped at one a day per listener.
    const c1 = campaign('c1', {
      endsAt: t0 + 2 * day,
      dailyBudgetMicros: 100_000,
      totalBudgetMicros: 160_000,
    });
    const c2 = campaign('c2', { endsAt: t0 + 2 * day });
    const li1 = lineItem('li-1', 'c1', { targeting: { positions: ['pre'] } });
    const li2 = lineItem('li-cap', 'c2', {
      targeting: { positions: ['post'] },
      caps: [{ max: 1, periodMs: day }],
    });
    for (const c of [c1, c2]) {
      await saveAdvertiser(db, { id: c.advertiserId, name: c.advertiserId });
      await saveCampaign(db, c);
    }
    await saveCreative(db, creative('cr-li-1', { advertiserId: c1.advertiserId }));
    await saveCreative(db, creative('cr-li-cap', { advertiserId: c2.advertiserId }));
    await saveLineItem(db, li1);
    await saveLineItem(db, li2);

    const prefix = `sc-ads-seed-${randomBytes(4).toString('hex')}:`;
    const key = generateSigningKey('k1');
    const servers = ['a', 'b'].map((name) => {
      const store = new AdsStore();
      for (const c of [c1, c2]) store.putCampaign(c);
      store.putCreative(creative('cr-li-1'));
      store.putCreative(creative('cr-li-cap'));
      store.putLineItem(li1);
      store.putLineItem(li2);
      const shared = redisSharedDelivery(redis, prefix, {
        capHoldMs: 10 * 60_000,
        seed: (now) => loadDeliverySeed(db, now),
      });
      let n = 0;
      const deps: DecideDeps = {
        store,
        signingKey: () => key,
        collector: 'https://node.example',
        newId: () => `${name}${++n}`,
        tokenTtlMs: 6 * hour,
        adSystemVersion: 'test',
        shared,
      };
      return { store, shared, deps };
    });
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    await a.shared.ready(t0);
    const ask = (breakId: string, listenerId: string, now: number, i: number) =>
      decideBreakShared(servers[i % 2]!.deps, {
        episode: episode(),
        breakId,
        listenerId,
        country: null,
        device: 'phone',
        now,
      });
    /** Ten pre-roll requests at once, from ten listeners, on both servers. */
    const preRolls = async (label: string, now: number) =>
      (
        await Promise.all(Array.from({ length: 10 }, (_, i) => ask('pre', `l-${label}-${i}`, now, i)))
      ).flatMap((x) => x.decisions);
    const capped = async (now: number, i: number) => (await ask('post', 'l-cap', now, i)).decisions;

    // Day one: five pre-rolls (the daily budget) and one capped post-roll, all measured by B.
    const day1 = t0 + hour;
    const served: DecisionClaims[] = [...(await preRolls('1a', day1)), ...(await capped(day1, 0))];
    expect(served.map((d) => d.lineItemId).sort()).toEqual([...Array(5).fill('li-1'), 'li-cap']);
    const feedback = new MeasuredFeedback(b.store, db, b.shared, { now: () => day1 + 60_000 });
    await feedback.apply(served.map((d, i) => delivered(d, `e${i}`, day1 + 60_000)));
    // Both flush their cap memory on their interval.
    await saveDelivery(db, a.store, day1 + 60_000);
    await saveDelivery(db, b.store, day1 + 60_000);
    expect(await preRolls('1b', day1 + 2 * hour)).toHaveLength(0);
    expect(await capped(day1 + 2 * hour, 1)).toHaveLength(0);

    // Redis loses every key of this network.
    expect(await flushPrefix(prefix)).toBeGreaterThan(0);
    expect(await preRolls('1c', day1 + 3 * hour)).toHaveLength(0);
    expect(await capped(day1 + 3 * hour, 1)).toHaveLength(0);
    expect(await capped(day1 + 3 * hour, 0)).toHaveLength(0);
    // The policy had the listener's cap time from the seed (not only the claim's refusal).
    expect([a.store.seen('l-cap', 'li-cap').length, b.store.seen('l-cap', 'li-cap').length]).toEqual([1, 1]);

    // Day two: the total budget has room for three more (8 - 5 measured), the cap one more.
    const day2 = t0 + day + hour;
    expect(await preRolls('2', day2)).toHaveLength(3);
    expect(await capped(day2, 1)).toHaveLength(1);
  });

  it('a loss mid-flight keeps open reservations, cap holds and an uncommitted measured batch', async () => {
    // c3: a budget (total and daily) for 8 pre-rolls at 20 EUR CPM. c4: post-rolls capped at 2
    // a day per listener. Each claim is recorded in ads_claims before Redis holds it.
    const budget = 8 * 20_000;
    const c3 = campaign('c3', { totalBudgetMicros: budget, dailyBudgetMicros: budget });
    const c4 = campaign('c4');
    const liB = lineItem('li-b', 'c3', { targeting: { positions: ['pre'] } });
    const liC = lineItem('li-c', 'c4', {
      targeting: { positions: ['post'] },
      caps: [{ max: 2, periodMs: day }],
    });
    for (const c of [c3, c4]) {
      await saveAdvertiser(db, { id: c.advertiserId, name: c.advertiserId });
      await saveCampaign(db, c);
    }
    await saveCreative(db, creative('cr-li-b', { advertiserId: c3.advertiserId }));
    await saveCreative(db, creative('cr-li-c', { advertiserId: c4.advertiserId }));
    await saveLineItem(db, liB);
    await saveLineItem(db, liC);

    const prefix = `sc-ads-seed-${randomBytes(4).toString('hex')}:`;
    const key = generateSigningKey('k2');
    const servers = ['a', 'b'].map((name) => {
      const store = new AdsStore();
      for (const c of [c3, c4]) store.putCampaign(c);
      store.putCreative(creative('cr-li-b'));
      store.putCreative(creative('cr-li-c'));
      store.putLineItem(liB);
      store.putLineItem(liC);
      const shared = redisSharedDelivery(redis, prefix, {
        capHoldMs: 10 * 60_000,
        seed: (now) => loadDeliverySeed(db, now),
        claims: dbClaimLog(db),
        seedWaitMs: 10_000,
      });
      let n = 0;
      const deps: DecideDeps = {
        store,
        signingKey: () => key,
        collector: 'https://node.example',
        newId: () => `m${name}${++n}`,
        tokenTtlMs: 6 * hour,
        adSystemVersion: 'test',
        shared,
      };
      return { store, shared, deps };
    });
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
    await a.shared.ready(t0);
    const ask = (breakId: string, listenerId: string, now: number, i: number) =>
      decideBreakShared(servers[i % 2]!.deps, {
        episode: episode(),
        breakId,
        listenerId,
        country: null,
        device: 'phone',
        now,
      });
    const preRolls = async (label: string, now: number, n: number) =>
      (await Promise.all(Array.from({ length: n }, (_, i) => ask('pre', `l-${label}-${i}`, now, i)))).flatMap(
        (x) => x.decisions,
      );
    const capped = async (now: number, i: number) => (await ask('post', 'l-cap', now, i)).decisions;

    // Five pre-rolls and one capped post-roll; two pre-rolls measured, the rest in flight.
    const t1 = t0 + hour;
    const first = await preRolls('1', t1, 5);
    expect(first).toHaveLength(5);
    expect(await capped(t1, 0)).toHaveLength(1);
    const feedback = new MeasuredFeedback(b.store, db, b.shared, { now: () => t1 + 60_000 });
    await feedback.apply(first.slice(0, 2).map((d, i) => delivered(d, `m${i}`, t1 + 60_000)));

    // A third is applied to Redis by a consumer whose transaction has not committed yet.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slow: Db = {
      engine: db.engine,
      query: (sql, params) => db.query(sql, params),
      exec: (sql) => db.exec(sql),
      close: async () => {},
      transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
        db.transaction(async (tx) => {
          const out = await fn(tx);
          await gate;
          return out;
        }),
    };
    const uncommitted = new MeasuredFeedback(b.store, slow, b.shared, { now: () => t1 + 90_000 }).apply([
      delivered(first[2]!, 'm2', t1 + 90_000),
    ]);
    await expect.poll(() => redis.hget(`${prefix}m:li-b`, 'n')).toBe('3');

    // Redis loses every key of this network now, and a burst of requests comes in on both
    // servers; the consumer commits 300 ms later.
    expect(await flushPrefix(prefix)).toBeGreaterThan(0);
    const t2 = t1 + 2 * 60_000;
    setTimeout(open, 300);
    const [burst, capA, capB] = await Promise.all([
      preRolls('2', t2, 10),
      capped(t2, 0),
      capped(t2, 1),
      uncommitted,
    ]);
    // 8 - 3 measured - 2 open: exactly 3; the cap has one place left (the first still held).
    expect(burst).toHaveLength(3);
    expect([...capA!, ...capB!]).toHaveLength(1);
    const today = Math.floor(t2 / day);
    expect(await redis.zcard(`${prefix}r:li-b`)).toBe(5);
    expect(await redis.zcard(`${prefix}dr:li-b:${today}`)).toBe(5);
    expect(await redis.hget(`${prefix}m:li-b`, 'n')).toBe('3');

    // The burst's three are measured; after every token expired, the budget has room for
    // 8 - 6 measured = 2 (3 if the uncommitted one had been lost from the seed), and the
    // listener's holds ended unmeasured, so the cap has both places again.
    const fb2 = new MeasuredFeedback(a.store, db, a.shared, { now: () => t2 + 60_000 });
    await fb2.apply(burst.map((d, i) => delivered(d, `m-burst-${i}`, t2 + 60_000)));
    const t3 = t1 + 6 * hour + 5 * 60_000;
    const last = await preRolls('3', t3, 10);
    expect(last).toHaveLength(2);
    const later = [];
    for (let i = 0; i < 3; i++) later.push(...(await capped(t3 + i, i)));
    expect(later).toHaveLength(2);

    // A measured batch is the first to meet lost counters: it seeds them out of its
    // transaction (inside, the seed would wait for the lock the transaction holds) and applies.
    expect(await flushPrefix(prefix)).toBeGreaterThan(0);
    const fb3 = new MeasuredFeedback(a.store, db, a.shared, { now: () => t3 + 60_000 });
    await fb3.apply(last.map((d, i) => delivered(d, `m-last-${i}`, t3 + 60_000)));
    expect(await redis.hget(`${prefix}m:li-b`, 'n')).toBe('8');
    expect(await redis.zcard(`${prefix}r:li-b`)).toBe(0);
    expect(await preRolls('4', t3 + 2 * 60_000, 5)).toHaveLength(0);
  });
});
