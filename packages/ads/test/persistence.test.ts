/**
 * The ads tables on both engines (PGlite, and the real PostgreSQL when reachable): what the
 * API writes and what decisions count comes back after a restart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Db, ManualClock, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  AdsStore,
  adsMigrations,
  adsPlugin,
  campaignReport,
  generateSigningKey,
  keyRing,
  loadStore,
  MeasuredFeedback,
  measuredDeliverySubject,
  saveAdvertiser,
  saveCampaign,
  saveCreative,
  saveDelivery,
  saveLineItem,
} from '../src/index.ts';
import { testAccounts } from './accounts.ts';
import { campaign, creative, episode, episodeLookup, lineItem, t0 } from './helpers.ts';

const mp3 = readFileSync(join(import.meta.dirname, 'fixtures/ad-15s.mp3'));
const pg = await requireServices('ads tables on PostgreSQL', 'postgres');

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
      const scratch = await scratchPostgres('swarmcast_ads');
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

describe.each(engines)('ads persistence on $name', (engine) => {
  it.skipIf(engine.skip)('round-trips the model and delivery through a restart', async () => {
    const { db, done } = await engine.open();
    const media = await scratchDir('ads-persist-');
    try {
      expect((await migrate(db, adsMigrations)).applied).toEqual([
        'ads/0001-campaigns-line-items-creatives-delivery',
        'ads/0002-advertiser-owner',
        'ads/0003-cap-impressions',
        'ads/0004-measured-delivery',
        'ads/0005-inventory-hourly',
        'ads/0006-claims',
      ]);
      const clock = new ManualClock(t0 + 2 * 3_600_000);
      const ring = keyRing(generateSigningKey('k'));
      const accounts = await testAccounts(clock);
      const owner = await accounts.account('advertiser');
      const auth = { authorization: `Bearer ${owner.token}` };
      let n = 0;
      const deps = {
        episodes: episodeLookup([episode()]),
        keys: () => ring,
        clock,
        publicUrl: 'http://127.0.0.1',
        mediaDir: media.path,
        adminToken: 'adm',
        newId: () => `id-${++n}`,
        db,
        auth: accounts.auth,
      };
      const store = new AdsStore();
      const app = Fastify();
      await app.register(adsPlugin, { ...deps, store });
      const post = async (url: string, payload: object) =>
        (await app.inject({ method: 'POST', url, payload, headers: auth })).json();
      const adv = await post('/ads/api/advertisers', { name: "O'Brien & Co" });
      const up = await app.inject({
        method: 'POST',
        url: `/ads/api/creatives?advertiser=${adv.id}&name=spot&companionText=hi`,
        headers: { ...auth, 'content-type': 'audio/mpeg' },
        payload: mp3,
      });
      const cr = up.json();
      await app.inject({
        method: 'POST',
        url: `/ads/api/creatives/${cr.id}/approval`,
        payload: { state: 'approved' },
        headers: { authorization: 'Bearer adm' },
      });
      const camp = await post('/ads/api/campaigns', {
        advertiserId: adv.id,
        name: 'c',
        startsAt: t0,
        endsAt: t0 + 86_400_000,
        currency: 'EUR',
        totalBudgetMicros: 9_000_000,
        dailyBudgetMicros: 5_000_000,
      });
      await post('/ads/api/line-items', {
        campaignId: camp.id,
        name: 'li',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 100_000 },
        cpmMicros: 1_000_000_000, // 1,000 EUR CPM: 1 EUR an impression, so budgets bind fast
        pacing: 'asap',
        targeting: { positions: ['pre', 'post'] },
        caps: [{ max: 100, periodMs: 60_000 }],
        creativeIds: [cr.id],
      });
      for (let i = 0; i < 3; i++)
        await app.inject({ url: `/ads/vast?episode=ep-1&break=pre&lid=listener-${i}abcdef` });
      clock.advance(3_600_000);
      for (let i = 0; i < 9; i++)
        await app.inject({ url: `/ads/vast?episode=ep-1&break=post&lid=listener-${i}abcdef` });
      // Two of the decisions were played and measured (the second one twice: at least once).
      const liId = [...store.lineItems.keys()][0]!;
      const measured = (decisionId: string, issuedAt: number) => ({
        id: `delivered:${decisionId}`,
        subject: measuredDeliverySubject,
        data: {
          kind: 'delivered',
          source: 'vast',
          decisionId,
          lineItemId: liId,
          campaignId: camp.id,
          advertiserId: adv.id,
          listenerId: 'listener-0abcdef',
          issuedAt,
          time: issuedAt + 5000,
          cpmMicros: 1_000_000_000,
          chargedMicros: 1_000_000,
        },
      });
      const feedback = new MeasuredFeedback(store, db);
      await feedback.apply([measured('id-1-1', t0 + 2 * 3_600_000)]);
      await feedback.apply([measured('id-4-1', t0 + 3 * 3_600_000), measured('id-1-1', t0 + 2 * 3_600_000)]);
      expect(feedback.stats).toEqual({ applied: 2, duplicates: 1, malformed: 0 });
      const before = campaignReport(store, camp.id, clock.now())!;
      // The daily budget bound: 5 decisions served, each holding 1 EUR until measured or expired.
      expect(before.spendMicros).toBe(2_000_000);
      expect(before.reservedMicros).toBe(3_000_000);
      expect(before.lineItems[0]!.decisions).toBe(5);
      await app.close(); // flushes delivery

      const restored = await loadStore(db, clock.now());
      expect([...restored.creatives.values()]).toEqual([...store.creatives.values()]);
      expect([...restored.lineItems.values()]).toEqual([...store.lineItems.values()]);
      expect([...restored.campaigns.values()]).toEqual([...store.campaigns.values()]);
      expect(restored.advertisers.get(adv.id)).toEqual({
        id: adv.id,
        name: "O'Brien & Co",
        ownerAccountId: owner.id,
      });
      expect(campaignReport(restored, camp.id, clock.now())).toEqual(before);
      // The restored counters keep holding the daily budget after a restart.
      const again = Fastify();
      await again.register(adsPlugin, { ...deps, store: restored });
      const r = await again.inject({ url: '/ads/vast?episode=ep-1&break=pre&lid=listener-x1234567' });
      expect(r.body).not.toContain('<Ad ');
      await again.close();
      // Nothing decided since the restart: nothing added, the stored hours stay as they were.
      expect(await saveDelivery(db, restored, clock.now())).toBe(0);
      expect(campaignReport(await loadStore(db, clock.now()), camp.id, clock.now())).toEqual(before);
      await accounts.close();
    } finally {
      await media.remove();
      await done();
    }
  });

  it.skipIf(engine.skip)(
    'two processes deciding in one hour add up their decisions and requests',
    async () => {
      const { db, done } = await engine.open();
      try {
        await migrate(db, adsMigrations);
        const now = t0 + 2 * 3_600_000;
        const c = campaign('c1');
        const li = lineItem('li', 'c1');
        await saveAdvertiser(db, { id: c.advertiserId, name: 'A' });
        await saveCampaign(db, c);
        await saveCreative(db, creative('cr-li', { advertiserId: c.advertiserId }));
        await saveLineItem(db, li);
        const shape = {
          showId: 'show-1',
          language: 'en',
          categories: ['technology'],
          mediaKind: 'audio' as const,
          position: 'pre' as const,
          country: 'DE',
          device: 'phone' as const,
        };
        // Each process loads the stored (empty) hours, then decides on its own.
        const [a, b] = [await loadStore(db, now), await loadStore(db, now)] as [AdsStore, AdsStore];
        for (let i = 0; i < 3; i++) {
          a.recordImpression('li', null, now + i);
          a.inventory.record(shape, now + i);
        }
        for (let i = 0; i < 2; i++) {
          b.recordImpression('li', null, now + 10 + i);
          b.inventory.record(shape, now + 10 + i);
        }
        await saveDelivery(db, a, now + 20);
        await saveDelivery(db, b, now + 20);
        // A flushes again with one more: only the new one is added.
        a.recordImpression('li', null, now + 30);
        a.inventory.record(shape, now + 30);
        await saveDelivery(db, a, now + 40);
        await saveDelivery(db, b, now + 40);
        const after = await loadStore(db, now + 50);
        expect([...after.hourlyOf('li').values()]).toEqual([
          { impressions: 6, spendMilliMicros: 6 * li.cpmMicros },
        ]);
        expect(after.inventory.availability({}, now + 50).opportunities).toBe(6);
      } finally {
        await done();
      }
    },
  );

  it.skipIf(engine.skip)('keeps frequency caps through a restart, until the cap period ends', async () => {
    const { db, done } = await engine.open();
    const media = await scratchDir('ads-caps-');
    try {
      await migrate(db, adsMigrations);
      const clock = new ManualClock(t0 + 3_600_000);
      const ring = keyRing(generateSigningKey('k'));
      // The store as the API would have written it: one item capped at 1 per hour.
      const model = new AdsStore();
      model.putAdvertiser({ id: 'adv', name: 'A' });
      model.putCampaign(campaign('c1', { advertiserId: 'adv' }));
      model.putCreative(creative('cr-capped', { advertiserId: 'adv' }));
      model.putLineItem(lineItem('capped', 'c1', { caps: [{ max: 1, periodMs: 3_600_000 }] }));
      await saveAdvertiser(db, model.advertisers.get('adv')!);
      await saveCampaign(db, model.campaigns.get('c1')!);
      await saveCreative(db, model.creatives.get('cr-capped')!);
      await saveLineItem(db, model.lineItems.get('capped')!);
      const node = async (store: AdsStore) => {
        const app = Fastify();
        await app.register(adsPlugin, {
          episodes: episodeLookup([episode()]),
          keys: () => ring,
          clock,
          publicUrl: 'http://127.0.0.1',
          mediaDir: media.path,
          adminToken: '',
          db,
          store,
        });
        return app;
      };
      const ads = async (app: Awaited<ReturnType<typeof node>>, lid: string) =>
        ((await app.inject({ url: `/ads/vast?episode=ep-1&break=pre&lid=${lid}` })).body.match(/<Ad /g) ?? [])
          .length;

      const first = await node(await loadStore(db, clock.now()));
      expect(await ads(first, 'listener-capped1')).toBe(1);
      expect(await ads(first, 'listener-capped1')).toBe(0); // capped
      await first.close(); // flushes delivery and cap memory

      clock.advance(60_000);
      const second = await node(await loadStore(db, clock.now()));
      expect(await ads(second, 'listener-capped1')).toBe(0); // still capped after the restart
      expect(await ads(second, 'listener-other01')).toBe(1); // another listener is not
      await second.close();

      // An hour later the cap has passed: the memory is dropped and the ad serves again.
      clock.advance(3_600_000);
      const third = await node(await loadStore(db, clock.now()));
      expect(await ads(third, 'listener-capped1')).toBe(1);
      await third.close();
      clock.advance(2 * 3_600_000);
      await saveDelivery(db, new AdsStore(), clock.now());
      const left = await db.query('SELECT listener_id FROM ads_cap_impressions');
      expect(left.rows).toEqual([]);
    } finally {
      await media.remove();
      await done();
    }
  });
});
