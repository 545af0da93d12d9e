import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAudienceKeys, memorySaltStore } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BodyPart,
  bodySize,
  compactParts,
  type EnclosureClient,
  enclosurePlugin,
  memoryFactSink,
  readParts,
  SharedFiles,
} from '../src/index.ts';
import { settle } from './support.ts';

const now = Date.parse('2026-03-04T10:00:00Z');
let app: FastifyInstance;
let remove: () => Promise<void>;
const facts = memoryFactSink();
const content = randomBytes(50_000);
const ad = randomBytes(7_000);
const header = Buffer.from('ID3-rewritten-header');
let parts: BodyPart[];
let expected: Buffer;
const seen: EnclosureClient[] = [];
let fail = false;

beforeAll(async () => {
  const dir = await scratchDir('swarmcast-enclosure-');
  remove = dir.remove;
  const root = join(dir.path, 'media');
  await mkdir(join(root, 'show'), { recursive: true });
  await writeFile(join(root, 'show', 'ep.mp3'), content);
  await writeFile(join(dir.path, 'ad.mp3'), ad);
  parts = [
    { kind: 'bytes', bytes: header },
    { kind: 'file', path: join(dir.path, 'ad.mp3'), start: 0, end: ad.length },
    { kind: 'file', path: join(root, 'show', 'ep.mp3'), start: 100, end: 30_000 },
    { kind: 'file', path: join(dir.path, 'ad.mp3'), start: 0, end: ad.length },
    { kind: 'file', path: join(root, 'show', 'ep.mp3'), start: 30_000, end: 50_000 },
  ];
  expected = Buffer.concat([header, ad, content.subarray(100, 30_000), ad, content.subarray(30_000)]);
  // The operator's proxy is 192.0.2.1; the listeners below talk to us directly unless they come through it.
  app = Fastify({ trustProxy: ['192.0.2.1'] });
  await app.register(enclosurePlugin, {
    prefix: '/dai',
    mediaRoot: root,
    facts,
    audienceKeys: createAudienceKeys(memorySaltStore()),
    clock: { now: () => now },
    plainPath: async (id) => (id === 'ep1' || id === 'plain' ? 'show/ep.mp3' : null),
    resolve: async (id, client) => {
      seen.push(client);
      if (fail) throw new Error('boom /secret/path');
      if (id === 'plain') return { kind: 'plain', mediaPath: 'show/ep.mp3', reason: 'no-breaks' };
      if (id !== 'ep1') return null;
      return {
        kind: 'stitched',
        planId: 'plan-1',
        parts,
        createdAt: now - 1000,
        contentType: 'audio/mpeg',
        mediaPath: 'show/ep.mp3',
      };
    },
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await remove();
});
beforeEach(() => {
  facts.facts.length = 0;
  fail = false;
});

const ua = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
const get = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  app.inject({ method, url, headers: { 'user-agent': ua, ...headers }, remoteAddress: '203.0.113.7' });

describe('readParts', () => {
  it('gives every sub-range of the assembled body byte for byte', async () => {
    const read = async (a: number, b: number) => {
      const out: Buffer[] = [];
      for await (const c of readParts(parts, a, b)) out.push(c as Buffer);
      return Buffer.concat(out);
    };
    const n = expected.length;
    for (const [a, b] of [
      [0, n - 1],
      [0, 0],
      [5, 25],
      [header.length - 1, header.length + 1],
      [header.length + ad.length - 3, header.length + ad.length + 10],
      [n - 1, n - 1],
      [12_345, 40_000],
    ] as const) {
      expect((await read(a, b)).equals(expected.subarray(a, b + 1))).toBe(true);
    }
  });
});

describe('readParts over shared files', () => {
  const collect = async (stream: NodeJS.ReadableStream) => {
    const out: Buffer[] = [];
    for await (const c of stream) out.push(c as Buffer);
    return Buffer.concat(out);
  };
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('reads every file once opened by many concurrent bodies, and closes it when retired', async () => {
    const files = new SharedFiles();
    const before = openFds();
    const bodies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => collect(readParts(parts, i * 100, expected.length - 1, files))),
    );
    bodies.forEach((b, i) => {
      expect(b.equals(expected.subarray(i * 100))).toBe(true);
    });
    // Two distinct files (episode, ad) for fifty bodies.
    expect(files.size).toBe(2);
    expect(openFds() - before).toBeLessThanOrEqual(2);
    files.closeAll();
    expect(files.size).toBe(0);
    // fs.close runs on libuv's thread pool: on a loaded machine it can take longer than any
    // fixed wait, so wait for the descriptors themselves.
    await expect.poll(openFds).toBeLessThanOrEqual(before);
  });

  it('keeps at most `max` files open, reopens old ones, and releases a body destroyed half way', async () => {
    let t = 0;
    const files = new SharedFiles({ max: 1, maxAgeMs: 1000, now: () => t });
    expect((await collect(readParts(parts, 0, expected.length - 1, files))).equals(expected)).toBe(true);
    expect(files.size).toBe(1);
    const half = readParts(parts, 0, expected.length - 1, files);
    await new Promise<void>((resolve) => half.once('data', () => resolve()));
    half.destroy();
    t = 5000;
    expect((await collect(readParts(parts, 100, 200, files))).equals(expected.subarray(100, 201))).toBe(true);
    expect(files.size).toBe(1);
  });

  it('compacts a body into fewer parts with the same bytes: contiguous slices joined, small ones inlined', async () => {
    const ep = (parts[2] as { path: string }).path;
    const fragmented: BodyPart[] = [
      { kind: 'file', path: ep, start: 0, end: 131 },
      { kind: 'bytes', bytes: Buffer.from('xx') },
      { kind: 'file', path: ep, start: 147, end: 180 },
      ...parts,
      { kind: 'file', path: ep, start: 1000, end: 20_000 },
      { kind: 'file', path: ep, start: 20_000, end: 40_000 },
      { kind: 'file', path: ep, start: 40_000, end: 40_000 },
    ];
    const compact = await compactParts(fragmented);
    const whole = async (ps: BodyPart[]) => {
      const out: Buffer[] = [];
      for await (const c of readParts(ps, 0, bodySize(ps) - 1, new SharedFiles())) out.push(c as Buffer);
      return Buffer.concat(out);
    };
    expect(bodySize(compact)).toBe(bodySize(fragmented));
    expect((await whole(compact)).equals(await whole(fragmented))).toBe(true);
    // 131 + 2 + 33 + the 20-byte header become one literal part; the two 20 kB slices one slice.
    expect(compact[0]).toMatchObject({ kind: 'bytes' });
    expect((compact[0] as { bytes: Uint8Array }).bytes.length).toBe(131 + 2 + 33 + header.length);
    expect(compact.at(-1)).toEqual({ kind: 'file', path: ep, start: 1000, end: 40_000 });
    expect(compact.filter((p) => p.kind === 'file').length).toBe(5);
  });

  it('fails the stream (not the process) when a part points past the end of its file', async () => {
    const files = new SharedFiles();
    const bad: BodyPart[] = [
      { kind: 'file', path: (parts[1] as { path: string }).path, start: 0, end: ad.length + 10 },
    ];
    await expect(collect(readParts(bad, 0, ad.length + 9, files))).rejects.toThrow(/shorter/);
    const missing: BodyPart[] = [{ kind: 'file', path: '/nonexistent/x.mp3', start: 0, end: 10 }];
    await expect(collect(readParts(missing, 0, 9, files))).rejects.toThrow(/ENOENT/);
    expect(files.size).toBe(1);
  });
});

