import { join } from 'node:path';
import { type CatalogContext, catalogMigrations, makeHybridTorrent } from '@swarmcast/catalog';
import { type Db, ManualClock, migrate, openDb, privacyMigrations } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeServer } from '../src/server.ts';

/**
 * Hostile text on every kind of input (issue 14): NUL and control characters in forms, JSON,
 * query strings and paths answer a coded 400 before any route reads them (they reached
 * PostgreSQL and came back as a 500 with its message), and no 5xx body carries internal text.
 */
let db: Db;
let app: FastifyInstance;
let dir: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  dir = await scratchDir('hostile-text-');
  db = await openDb({ inMemory: true });
  await migrate(db, [...privacyMigrations, ...catalogMigrations]);
  const catalog: CatalogContext = {
    db,
    clock: new ManualClock(Date.UTC(2026, 11, 7)),
    mediaDir: join(dir.path, 'media'),
    uploadsDir: join(dir.path, 'uploads'),
    maxUploadBytes: 1_000_000,
    mediaUrl: (p: string) => `http://node.test/media/${p}`,
    publicUrl: () => 'http://node.test',
    trackers: () => [],
    torrents: { make: makeHybridTorrent },
  } as CatalogContext;
  app = await createNodeServer({ catalog });
  app.get('/test/boom', async () => {
    throw new Error(`cannot open ${dir.path}/secret/file.part: EACCES`);
  });
  app.get('/test/db-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
});

afterAll(async () => {
  await app?.close();
  await db?.close();
  await dir?.remove();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const origin = { origin: 'http://node.test', host: 'node.test' };

describe('hostile text inputs', () => {
  const cases: Array<[string, () => Promise<{ statusCode: number; body: string }>]> = [
    [
      'log-in email with NUL',
      () =>
        app.inject({
          method: 'POST',
          url: '/login',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...origin },
          payload: form({ email: 'a\u0000@example.org', password: 'x' }),
        }),
    ],
    [
      'sign-up name with a control character',
      () =>
        app.inject({
          method: 'POST',
          url: '/signup',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...origin },
          payload: form({
            email: 'b@example.org',
            name: 'B\u0007',
            password: 'a long enough password',
            role: 'creator',
          }),
        }),
    ],
    [
      'JSON token label with NUL',
      () =>
        app.inject({
          method: 'POST',
          url: '/api/tokens',
          headers: { 'content-type': 'application/json', ...origin },
          payload: JSON.stringify({ label: 'mine\u0000' }),
        }),
    ],
    ['report path with %00', () => app.inject({ method: 'GET', url: '/api/shows/abc%00def' })],
    ['search query with %01', () => app.inject({ method: 'GET', url: '/api/search?q=a%01b' })],
    ['episode id with %00', () => app.inject({ method: 'GET', url: '/episodes/x%00y' })],
  ];
  it.each(cases)('%s: coded 400, nothing read', async (_name, send) => {
    const res = await send();
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'WEB_BAD_TEXT' } });
  });

  it('keeps tabs and line breaks in bodies (descriptions are multi-line)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...origin },
      payload: form({ email: 'nobody@example.org', password: 'line one\nline\ttwo' }),
    });
    expect(res.statusCode).not.toBe(400);
  });

  it('a 500 says only WEB_INTERNAL: no message text, no server path', async () => {
    const res = await app.inject({ method: 'GET', url: '/test/boom' });
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'WEB_INTERNAL', message: 'internal error' } });
    expect(res.body).not.toContain(dir.path);
  });

  it('the database being away is a 503 with a code and Retry-After', async () => {
    const res = await app.inject({ method: 'GET', url: '/test/db-down' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.body).error.code).toBe('PLT_DB_UNAVAILABLE');
    expect(res.body).not.toContain('5432');
  });
});
