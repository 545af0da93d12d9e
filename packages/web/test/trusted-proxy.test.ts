import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { type CatalogContext, catalogMigrations, makeHybridTorrent } from '@swarmcast/catalog';
import { memoryFactSink, originPlugin } from '@swarmcast/origin';
import {
  createAudienceKeys,
  type Db,
  ManualClock,
  memorySaltStore,
  migrate,
  openDb,
  parseAddressList,
  parseReferrerExclusions,
  parseSafeAddresses,
  parseTrustedProxies,
  privacyMigrations,
} from '@swarmcast/platform';
import { type Nginx, requireBinaries, scratchDir, startNginx } from '@swarmcast/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeServer } from '../src/server.ts';

/**
 * Behind a reverse proxy every request comes from the proxy's address (issue 19): downloads
 * were deduplicated by user agent alone. The node believes X-Forwarded-For only from the
 * proxies it is told to trust (SWARMCAST_TRUST_PROXY -> Fastify trustProxy); anyone else's
 * header is ignored, or a listener could pick the address it is counted under.
 */
const trusted = '127.0.0.3';
let db: Db;
let dir: Awaited<ReturnType<typeof scratchDir>>;
const servers: { app: FastifyInstance; facts: ReturnType<typeof memoryFactSink>; url: string }[] = [];