describe('stitched enclosure', () => {
  it('serves the whole stitched body with exact length, a strong plan ETag and the plan in the fact', async () => {
    const r = await get('/dai/ep1.mp3');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(expected)).toBe(true);
    expect(r.headers['content-length']).toBe(String(expected.length));
    expect(r.headers.etag).toBe(`"dai-plan-1-${expected.length.toString(16)}"`);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-type']).toBe('audio/mpeg');
    expect(r.headers['cache-control']).toContain('private');
    expect(seen.at(-1)!.audienceKey).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.at(-1)!.clientKey).not.toBe(seen.at(-1)!.audienceKey);
    await settle();
    expect(facts.facts).toHaveLength(1);
    expect(facts.facts[0]).toMatchObject({
      path: 'show/ep.mp3',
      planId: 'plan-1',
      fileSize: expected.length,
      rangeStart: 0,
      rangeEnd: expected.length - 1,
      bytesSent: expected.length,
    });
  });

  it('probe, chunks and a resume assemble the same bytes as one GET', async () => {
    const probe = await get('/dai/ep1.mp3', { range: 'bytes=0-1' });
    expect(probe.statusCode).toBe(206);
    expect(probe.headers['content-range']).toBe(`bytes 0-1/${expected.length}`);
    const etag = probe.headers.etag as string;
    const pieces: Buffer[] = [];
    for (let at = 0; at < expected.length; at += 9_999) {
      const r = await get('/dai/ep1.mp3', { range: `bytes=${at}-${at + 9_998}`, 'if-range': etag });
      expect(r.statusCode).toBe(206);
      pieces.push(r.rawPayload);
    }
    expect(Buffer.concat(pieces).equals(expected)).toBe(true);
    const tail = await get('/dai/ep1.mp3', { range: 'bytes=-100' });
    expect(tail.rawPayload.equals(expected.subarray(-100))).toBe(true);
  });

  it('answers HEAD with the GET headers and no body; 416 past the end; 304 on a matching validator', async () => {
    const h = await get('/dai/ep1.mp3', {}, 'HEAD');
    expect(h.statusCode).toBe(200);
    expect(h.headers['content-length']).toBe(String(expected.length));
    expect(h.rawPayload.length).toBe(0);
    const past = await get('/dai/ep1.mp3', { range: `bytes=${expected.length}-` });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${expected.length}`);
    const nm = await get('/dai/ep1.mp3', { 'if-none-match': h.headers.etag as string });
    expect(nm.statusCode).toBe(304);
  });

  it('ignores the Range when If-Range names another plan (200, whole body)', async () => {
    const r = await get('/dai/ep1.mp3', { range: 'bytes=10-20', 'if-range': '"dai-other-1"' });
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(expected)).toBe(true);
  });

  it('answers a Range in hundreds of pieces with the whole coherent body (200), bounded work', async () => {
    const pieces = Array.from({ length: 300 }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');
    const many = await get('/dai/ep1.mp3', { range: `bytes=${pieces}` });
    expect(many.statusCode).toBe(200);
    expect(many.rawPayload.equals(expected)).toBe(true);
    const few = await get('/dai/ep1.mp3', { range: 'bytes=0-9,20-29' });
    expect(few.statusCode).toBe(200);
    expect(few.rawPayload.equals(expected)).toBe(true);
    // Far past the end, or with absurd numbers: 416 or the whole body, never a 5xx.
    for (const range of ['bytes=99999999999-', 'bytes=-0', `bytes=0-${'9'.repeat(40)}`, 'bytes=5-2']) {
      const r = await get('/dai/ep1.mp3', { range });
      expect([200, 206, 416], range).toContain(r.statusCode);
      if (r.statusCode === 200) expect(r.rawPayload.equals(expected)).toBe(true);
    }
  });

  it('serves the plain file with the reason when the resolver says so', async () => {
    const r = await get('/dai/plain.mp3');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(content)).toBe(true);
    expect(r.headers['x-swarmcast-dai']).toBe('plain; reason=no-breaks');
    await settle();
    expect(facts.facts[0]!.planId).toBeUndefined();
  });

  it("gives the resolver the proxy's country only when the request came through the trusted proxy", async () => {
    seen.length = 0;
    expect((await get('/dai/plain.mp3', { 'x-swarmcast-country': 'de' })).statusCode).toBe(200);
    const proxied = await app.inject({
      url: '/dai/plain.mp3',
      headers: { 'user-agent': ua, 'x-forwarded-for': '198.51.100.4', 'x-swarmcast-country': 'de' },
      remoteAddress: '192.0.2.1',
    });
    expect(proxied.statusCode).toBe(200);
    // A listener's own header could buy it into (or out of) geo-targeted ads in its stitched file.
    expect(seen.map((c) => c.country)).toEqual([null, 'DE']);
    await settle();
  });

  it('serves the plain file, never a 5xx, when the resolver throws', async () => {
    fail = true;
    const r = await get('/dai/ep1.mp3');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(content)).toBe(true);
    expect(r.headers['x-swarmcast-dai']).toBe('plain; reason=resolver-failed');
    expect(r.body).not.toContain('/secret/path');
  });

  it('404s unknown episodes and hostile names (414 for a name over the router parameter limit)', async () => {
    for (const url of [
      '/dai/nope.mp3',
      '/dai/..%2F..%2Fetc.mp3',
      '/dai/ep1.mp3.exe',
      `/dai/${'a'.repeat(200)}`,
    ]) {
      const r = await get(url);
      expect([404, 414], url).toContain(r.statusCode);
    }
  });
});
