/**
 * Availability before booking (availability.ts): breaks asked to fill are counted per hour
 * and request shape; a targeting is matched against them with the ad server's own rule, over
 * the last 7 days; the counts survive a restart (PGlite and the real PostgreSQL).
 */
import { type Db, ManualClock, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  AdsStore,
  adsMigrations,
  adsPlugin,
  availabilityWindowMs,
  generateSigningKey,
  InventoryLog,
  type InventoryShape,
  keyRing,
  loadStore,
  saveDelivery,
} from '../src/index.ts';
import { testAccounts } from './accounts.ts';
import { episode, episodeLookup, t0 } from './helpers.ts';

const hour = 3_600_000;
const shape = (over: Partial<InventoryShape> = {}): InventoryShape => ({
  showId: 'show-1',
  language: 'en',
  categories: ['technology'],
  mediaKind: 'audio',
  position: 'pre',
  country: 'DE',
  device: 'phone',
  ...over,
});

describe('InventoryLog', () => {
  it('counts what a targeting matches, per position, within the last 7 days', () => {
    const log = new InventoryLog();
    const now = t0 + 10 * 86_400_000;
    for (let i = 0; i < 5; i++) log.record(shape(), now - i * hour);
    for (let i = 0; i < 3; i++) log.record(shape({ position: 'mid', country: 'FR' }), now - 2 * hour);
    log.record(shape({ showId: 'show-2', device: 'computer' }), now - hour);
    // 8 days ago: outside the window.
    log.record(shape(), now - 8 * 86_400_000);

    expect(log.availability({}, now)).toMatchObject({
      opportunities: 9,
      total: 9,
      byPosition: { pre: 6, mid: 3, post: 0 },
    });
    expect(log.availability({ countries: ['DE'] }, now).opportunities).toBe(6);
    expect(log.availability({ countries: ['DE'], devices: ['phone'] }, now).opportunities).toBe(5);
    expect(log.availability({ showIds: ['show-2'] }, now).opportunities).toBe(1);
    expect(log.availability({ positions: ['mid'] }, now).byPosition).toEqual({ pre: 0, mid: 3, post: 0 });
    expect(log.availability({ categories: ['Technology'] }, now).opportunities).toBe(9);
    expect(log.availability({ languages: ['de'] }, now)).toMatchObject({ opportunities: 0, total: 9 });
    // A day-part is matched against the hour the break was asked for.
    const h = new Date(now - 2 * hour).getUTCHours();
    const d = new Date(now - 2 * hour).getUTCDay();
    expect(
      log.availability({ dayParts: [{ days: [d], fromHour: h, toHour: h + 1 }] }, now).opportunities,
    ).toBe(4);
    // The window slides: 7 days after the last record nothing is left.
    expect(log.availability({}, now + availabilityWindowMs + hour).opportunities).toBe(0);
  });

  it('hands out what was counted since the last write (a delta to add), and takes it back after a failed one', () => {
    const log = new InventoryLog();
    log.record(shape(), t0);
    log.record(shape(), t0 + 1000);
    expect(log.takeChanged().map((r) => r.count)).toEqual([2]);
    expect(log.takeChanged()).toEqual([]);
    log.record(shape(), t0 + 2000);
    const rows = log.takeChanged();
    expect(rows.map((r) => r.count)).toEqual([1]);
    log.markChanged(rows);
    log.record(shape(), t0 + 3000);
    expect(log.takeChanged().map((r) => r.count)).toEqual([2]);
    // Rows read from storage are not written again.
    const loaded = new InventoryLog();
    loaded.load([{ ...shape(), hour: t0, count: 5 }]);
    loaded.record(shape(), t0 + 10);
    expect(loaded.takeChanged().map((r) => r.count)).toEqual([1]);
  });
});