async function server(trustProxy: string[] | undefined) {
  const catalog = {
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
  const app = await createNodeServer({ catalog, ...(trustProxy ? { trustProxy } : {}) });
  const facts = memoryFactSink();
  await app.register(originPlugin, {
    prefix: '/media',
    mediaRoot: catalog.mediaDir,
    facts,
    audienceKeys: createAudienceKeys(memorySaltStore()),
    addresses: parseAddressList(''),
    safeAddresses: parseSafeAddresses('', Date.UTC(2026, 11, 7)),
    referrerExclusions: parseReferrerExclusions(''),
  });
  // What every address-keyed part (origin, beacons, rate limits) reads: req.ip.
  app.get('/test/ip', async (req) => ({ ip: req.ip }));
  await app.listen({ port: 0, host: '0.0.0.0' });
  const address = app.server.address();
  const s = {
    app,
    facts,
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  };
  servers.push(s);
  return s;
}

/** A GET from a chosen loopback source address, with chosen headers. */
function get(
  url: string,
  from: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { localAddress: from, headers: { 'user-agent': 'SamePlayer/1.0', ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const ipOf = async (url: string, from: string, headers: Record<string, string> = {}) =>
  (JSON.parse((await get(`${url}/test/ip`, from, headers)).body) as { ip: string }).ip;

/** Downloads the file, waits for its fact, returns its audience key. */
async function downloadKey(
  s: (typeof servers)[number],
  url: string,
  from: string,
  headers: Record<string, string> = {},
) {
  const before = s.facts.facts.length;
  const res = await get(`${url}/media/episode.mp3`, from, headers);
  expect(res.status).toBe(200);
  // The fact is pushed once its key is computed, just after the response ends.
  for (let i = 0; s.facts.facts.length === before && i < 500; i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(s.facts.facts.length).toBe(before + 1);
  return s.facts.facts[s.facts.facts.length - 1]!.audienceKey;
}

beforeAll(async () => {
  dir = await scratchDir('trusted-proxy-');
  await mkdir(join(dir.path, 'media'), { recursive: true });
  await writeFile(join(dir.path, 'media', 'episode.mp3'), Buffer.alloc(4096, 7));
  db = await openDb({ inMemory: true });
  await migrate(db, [...privacyMigrations, ...catalogMigrations]);
});

afterAll(async () => {
  for (const s of servers) await s.app.close();
  await db?.close();
  await dir?.remove();
});

describe('trusted proxies', () => {
  it('by default believes nobody: the socket address counts, whatever the header says', async () => {
    const s = await server(undefined);
    expect(await ipOf(s.url, trusted, { 'x-forwarded-for': '198.51.100.1' })).toBe(trusted);
    const a = await downloadKey(s, s.url, '127.0.0.7', { 'x-forwarded-for': '198.51.100.1' });
    const b = await downloadKey(s, s.url, '127.0.0.7', { 'x-forwarded-for': '203.0.113.9' });
    expect(a).toBe(b);
  });

  it('believes X-Forwarded-For and Forwarded from a configured proxy only', async () => {
    const s = await server(parseTrustedProxies(`${trusted}, 10.0.0.0/8`));
    // From the proxy: the forwarded client is the address.
    expect(await ipOf(s.url, trusted, { 'x-forwarded-for': '198.51.100.1' })).toBe('198.51.100.1');
    // The client's own header before the proxy's entry is not believed past an untrusted hop.
    expect(await ipOf(s.url, trusted, { 'x-forwarded-for': '192.0.2.66, 198.51.100.1' })).toBe(
      '198.51.100.1',
    );
    // From anyone else: the header is ignored.
    expect(await ipOf(s.url, '127.0.0.7', { 'x-forwarded-for': '198.51.100.1' })).toBe('127.0.0.7');
    // Two listeners behind the proxy with one user agent are two audiences...
    const a = await downloadKey(s, s.url, trusted, { 'x-forwarded-for': '198.51.100.1' });
    const b = await downloadKey(s, s.url, trusted, { 'x-forwarded-for': '203.0.113.9' });
    expect(a).not.toBe(b);
    // ...and a direct client cannot choose its audience by sending the header.
    const c = await downloadKey(s, s.url, '127.0.0.7', { 'x-forwarded-for': '198.51.100.1' });
    const d = await downloadKey(s, s.url, '127.0.0.7', { 'x-forwarded-for': '203.0.113.9' });
    expect(c).toBe(d);
    expect(c).not.toBe(a);
  });

  const missing = requireBinaries('trusted proxy behind a real nginx', 'nginx');
  describe.skipIf(missing.skip)('behind a real nginx', () => {
    let nginx: Nginx | undefined;
    afterAll(async () => {
      await nginx?.close();
    });

    it('counts each listener by its own address through nginx, and only through nginx', async () => {
      const s = await server([trusted]);
      const proxyDir = join(dir.path, 'nginx');
      await mkdir(proxyDir, { recursive: true });
      nginx = await startNginx({ dir: proxyDir, upstream: s.url, bindAddress: trusted });
      // Listeners on 127.0.5.1 and 127.0.6.1 reach the node through nginx.
      expect(await ipOf(nginx.url, '127.0.5.1')).toBe('127.0.5.1');
      // A listener's own forged header is kept by nginx but not believed past it.
      expect(await ipOf(nginx.url, '127.0.6.1', { 'x-forwarded-for': '198.51.100.1' })).toBe('127.0.6.1');
      const a = await downloadKey(s, nginx.url, '127.0.5.1');
      const b = await downloadKey(s, nginx.url, '127.0.6.1');
      const again = await downloadKey(s, nginx.url, '127.0.5.1');
      expect(a).not.toBe(b);
      expect(again).toBe(a);
      // Without trusting nginx, both would be one audience (the proxy's address): what broke.
      const plain = await server(undefined);
      const proxyDir2 = join(dir.path, 'nginx2');
      await mkdir(proxyDir2, { recursive: true });
      const nginx2 = await startNginx({ dir: proxyDir2, upstream: plain.url, bindAddress: trusted });
      try {
        expect(await ipOf(nginx2.url, '127.0.5.1')).toBe(trusted);
        const x = await downloadKey(plain, nginx2.url, '127.0.5.1');
        const y = await downloadKey(plain, nginx2.url, '127.0.6.1');
        expect(x).toBe(y);
      } finally {
        await nginx2.close();
      }
    }, 60_000);
  });
});
