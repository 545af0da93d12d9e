import { join } from 'node:path';
import {
  type CatalogContext,
  catalogMigrations,
  createAccount,
  createSession,
  makeHybridTorrent,
} from '@swarmcast/catalog';
import { type Db, ManualClock, migrate, openDb, privacyMigrations } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookie } from '../src/auth.ts';
import { createNodeServer } from '../src/server.ts';

/**
 * Stolen-credential hygiene (issue 14): API tokens expire, can be listed and revoked (API and
 * dashboard), and a password change revokes every other session and every token.
 */
const clock = new ManualClock(Date.UTC(2026, 11, 7, 12));
let db: Db;
let app: FastifyInstance;
let dir: Awaited<ReturnType<typeof scratchDir>>;
let accountId: string;
const host = 'node.test';

beforeAll(async () => {
  dir = await scratchDir('credentials-');
  db = await openDb({ inMemory: true });
  await migrate(db, [...privacyMigrations, ...catalogMigrations]);
  const catalog: CatalogContext = {
    db,
    clock,
    mediaDir: join(dir.path, 'media'),
    uploadsDir: join(dir.path, 'uploads'),
    maxUploadBytes: 1_000_000,
    mediaUrl: (p: string) => `http://${host}/media/${p}`,
    publicUrl: () => `http://${host}`,
    trackers: () => [],
    torrents: { make: makeHybridTorrent },
  };
  app = await createNodeServer({ catalog });
  const a = await createAccount(db, {
    email: 'ada@example.org',
    name: 'Ada',
    password: 'the first password',
  });
  if (!a.ok) throw new Error(a.message);
  accountId = a.value.id;
});

afterAll(async () => {
  await app?.close();
  await db?.close();
  await dir?.remove();
});

const cookie = (token: string) => ({ cookie: `${sessionCookie}=${encodeURIComponent(token)}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const asSession = async () => cookie(await createSession(db, accountId, clock));
const json = (
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
) =>
  app.inject({
    method,
    url,
    headers: {
      host,
      origin: `http://${host}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });

describe('API tokens and password changes', () => {
  it('a Bearer token caller sees its own account; a browser without a session gets the log-in page', async () => {
    const made = await json('POST', '/api/tokens', await asSession(), { label: 'whoami' });
    const { token } = made.json() as { token: string };
    const me = await json('GET', '/api/account', bearer(token));
    expect([me.statusCode, me.json()]).toEqual([
      200,
      { account: { id: accountId, email: 'ada@example.org', name: 'Ada', role: 'creator' } },
    ]);
    // A script gets the coded JSON; a browser's navigation the site's page with a log-in link.
    const script = await json('GET', '/api/account', {});
    expect([script.statusCode, script.json()]).toEqual([
      401,
      { error: { code: 'CAT_UNAUTHENTICATED', message: 'log in or send an API token' } },
    ]);
    const browser = await json('GET', '/api/tokens', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(browser.statusCode).toBe(401);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    expect(browser.body).toContain('href="/login?next=%2Fapi%2Ftokens"');
    expect(browser.body).not.toContain('CAT_UNAUTHENTICATED');
  });

  it('creates a token with an expiry, lists it, and it stops working once expired', async () => {
    const s = await asSession();
    const made = await json('POST', '/api/tokens', s, { label: 'ci', expiresInDays: 2 });
    expect(made.statusCode).toBe(201);
    const { token, expiresAt } = made.json() as { token: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBe(clock.now() + 2 * 86_400_000);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(200);
    const list = (await json('GET', '/api/tokens', s)).json() as {
      tokens: Array<{ label: string; expired: boolean }>;
    };
    expect(list.tokens.map((t) => [t.label, t.expired])).toContainEqual(['ci', false]);
    expect(JSON.stringify(list)).not.toContain(token);
    clock.advance(2 * 86_400_000 + 1);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(401);
    expect((await json('POST', '/api/tokens', s, { label: 'x', expiresInDays: 0 })).statusCode).toBe(400);
    expect((await json('POST', '/api/tokens', s, { label: 'x', expiresInDays: 10_000 })).statusCode).toBe(
      400,
    );
  });

  it('revokes a token by its id (API), and only its owner can', async () => {
    const s = await asSession();
    const { token } = (await json('POST', '/api/tokens', s, { label: 'to revoke' })).json() as {
      token: string;
    };
    const list = (await json('GET', '/api/tokens', s)).json() as {
      tokens: Array<{ id: string; label: string }>;
    };
    const id = list.tokens.find((t) => t.label === 'to revoke')!.id;
    const other = await createAccount(db, {
      email: 'bob@example.org',
      name: 'Bob',
      password: 'bobs password',
    });
    if (!other.ok) throw new Error(other.message);
    const bob = cookie(await createSession(db, other.value.id, clock));
    expect((await json('DELETE', `/api/tokens/${id}`, bob)).statusCode).toBe(404);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(200);
    expect((await json('DELETE', `/api/tokens/${id}`, s)).statusCode).toBe(204);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(401);
    expect((await json('DELETE', `/api/tokens/${id}`, s)).statusCode).toBe(404);
  });

  it('lists tokens with revoke buttons on the dashboard, and revokes from there', async () => {
    const s = await asSession();
    const { token } = (await json('POST', '/api/tokens', s, { label: 'from-dashboard' })).json() as {
      token: string;
    };
    const page = await app.inject({ method: 'GET', url: '/dashboard', headers: { host, ...s } });
    expect(page.statusCode).toBe(200);
    const m = /from-dashboard[\s\S]*?action="\/dashboard\/tokens\/([0-9a-f]{16})\/revoke"/.exec(page.body);
    expect(m, 'a revoke form for the token').not.toBeNull();
    expect(page.body).toContain('action="/dashboard/password"');
    const revoked = await app.inject({
      method: 'POST',
      url: `/dashboard/tokens/${m![1]}/revoke`,
      headers: { host, origin: `http://${host}`, 'content-type': 'application/x-www-form-urlencoded', ...s },
      payload: '',
    });
    expect(revoked.statusCode).toBe(200);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(401);
  });

  it('a password change revokes every other session and every token, keeps the current session', async () => {
    const current = await asSession();
    const other = await asSession();
    const { token } = (await json('POST', '/api/tokens', current, { label: 'old' })).json() as {
      token: string;
    };
    const wrong = await json('POST', '/api/password', current, {
      current: 'not it',
      password: 'a brand new password',
    });
    expect(wrong.statusCode).toBe(401);
    expect((await json('GET', '/api/tokens', other)).statusCode).toBe(200);
    const changed = await json('POST', '/api/password', current, {
      current: 'the first password',
      password: 'a brand new password',
    });
    expect(changed.statusCode).toBe(200);
    expect((changed.json() as { revoked: number }).revoked).toBeGreaterThanOrEqual(2);
    expect((await json('GET', '/api/tokens', current)).statusCode).toBe(200);
    expect((await json('GET', '/api/tokens', other)).statusCode).toBe(401);
    expect((await json('GET', '/api/tokens', bearer(token))).statusCode).toBe(401);
  });
});