describe('availability through the API', () => {
  it('breaks asked for over VAST are what /ads/api/availability counts; only signed-in buyers ask', async () => {
    const clock = new ManualClock(t0 + hour);
    const accounts = await testAccounts(clock);
    const me = await accounts.account('advertiser');
    const app = Fastify({ trustProxy: ['127.0.0.1'] });
    const store = new AdsStore();
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      shows: async () => [{ id: 'show-1', title: 'Bugs and Moths', categories: ['technology'] }],
      keys: () => keyRing(generateSigningKey('k')),
      clock,
      publicUrl: 'http://ads.test',
      mediaDir: '/nonexistent',
      adminToken: '',
      auth: accounts.auth,
      store,
      publishCreative: false,
    });
    try {
      const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
      const ask = (brk: string, country: string, ua = phone) =>
        app.inject({
          url: `/ads/vast?episode=ep-1&break=${brk}`,
          headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': country, 'user-agent': ua },
        });
      for (let i = 0; i < 4; i++) expect((await ask('pre', 'DE')).statusCode).toBe(200);
      await ask('mid-1', 'DE');
      await ask('pre', 'FR');
      await ask('pre', 'DE', 'Mozilla/5.0 (X11; Linux x86_64)');
      // Unknown episodes and breaks are no opportunity.
      await app.inject({ url: '/ads/vast?episode=nope&break=pre' });
      await app.inject({ url: '/ads/vast?episode=ep-1&break=nope' });

      const auth = { authorization: `Bearer ${me.token}` };
      const avail = async (targeting: object) => {
        const r = await app.inject({
          method: 'POST',
          url: '/ads/api/availability',
          headers: auth,
          payload: { targeting },
        });
        expect(r.statusCode, r.body).toBe(200);
        return r.json() as { opportunities: number; total: number; byPosition: Record<string, number> };
      };
      expect(await avail({})).toMatchObject({
        opportunities: 7,
        total: 7,
        byPosition: { pre: 6, mid: 1, post: 0 },
      });
      expect((await avail({ countries: ['DE'], devices: ['phone'], positions: ['pre'] })).opportunities).toBe(
        4,
      );
      expect((await avail({ showIds: ['show-1'], countries: ['FR'] })).opportunities).toBe(1);
      expect((await avail({ devices: ['computer'] })).opportunities).toBe(1);

      expect(
        (await app.inject({ method: 'POST', url: '/ads/api/availability', payload: { targeting: {} } }))
          .statusCode,
      ).toBe(401);
      const bad = await app.inject({
        method: 'POST',
        url: '/ads/api/availability',
        headers: auth,
        payload: { targeting: { countries: ['germany'] } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'ADS_BAD_REQUEST' });
      const shows = await app.inject({ url: '/ads/api/shows', headers: auth });
      expect(shows.json()).toEqual({
        shows: [{ id: 'show-1', title: 'Bugs and Moths', categories: ['technology'] }],
      });
    } finally {
      await app.close();
      await accounts.close();
    }
  });
});

const pg = await requireServices('availability on PostgreSQL', 'postgres');
const engines: Array<{
  name: string;
  skip: boolean;
  open: () => Promise<{ db: Db; done: () => Promise<void> }>;
}> = [
  {
    name: 'pglite',
    skip: false,
    open: async () => {
      const db = await openDb({ inMemory: true });
      return { db, done: () => db.close() };
    },
  },
  {
    name: 'postgres',
    skip: pg.skip,
    open: async () => {
      const scratch = await scratchPostgres('swarmcast_avail');
      const db = await openDb({ databaseUrl: scratch.url });
      return {
        db,
        done: async () => {
          await db.close();
          await scratch.drop();
        },
      };
    },
  },
];

describe.each(engines)('availability kept on $name', (engine) => {
  it.skipIf(engine.skip)(
    'survives a restart, counts idempotently, forgets what is older than 7 days',
    async () => {
      const { db, done } = await engine.open();
      const dir = await scratchDir('ads-avail-');
      try {
        await migrate(db, adsMigrations);
        const now = t0 + 9 * 86_400_000;
        const store = new AdsStore();
        store.inventory.record(shape(), now - hour);
        store.inventory.record(shape({ country: null, categories: [] }), now - hour);
        store.inventory.record(shape(), now - 9 * 86_400_000);
        await saveDelivery(db, store, now);
        store.inventory.record(shape(), now);
        // Written twice more with nothing new: only what was counted since a write is added.
        await saveDelivery(db, store, now);
        await saveDelivery(db, store, now);
        const again = await loadStore(db, now);
        expect(again.inventory.availability({}, now)).toMatchObject({
          opportunities: 3,
          byPosition: { pre: 3 },
        });
        expect(again.inventory.availability({ countries: ['DE'] }, now).opportunities).toBe(2);
        const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ads_inventory_hourly');
        expect(rows.rows[0]!.n).toBe(3);
      } finally {
        await dir.remove();
        await done();
      }
    },
  );
});
