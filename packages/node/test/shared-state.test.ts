import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEngineNames } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres, serviceUrl, waitFor } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/node.ts';
import { adminTokenFile } from '../src/secrets.ts';

/**
 * Two web processes of one network on one PostgreSQL, Redis and NATS (issue 19): what one
 * process keeps must be what the other sees. Rate limits count each address once across both
 * (N processes used to allow N times the rate); a write through one drops the other's portal
 * cache at once (it used to show the old page until its TTL ran out).
 */
const services = await requireServices(
  'two web processes on PostgreSQL, Redis, NATS',
  'postgres',
  'redis',
  'nats',
);
const tag = randomBytes(4).toString('hex');

describe.skipIf(services.skip)('two web processes share their state through Redis', () => {
  let a: RunningNode;
  let b: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let pg: Awaited<ReturnType<typeof scratchPostgres>>;
  const engines = parseEngineNames(
    (k) =>
      ({
        SWARMCAST_REDIS_PREFIX: `sc-shared-${tag}:`,
        SWARMCAST_NATS_STREAM: `SC_SHARED_${tag}`,
      })[k],
  );

  beforeAll(async () => {
    dir = await scratchDir('shared-state-');
    pg = await scratchPostgres('swarmcast_shared');
    const start = () =>
      startNode({
        port: 0,
        host: '127.0.0.1',
        dataDir: dir.path,
        databaseUrl: pg.url,
        redisUrl: serviceUrl('redis'),
        natsUrl: serviceUrl('nats'),
        engines,
        roles: ['web'],
        demo: false,
        seed: false,
        daiPrepare: null,
        // Long enough that only the cross-process drop can explain a fresh page.
        portalCacheMs: 600_000,
      });
    a = await start();
    b = await start();
  }, 180_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.drop();
    await dir?.remove();
    const redis = new Redis(serviceUrl('redis'));
    const keys = await redis.keys(`${engines.redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const nc = await connect({ servers: serviceUrl('nats') });
    await (await nc.jetstreamManager()).streams.delete(engines.natsStream).catch(() => {});
    await nc.close();
  }, 60_000);

  it('ad decisions: the burst of one address is counted once across both processes', async () => {
    // Default rule: a burst of 60 per address, 5/s after it. 50 asks at each process at once:
    // each process alone would allow all 50; together they allow the burst and the refill only.
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from(
        { length: 100 },
        async (_, i) => (await fetch(new URL('/ads/vast', (i % 2 ? a : b).url))).status,
      ),
    );
    const refill = Math.ceil((5 * (Date.now() - started)) / 1000);
    const allowed = statuses.filter((s) => s !== 429).length;
    expect(statuses.filter((s) => s !== 429 && s >= 500)).toEqual([]);
    expect(allowed).toBeGreaterThanOrEqual(60);
    expect(allowed).toBeLessThanOrEqual(60 + refill);
  });

  it('log-in: the per-address limit is counted once across both processes', async () => {
    // Default: a burst of 10 log-ins per address.
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const node = i % 2 === 0 ? a : b;
      const r = await fetch(new URL('/login', node.url), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: new URL(node.url).origin,
        },
        body: new URLSearchParams({ email: `nobody${i}@example.org`, password: 'wrong' }),
      });
      statuses.push(r.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
  });

  it("an advertiser and a campaign made through one process are in the other's ad server at once", async () => {
    // Each process holds the ad model in memory; B used to learn of A's writes only at restart.
    const token = (await readFile(join(dir.path, adminTokenFile), 'utf8')).trim();
    const post = async (path: string, body: unknown) => {
      const r = await fetch(new URL(path, a.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status, await r.clone().text()).toBe(201);
      return (await r.json()) as { id: string };
    };
    const advertiser = await post('/ads/api/advertisers', { name: `Shared ${tag}` });
    const listed = async (path: string, id: string) => {
      const r = await fetch(new URL(path, b.url), { headers: { authorization: `Bearer ${token}` } });
      return JSON.stringify(await r.json()).includes(id);
    };
    await waitFor(() => listed('/ads/api/advertisers', advertiser.id), 20_000, 'the advertiser on B', 100);
    const campaign = await post('/ads/api/campaigns', {
      advertiserId: advertiser.id,
      name: 'Across processes',
      startsAt: Date.now() - 60_000,
      endsAt: Date.now() + 86_400_000,
      currency: 'EUR',
      totalBudgetMicros: 1_000_000,
    });
    await waitFor(() => listed('/ads/api/campaigns', campaign.id), 20_000, 'the campaign on B', 100);
  });

  it("a show created through one process is on the other one's portal at once", async () => {
    // B caches "no such show" first.
    expect((await fetch(new URL('/shows/shared-cache', b.url))).status).toBe(404);
    const signup = await fetch(new URL('/signup', a.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(a.url).origin },
      body: new URLSearchParams({
        email: `cache-${tag}@example.org`,
        name: 'Cache',
        password: 'a long enough password',
        role: 'creator',
      }),
    });
    expect(signup.status).toBe(303);
    const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0]!;
    const created = await fetch(new URL('/api/shows', a.url), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: new URL(a.url).origin },
      body: JSON.stringify({ slug: 'shared-cache', title: 'Shared cache' }),
    });
    expect(created.status).toBe(201);
    // B's cached 404 lives 10 minutes; the drop sent by A ends it within moments.
    await waitFor(
      async () => (await fetch(new URL('/shows/shared-cache', b.url))).status === 200,
      20_000,
      "the show on B's portal",
      100,
    );
  });
});
