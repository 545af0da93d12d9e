import { catalogMigrations, createAccount, createApiToken, createSession } from '@swarmcast/catalog';
import { Reports, registerEpisode, reportRoutes } from '@swarmcast/measure';
import { type Db, ManualClock, migrate, openDb, privacyMigrations } from '@swarmcast/platform';
import { sessionCookie } from '@swarmcast/web';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureAccess } from '../src/measure-access.ts';
import { nodeServiceMigrations } from '../src/node-services.ts';

/**
 * Who reads which measurement report on a node: the catalog's real accounts, web sessions
 * and API tokens against the report routes, on PGlite.
 */
const clock = new ManualClock(Date.UTC(2026, 11, 7, 12));
const adminToken = 'node-admin-token';
let db: Db;
let app: FastifyInstance;
const who: Record<string, { id: string; cookie: string; token: string }> = {};

beforeAll(async () => {
  db = await openDb({ inMemory: true });
  await migrate(db, [...privacyMigrations, ...catalogMigrations, ...nodeServiceMigrations]);
  for (const [name, role] of [
    ['ada', 'creator'],
    ['bob', 'creator'],
    ['acme', 'advertiser'],
    ['root', 'admin'],
  ] as const) {
    const a = await createAccount(db, {
      email: `${name}@example.org`,
      name,
      password: 'a long enough password',
      role,
    });
    if (!a.ok) throw new Error(a.message);
    who[name] = {
      id: a.value.id,
      cookie: `${sessionCookie}=${encodeURIComponent(await createSession(db, a.value.id, clock))}`,
      token: await createApiToken(db, a.value.id, 'test'),
    };
  }
  for (const [creator, episodeId] of [
    ['ada', 'ep-ada'],
    ['bob', 'ep-bob'],
  ] as const) {
    await registerEpisode(db, {
      episodeId,
      showId: `show-${creator}`,
      creatorId: who[creator]!.id,
      title: episodeId,
      path: `${creator}/${episodeId}.mp3`,
      infoHash: null,
      fileSize: 1_000_000,
      headerBytes: 0,
      durationMs: 600_000,
    });
  }
  // Advertisers as the ad server records them: one owned by acme, the house one by nobody.
  await db.query(
    'INSERT INTO ads_advertisers (id, name, owner_account_id) VALUES ($1, $2, $3), ($4, $5, NULL)',
    ['adv-acme', 'Acme Audio', who.acme!.id, 'house', 'House'],
  );
  app = Fastify();
  reportRoutes(app, new Reports(db), clock, measureAccess({ db, clock }, adminToken));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.close();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });
const bearer = (name: string) => ({ authorization: `Bearer ${who[name]!.token}` });
const cookie = (name: string) => ({ cookie: who[name]!.cookie });

describe('measurement report access on a node', () => {
  it('refuses every report without credentials (401), or with a wrong token', async () => {
    for (const path of [
      `/api/measure/creator/${who.ada!.id}`,
      `/measure/creator/${who.ada!.id}`,
      '/api/measure/advertiser/house',
      '/api/measure/admin',
      '/measure/admin?format=csv',
    ]) {
      const r = await get(path);
      expect(r.statusCode, path).toBe(401);
      expect(r.json()).toMatchObject({ code: 'MEA_UNAUTHENTICATED' });
      expect((await get(path, { authorization: 'Bearer not-a-token' })).statusCode, path).toBe(401);
      expect((await get(path, { cookie: `${sessionCookie}=forged` })).statusCode, path).toBe(401);
    }
  });

  it('shows a creator their own report (session or API token), and 403 for another creator', async () => {
    const own = await get(`/api/measure/creator/${who.ada!.id}`, cookie('ada'));
    expect(own.statusCode).toBe(200);
    expect(
      (own.json() as { episodes: Array<{ episodeId: string }> }).episodes.map((e) => e.episodeId),
    ).toEqual(['ep-ada']);
    expect((await get(`/api/measure/creator/${who.ada!.id}?format=csv`, bearer('ada'))).statusCode).toBe(200);
    expect((await get(`/measure/creator/${who.ada!.id}`, cookie('ada'))).statusCode).toBe(200);
    for (const headers of [cookie('ada'), bearer('ada')]) {
      const other = await get(`/api/measure/creator/${who.bob!.id}`, headers);
      expect(other.statusCode).toBe(403);
      expect(other.json()).toMatchObject({ code: 'MEA_FORBIDDEN' });
      expect((await get(`/measure/creator/${who.bob!.id}?format=csv`, headers)).statusCode).toBe(403);
      expect((await get('/api/measure/admin', headers)).statusCode).toBe(403);
      expect((await get('/api/measure/advertiser/house', headers)).statusCode).toBe(403);
    }
  });

  it('shows an advertiser only the advertisers their account owns', async () => {
    for (const headers of [cookie('acme'), bearer('acme')]) {
      expect((await get('/api/measure/advertiser/adv-acme', headers)).statusCode).toBe(200);
      expect((await get('/measure/advertiser/adv-acme', headers)).statusCode).toBe(200);
      const house = await get('/api/measure/advertiser/house', headers);
      expect(house.statusCode).toBe(403);
      expect(house.json()).toMatchObject({ code: 'MEA_FORBIDDEN' });
      expect((await get('/api/measure/advertiser/nobody', headers)).statusCode).toBe(403);
    }
    // A creator is not an advertiser, even of an advertiser id it guesses.
    expect((await get('/api/measure/advertiser/adv-acme', bearer('ada'))).statusCode).toBe(403);
  });

  it('keeps advertisers out of creator and admin reports', async () => {
    expect((await get(`/api/measure/creator/${who.ada!.id}`, bearer('acme'))).statusCode).toBe(403);
    expect((await get('/api/measure/admin', cookie('acme'))).statusCode).toBe(403);
  });

  it('lets an admin account or the node admin token read everything', async () => {
    for (const headers of [cookie('root'), bearer('root'), { authorization: `Bearer ${adminToken}` }]) {
      expect((await get(`/api/measure/creator/${who.bob!.id}`, headers)).statusCode).toBe(200);
      expect((await get('/api/measure/admin', headers)).statusCode).toBe(200);
      expect((await get('/measure/admin', headers)).statusCode).toBe(200);
      expect((await get('/api/measure/advertiser/adv-acme', headers)).statusCode).toBe(200);
    }
  });
});
