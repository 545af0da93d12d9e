import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { type Db, ManualClock, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdsPluginDeps,
  adsMigrations,
  adsPlugin,
  type CampaignReport,
  generateSigningKey,
  keyRing,
  loadStore,
  MeasuredFeedback,
  measuredDeliverySubject,
  redisSharedDelivery,
  saveAdvertiser,
  saveCampaign,
  saveCreative,
  saveDelivery,
  saveLineItem,
} from '../src/index.ts';
import { campaign, creative, episode, episodeLookup, lineItem, t0 } from './helpers.ts';

/**
 * The ad server's own delivery report with two processes of one network (one PostgreSQL
 * database, one Redis prefix): each used to answer from its own memory, so A showed its own
 * decisions and none of the measured deliveries B's feedback consumer received, and B the
 * reverse (issue 19). Both now answer the same totals.
 */
const services = await requireServices('shared ad delivery report', 'redis', 'postgres');
const hour = 3_600_000;

describe.skipIf(services.skip)('the ads delivery report with two processes', () => {
  let redis: Redis;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
    await redis?.quit();
  });

  /** Two ad server processes of one network: one PostgreSQL database, one Redis prefix. */
  async function twoServers(dbName: string, over: Partial<AdsPluginDeps> = {}) {
    const scratch = await scratchPostgres(dbName);
    const media = await scratchDir('ads-report-');
    const dbs: Db[] = [];
    const apps: FastifyInstance[] = [];
    cleanups.push(async () => {
      for (const app of apps) await app.close();
      for (const db of dbs) await db.close();
      await scratch.drop();
      await media.remove();
    });
    const open = async () => {
      const db = await openDb({ databaseUrl: scratch.url });
      dbs.push(db);
      return db;
    };
    const setup = await open();
    await migrate(setup, adsMigrations);
    await saveAdvertiser(setup, { id: 'adv-c1', name: 'Advertiser' });
    await saveCampaign(setup, campaign('c1'));
    await saveCreative(setup, creative('cr-1', { advertiserId: 'adv-c1' }));
    await saveLineItem(setup, lineItem('li', 'c1', { creativeIds: ['cr-1'] }));

    const clock = new ManualClock(t0 + hour);
    const ring = keyRing(generateSigningKey('k'));
    const prefix = `sc-ads-report-${randomBytes(4).toString('hex')}:`;
    const servers = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const db = await open();
        const store = await loadStore(db, clock.now());
        const shared = redisSharedDelivery(redis, prefix, { capHoldMs: 10 * 60_000 });
        const app = Fastify();
        apps.push(app);
        let n = 0;
        await app.register(adsPlugin, {
          episodes: episodeLookup([episode()]),
          keys: () => ring,
          clock,
          publicUrl: 'http://127.0.0.1',
          mediaDir: media.path,
          adminToken: 'adm',
          newId: () => `${name}${++n}`,
          db,
          store,
          sharedDelivery: shared,
          ...over,
        });
        return { db, store, shared, app };
      }),
    );
    return { servers: servers as [(typeof servers)[0], (typeof servers)[0]], clock };
  }

  it('every process reports the decisions, measured delivery and reservations of all of them', async () => {
    // Each flushes its decision counts only when told here.
    const { servers, clock } = await twoServers('swarmcast_ads_report', { decisionFlushMs: 3_600_000 });
    const [a, b] = servers;
    // Three decisions by A, two by B.
    const decide = async (app: FastifyInstance, listener: string) => {
      const r = await app.inject({ url: `/ads/vast?episode=ep-1&break=pre&lid=${listener}` });
      const id = /<AdServingId>([^<]+)</.exec(r.body)?.[1];
      expect(id, r.body).toBeDefined();
      return id!;
    };
    const ids = [
      await decide(a.app, 'listener-a1xxxx'),
      await decide(a.app, 'listener-a2xxxx'),
      await decide(a.app, 'listener-a3xxxx'),
      await decide(b.app, 'listener-b1xxxx'),
      await decide(b.app, 'listener-b2xxxx'),
    ];
    // B's consumer gets the measurement of two of A's decisions and one of its own.
    const li = lineItem('li', 'c1');
    const feedback = new MeasuredFeedback(b.store, b.db, b.shared, clock);
    await feedback.apply(
      [ids[0]!, ids[1]!, ids[3]!].map((decisionId, i) => ({
        id: `e${i}`,
        subject: measuredDeliverySubject,
        data: {
          kind: 'delivered',
          source: 'vast',
          decisionId,
          lineItemId: 'li',
          campaignId: 'c1',
          advertiserId: 'adv-c1',
          listenerId: null,
          issuedAt: t0 + hour,
          time: t0 + hour + 30_000,
          cpmMicros: li.cpmMicros,
          chargedMicros: li.cpmMicros / 1000,
        },
      })),
    );
    // A flushes its decisions on its interval; B has not flushed yet.
    await saveDelivery(a.db, a.store, clock.now());
    const report = async (app: FastifyInstance) => {
      const r = await app.inject({
        url: '/ads/api/campaigns/c1/report',
        headers: { authorization: 'Bearer adm' },
      });
      expect(r.statusCode).toBe(200);
      return r.json() as CampaignReport;
    };
    const fromB = await report(b.app);
    const item = fromB.lineItems[0]!;
    expect(item.decisions).toBe(5);
    expect(item.impressions).toBe(3);
    expect(item.spendMicros).toBe((3 * li.cpmMicros) / 1000);
    expect(item.reservedMicros).toBe((2 * li.cpmMicros) / 1000);
    expect(fromB.spendMicros).toBe(item.spendMicros);
    expect(item.days[0]).toMatchObject({ decisions: 5, impressions: 3 });
    // A sees B's decisions once B flushes; the rest it sees at once.
    await saveDelivery(b.db, b.store, clock.now());
    expect(await report(a.app)).toEqual(fromB);
  });

  it('answers 503 ADS_SHARED_STATE_UNAVAILABLE (the ad request: x-ads-reason), not 500, when Redis cannot be reached', async () => {
    // A port with nothing listening (the shared Redis server stays up for everyone else).
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    // The node's client options (tracker's RedisSwarmStore): a command fails after two retries.
    const down = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 2 });
    down.on('error', () => {});
    const scratch = await scratchPostgres('swarmcast_ads_report_down');
    const media = await scratchDir('ads-report-down-');
    const db = await openDb({ databaseUrl: scratch.url });
    const app = Fastify();
    cleanups.push(async () => {
      await app.close();
      down.disconnect();
      await db.close();
      await scratch.drop();
      await media.remove();
    });
    await migrate(db, adsMigrations);
    await saveAdvertiser(db, { id: 'adv-c1', name: 'Advertiser' });
    await saveCampaign(db, campaign('c1'));
    await saveCreative(db, creative('cr-1', { advertiserId: 'adv-c1' }));
    await saveLineItem(db, lineItem('li', 'c1', { creativeIds: ['cr-1'] }));
    const clock = new ManualClock(t0 + hour);
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      keys: () => keyRing(generateSigningKey('k')),
      clock,
      publicUrl: 'http://127.0.0.1',
      mediaDir: media.path,
      adminToken: 'adm',
      db,
      store: await loadStore(db, clock.now()),
      sharedDelivery: redisSharedDelivery(down, `sc-ads-down-${randomBytes(4).toString('hex')}:`, {
        capHoldMs: 10 * 60_000,
      }),
    });
    const headers = { authorization: 'Bearer adm' };
    const api = await app.inject({ url: '/ads/api/campaigns/c1/report', headers });
    expect(api.statusCode, api.body).toBe(503);
    expect(api.headers['retry-after']).toBe('5');
    const body = api.json() as { code: string; message: string };
    expect(body.code).toBe('ADS_SHARED_STATE_UNAVAILABLE');
    // What is wrong and what to do; nothing of the client's own error text.
    expect(body.message).toMatch(/Redis.*REDIS_URL.*start Redis/);
    expect(api.body).not.toMatch(/internal|maxRetriesPerRequest|ioredis|\/work\/|node_modules|127\.0\.0\.1/i);
    for (const url of ['/ads/dashboard', '/ads/dashboard/campaigns/c1']) {
      const page = await app.inject({ url, headers });
      expect(page.statusCode, url).toBe(503);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('ADS_SHARED_STATE_UNAVAILABLE');
      expect(page.body).toContain('start Redis or correct REDIS_URL');
      expect(page.body).not.toMatch(/internal error|maxRetriesPerRequest|node_modules/i);
    }
    // An ad request gets the empty VAST with 503 and the same code in x-ads-reason.
    const vast = await app.inject({ url: '/ads/vast?episode=ep-1&break=pre&lid=listener-1' });
    expect(vast.statusCode, vast.body).toBe(503);
    expect(vast.headers['x-ads-reason']).toBe('ADS_SHARED_STATE_UNAVAILABLE');
    expect(vast.body).toContain('<VAST');
    expect(vast.body).not.toContain('<Ad ');
    // A campaign that is not there is still a 404, not a 503 (nothing asked of Redis).
    expect((await app.inject({ url: '/ads/api/campaigns/nope/report', headers })).statusCode).toBe(404);
  });

  it("another process's decisions show in the report within seconds, not after its minute's flush", async () => {
    // The plugin's default: each process adds its decision counts to the stored hours every 2 s.
    const { servers } = await twoServers('swarmcast_ads_report_lag');
    const [a, b] = servers;
    const decide = async (app: FastifyInstance, listener: string) => {
      const r = await app.inject({ url: `/ads/vast?episode=ep-1&break=pre&lid=${listener}` });
      expect(r.body).toMatch(/<AdServingId>/);
    };
    const decisions = async (app: FastifyInstance) => {
      const r = await app.inject({
        url: '/ads/api/campaigns/c1/report',
        headers: { authorization: 'Bearer adm' },
      });
      expect(r.statusCode).toBe(200);
      return (r.json() as CampaignReport).lineItems[0]!.decisions;
    };
    for (const l of ['listener-a1xxxx', 'listener-a2xxxx', 'listener-a3xxxx']) await decide(a.app, l);
    for (const l of ['listener-b1xxxx', 'listener-b2xxxx']) await decide(b.app, l);
    const since = Date.now();
    // Each process sees its own at once and the other's within a few seconds (60 s before).
    await expect.poll(() => decisions(b.app), { timeout: 5000, interval: 100 }).toBe(5);
    await expect.poll(() => decisions(a.app), { timeout: 5000, interval: 100 }).toBe(5);
    expect(Date.now() - since).toBeLessThan(5000);
    // And no decision is counted twice while flushes and reports interleave.
    for (let i = 0; i < 30; i++) {
      expect(await decisions(a.app)).toBe(5);
      expect(await decisions(b.app)).toBe(5);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
