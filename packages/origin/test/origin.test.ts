import { type MarkedRead, MarkedReads } from '@swarmcast/bittorrent/media-window';
import { createAudienceKeys, memorySaltStore } from '@swarmcast/platform';
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryFactSink, originPlugin } from '../src/index.ts';
import { type Fixture, originFixture, settle } from './support.ts';

let f: Fixture;
beforeAll(async () => {
  f = await originFixture();
});
afterAll(async () => {
  await f.close();
});
beforeEach(() => {
  f.facts.facts.length = 0;
});

const ua = 'Podcasts/1410.53 CFNetwork/1111 Darwin/19.0.0';
const get = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  f.app.inject({ method, url, headers: { 'user-agent': ua, ...headers }, remoteAddress: '203.0.113.7' });

describe('origin: whole files', () => {
  it('serves a file with its type, length, validators, ranges support and CORS', async () => {
    const r = await get('/media/episode.mp3');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(f.files['episode.mp3']!)).toBe(true);
    expect(r.headers['content-type']).toBe('audio/mpeg');
    expect(r.headers['content-length']).toBe('100000');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(r.headers['last-modified'] as string).getTime()).toBeGreaterThan(0);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-expose-headers']).toContain('Content-Range');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const r = await get('/media/episode.mp3', {}, 'HEAD');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe('100000');
    expect(r.rawPayload.length).toBe(0);
  });

  it('serves nested names with spaces, percent-encoded', async () => {
    const r = await get('/media/show/season%201/ep%201.m4a');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(f.files['show/season 1/ep 1.m4a']!)).toBe(true);
    expect(r.headers['content-type']).toBe('audio/mp4');
  });

  it('serves an empty file', async () => {
    const r = await get('/media/empty.ogg');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe('0');
    expect(r.headers['content-type']).toBe('audio/ogg');
  });

  it('follows a symlink that stays inside the root', async () => {
    const r = await get('/media/alias.mp3');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(f.files['episode.mp3']!)).toBe(true);
  });

  const types: [string, string][] = [
    ['/media/video.mp4', 'video/mp4'],
    ['/media/show/ep.torrent', 'application/x-bittorrent'],
    ['/media/episode.mp3', 'audio/mpeg'],
  ];
  for (const [url, type] of types) {
    it(`types ${url} as ${type}`, async () => {
      expect((await get(url)).headers['content-type']).toBe(type);
    });
  }

  it('answers a CORS preflight', async () => {
    const r = await f.app.inject({
      method: 'OPTIONS',
      url: '/media/episode.mp3',
      headers: { origin: 'https://player.example', 'access-control-request-headers': 'range' },
    });
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-headers']).toContain('Range');
    expect(r.headers['access-control-allow-methods']).toContain('GET');
  });
});

describe('origin: byte ranges', () => {
  const size = 100_000;
  const cases: [string, number, [number, number] | null][] = [
    ['bytes=0-99', 206, [0, 99]],
    ['bytes=0-1', 206, [0, 1]],
    ['bytes=99990-', 206, [99990, 99999]],
    ['bytes=-50', 206, [99950, 99999]],
    ['bytes=-200000', 206, [0, 99999]],
    ['bytes=500-99999999', 206, [500, 99999]],
    ['bytes=99999-99999', 206, [99999, 99999]],
    ['BYTES = 10-19', 206, [10, 19]],
    ['bytes=100000-', 416, null],
    ['bytes=200000-300000', 416, null],
    ['bytes=-0', 416, null],
    ['bytes=0-0,5-9', 200, [0, 99999]],
    ['bytes=9-5', 200, [0, 99999]],
    ['bytes=abc', 200, [0, 99999]],
    ['bytes=', 200, [0, 99999]],
    ['items=0-5', 200, [0, 99999]],
    ['bytes=99999999999999999999-', 200, [0, 99999]],
    [`bytes=${'0-1,'.repeat(2000)}0-1`, 200, [0, 99999]],
  ];
  for (const [range, status, span] of cases) {
    it(`${range.slice(0, 40)} -> ${status}`, async () => {
      const r = await get('/media/episode.mp3', { range });
      expect(r.statusCode).toBe(status);
      if (status === 416) {
        expect(r.headers['content-range']).toBe(`bytes */${size}`);
        return;
      }
      const [s, e] = span!;
      expect(r.rawPayload.equals(f.files['episode.mp3']!.subarray(s, e + 1))).toBe(true);
      expect(r.headers['content-length']).toBe(String(e - s + 1));
      if (status === 206) expect(r.headers['content-range']).toBe(`bytes ${s}-${e}/${size}`);
      else expect(r.headers['content-range']).toBeUndefined();
    });
  }

  it('answers any range on an empty file with 416', async () => {
    const r = await get('/media/empty.ogg', { range: 'bytes=0-' });
    expect(r.statusCode).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */0');
  });
});

describe('origin: conditional requests', () => {
  let etag: string;
  let lastModified: string;
  beforeAll(async () => {
    const r = await get('/media/episode.mp3', {}, 'HEAD');
    etag = r.headers.etag as string;
    lastModified = r.headers['last-modified'] as string;
  });

  it('304 on a matching If-None-Match (also weak, also in a list, also *)', async () => {
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const r = await get('/media/episode.mp3', { 'if-none-match': inm });
      expect(r.statusCode, inm).toBe(304);
      expect(r.rawPayload.length).toBe(0);
      expect(r.headers.etag).toBe(etag);
    }
  });

  it('200 when If-None-Match does not match, even with a matching If-Modified-Since', async () => {
    const r = await get('/media/episode.mp3', {
      'if-none-match': '"other"',
      'if-modified-since': lastModified,
    });
    expect(r.statusCode).toBe(200);
  });

  it('304 when not modified since, 200 when modified since, garbage ignored', async () => {
    expect((await get('/media/episode.mp3', { 'if-modified-since': lastModified })).statusCode).toBe(304);
    const before = new Date(Date.parse(lastModified) - 10_000).toUTCString();
    expect((await get('/media/episode.mp3', { 'if-modified-since': before })).statusCode).toBe(200);
    expect((await get('/media/episode.mp3', { 'if-modified-since': 'yesterday-ish' })).statusCode).toBe(200);
  });

  it('honours a Range under If-Range only while the validator is current', async () => {
    expect((await get('/media/episode.mp3', { range: 'bytes=0-9', 'if-range': etag })).statusCode).toBe(206);
    expect(
      (await get('/media/episode.mp3', { range: 'bytes=0-9', 'if-range': lastModified })).statusCode,
    ).toBe(206);
    const stale = await get('/media/episode.mp3', { range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(100_000);
    expect(
      (await get('/media/episode.mp3', { range: 'bytes=0-9', 'if-range': `W/${etag}` })).statusCode,
    ).toBe(200);
  });
});

describe('origin: hostile paths and headers', () => {
  // Paths with dot segments are tested over a real socket (origin-sockets.test.ts):
  // inject() parses the URL like a browser and removes them before the server sees them.
  const cases: [string, number][] = [
    ['/media/episode.mp3%00.txt', 400],
    ['/media/show%2fep.torrent', 400],
    ['/media/show%5cep.torrent', 400],
    ['/media//episode.mp3', 400],
    ['/media/%zz', 400],
    ['/media/%c0%ae%c0%ae/outside.mp3', 400],
    [`/media/${'a'.repeat(300)}.mp3`, 400],
    [`/media/${'a/'.repeat(40)}x.mp3`, 400],
    ['/media/.secret', 404],
    ['/media/show/.hidden', 404],
    ['/media/escape.mp3', 404],
    ['/media/show', 404],
    ['/media/missing.mp3', 404],
  ];
  for (const [url, status] of cases) {
    it(`${url.slice(0, 60)} -> ${status}`, async () => {
      const r = await get(url);
      expect(r.statusCode).toBe(status);
      expect(r.body).not.toContain('outside the root');
      expect(r.body).not.toContain('do not serve');
    });
  }

  it('survives absurd header values', async () => {
    const headers: Record<string, string>[] = [
      { range: `bytes=${'9'.repeat(5000)}-` },
      { 'if-none-match': `"${'x'.repeat(10_000)}"` },
      { 'if-modified-since': 'x'.repeat(10_000) },
      { 'if-range': '\u00ff\u00fe' },
      { 'user-agent': 'U'.repeat(50_000) },
    ];
    for (const h of headers) {
      const r = await get('/media/video.mp4', h);
      expect([200, 206, 304]).toContain(r.statusCode);
    }
  });

  it('refuses methods other than GET, HEAD and OPTIONS', async () => {
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      const r = await f.app.inject({ method, url: '/media/episode.mp3' });
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
    }
  });
});

describe('origin: download facts', () => {
  it('records a whole download with its bytes, key and classes, and nothing raw', async () => {
    await get('/media/episode.mp3');
    await settle();
    expect(f.facts.facts).toHaveLength(1);
    const fact = f.facts.facts[0]!;
    expect(fact).toMatchObject({
      kind: 'download',
      path: 'episode.mp3',
      method: 'GET',
      status: 200,
      fileSize: 100_000,
      rangeStart: 0,
      rangeEnd: 99_999,
      rangeHeader: null,
      bytesSent: 100_000,
      datacenter: false,
      time: Date.parse('2026-03-04T10:00:00Z'),
    });
    expect(fact.audienceKey).toMatch(/^[0-9a-f]{64}$/);
    expect(fact.client).toMatchObject({ app: 'Apple Podcasts', bot: false });
    const json = JSON.stringify(fact);
    expect(json).not.toContain('203.0.113');
    expect(json).not.toContain('CFNetwork');
  });

  it('records ranges, probes, HEAD, 304 and 416, and nothing for paths that are not files', async () => {
    const head = await get('/media/episode.mp3', {}, 'HEAD');
    await get('/media/episode.mp3', { range: 'bytes=0-1' });
    await get('/media/episode.mp3', { range: 'bytes=1000-1999' });
    await get('/media/episode.mp3', { 'if-none-match': head.headers.etag as string });
    await get('/media/episode.mp3', { range: 'bytes=999999-' });
    await get('/media/missing.mp3');
    await get('/media/../etc/passwd');
    await settle();
    const got = f.facts.facts.map((x) => [
      x.method,
      x.status,
      x.rangeStart,
      x.rangeEnd,
      x.bytesSent,
      x.rangeHeader,
    ]);
    expect(got).toEqual([
      ['HEAD', 200, null, null, 0, null],
      ['GET', 206, 0, 1, 2, 'bytes=0-1'],
      ['GET', 206, 1000, 1999, 1000, 'bytes=1000-1999'],
      ['GET', 304, null, null, 0, null],
      ['GET', 416, null, null, 0, 'bytes=999999-'],
    ]);
    expect(new Set(f.facts.facts.map((x) => x.id)).size).toBe(5);
    expect(new Set(f.facts.facts.map((x) => x.audienceKey)).size).toBe(1);
  });

  it('flags data-centre addresses and bots', async () => {
    await f.app.inject({
      url: '/media/video.mp4',
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
      remoteAddress: '192.0.2.44',
    });
    await settle();
    expect(f.facts.facts[0]).toMatchObject({ datacenter: true, client: { bot: true, app: 'Googlebot' } });
    expect(f.facts.facts[0]!.safe).toBeUndefined();
  });

  it('keeps the country of the proxy header only when the request came through a trusted proxy', async () => {
    // The fixture trusts no proxy: a client's own header is not believed.
    await f.app.inject({
      url: '/media/video.mp4',
      headers: { 'x-swarmcast-country': 'de', 'x-forwarded-for': '198.51.100.7' },
    });
    await settle();
    expect(f.facts.facts[0]!.country).toBeUndefined();
    const facts = memoryFactSink();
    const app = Fastify({ trustProxy: ['10.0.0.1'] });
    await app.register(originPlugin, {
      prefix: '/media',
      mediaRoot: f.root,
      facts,
      audienceKeys: createAudienceKeys(memorySaltStore()),
    });
    try {
      const via = (remoteAddress: string, country: string) =>
        app.inject({
          url: '/media/video.mp4',
          remoteAddress,
          headers: { 'x-swarmcast-country': country, 'x-forwarded-for': '198.51.100.7' },
        });
      await via('10.0.0.1', 'de');
      await via('10.0.0.1', 'XX');
      await via('203.0.113.9', 'fr'); // not the trusted proxy
      await settle();
      expect(facts.facts.map((x) => x.country)).toEqual(['DE', undefined, undefined]);
    } finally {
      await app.close();
    }
  });

  it('flags known safe addresses and keeps only the class of the Referer (IAB v2.3 5.5.2)', async () => {
    const referrers = [
      undefined,
      'https://listener.example/page?secret=1',
      'https://www.inflate.example/x',
      'javascript:alert(1)',
    ];
    for (const referer of referrers) {
      await f.app.inject({
        url: '/media/episode.mp3',
        headers: referer ? { referer } : {},
        remoteAddress: '192.0.2.200',
      });
    }
    await settle();
    expect(f.facts.facts.map((x) => [x.referrer, x.safe, x.datacenter])).toEqual([
      ['none', true, true],
      ['valid', true, true],
      ['excluded', true, true],
      ['malformed', true, true],
    ]);
    const json = JSON.stringify(f.facts.facts);
    expect(json).not.toContain('listener.example');
    expect(json).not.toContain('secret');
  });
});

describe('origin: the P2P player marked URL (sc-p2p) is answered in windows', () => {
  let big: Fixture;
  const size = 1_300_000;
  const window = 512 * 1024;
  beforeAll(async () => {
    // No start-up hold here (its own tests are below): each window at once.
    big = await originFixture({ 'episode.mp3': size }, { markedReads: new MarkedReads({ maxHoldMs: 0 }) });
  });
  afterAll(async () => {
    await big.close();
  });
  const getBig = (url: string, range?: string) =>
    big.app.inject({ method: 'GET', url, headers: { 'user-agent': ua, ...(range ? { range } : {}) } });

  it('an open-ended range gets one window, then the rest window by window, byte for byte', async () => {
    const body = big.files['episode.mp3']!;
    const parts: Buffer[] = [];
    for (let at = 0; at < size; ) {
      const r = await getBig('/media/episode.mp3?sc-p2p=0123456789abcdef', `bytes=${at}-`);
      expect(r.statusCode).toBe(206);
      const end = Math.min(size, at + window) - 1;
      expect(r.headers['content-range']).toBe(`bytes ${at}-${end}/${size}`);
      expect(r.headers['content-length']).toBe(String(end - at + 1));
      parts.push(r.rawPayload);
      at = end + 1;
    }
    expect(parts.length).toBe(Math.ceil(size / window));
    expect(Buffer.concat(parts).equals(body)).toBe(true);
  });

  it('a closed range, an unmarked URL and a request without Range are answered as asked', async () => {
    const closed = await getBig('/media/episode.mp3?sc-p2p=0123456789abcdef', `bytes=10-${window + 99}`);
    expect(closed.headers['content-range']).toBe(`bytes 10-${window + 99}/${size}`);
    const plain = await getBig('/media/episode.mp3', 'bytes=0-');
    expect(plain.headers['content-range']).toBe(`bytes 0-${size - 1}/${size}`);
    const whole = await getBig('/media/episode.mp3?sc-p2p=0123456789abcdef');
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.length).toBe(size);
  });
});

describe('origin: the start-up hold of marked reads (a first visit, before the swarm answers)', () => {
  let f: Fixture;
  const size = 3_000_000;
  const window = 512 * 1024;
  const hold = 1500;
  // The holds the origin decided, read from the planner itself, on a clock the test moves: on a
  // loaded machine an inject's wall time says little about how long the origin chose to wait.
  const planned: MarkedRead[] = [];
  let clock = 1_000_000;
  class RecordedReads extends MarkedReads {
    override plan(...a: Parameters<MarkedReads['plan']>): MarkedRead {
      const p = super.plan(...a);
      planned.push(p);
      return p;
    }
  }
  beforeAll(async () => {
    f = await originFixture(
      { 'episode.mp3': size },
      { markedReads: new RecordedReads({ maxHoldMs: hold, now: () => clock }) },
    );
  });
  afterAll(async () => {
    await f.close();
  });
  const timed = async (url: string, range: string, agent = ua) => {
    planned.length = 0;
    const t0 = performance.now();
    const r = await f.app.inject({ method: 'GET', url, headers: { 'user-agent': agent, range } });
    return { r, ms: performance.now() - t0, waitMs: planned.reduce((sum, p) => sum + p.waitMs, 0) };
  };
  // A 600 s episode: its first window plays for minutes, so the whole hold applies.
  const marked = '/media/episode.mp3?sc-p2p=0123456789abcdef&sc-dur=600';

  it('the first window goes at once; the continuation waits out the hold and gets one small window; then windows again', async () => {
    const first = await timed(marked, 'bytes=0-');
    expect(first.r.headers['content-range']).toBe(`bytes 0-${window - 1}/${size}`);
    expect(first.waitMs).toBe(0);
    const held = await timed(marked, `bytes=${window}-`);
    expect(held.r.statusCode).toBe(206);
    expect(held.r.headers['content-range']).toBe(`bytes ${window}-${window + 64 * 1024 - 1}/${size}`);
    expect(held.r.rawPayload.equals(f.files['episode.mp3']!.subarray(window, window + 64 * 1024))).toBe(true);
    // Waited out the hold in real time too (inject's own time comes on top; never less).
    expect(held.waitMs).toBe(hold);
    expect(held.ms).toBeGreaterThanOrEqual(hold - 5);
    clock += hold;
    const after = await timed(marked, `bytes=${window + 64 * 1024}-`);
    expect(after.r.headers['content-range']).toBe(
      `bytes ${window + 64 * 1024}-${2 * window + 64 * 1024 - 1}/${size}`,
    );
  });

  it('a seek (a read past the first two windows), a closed range, an unmarked URL and another listener are never held', async () => {
    await timed(marked, 'bytes=0-');
    const seek = await timed(marked, `bytes=${2 * window}-`);
    expect(seek.waitMs).toBe(0);
    expect(seek.r.headers['content-range']).toBe(`bytes ${2 * window}-${3 * window - 1}/${size}`);
    // Not planned at all (a closed range, an unmarked URL), or planned with no wait (another listener).
    expect((await timed(marked, `bytes=${window}-${window + 99}`)).waitMs).toBe(0);
    expect((await timed('/media/episode.mp3', `bytes=${window}-`)).waitMs).toBe(0);
    const other = await timed(marked, `bytes=${window}-`, 'AnotherApp/1.0');
    expect(planned).toHaveLength(1);
    expect(other.waitMs).toBe(0);
  });

  it('the hold never outlasts half the play time of the first window (duration hint: 3 MB in 1 s)', async () => {
    // At 3 MB/s the first window plays 0.17 s, so the hold is ~87 ms, not the 1.5 s allowed.
    const fast = '/media/episode.mp3?sc-p2p=0123456789abcdef&sc-dur=1';
    await timed(fast, 'bytes=0-');
    const held = await timed(fast, `bytes=${window}-`);
    // Half of the 524,288 bytes' play time at 3,000,000 B/s.
    expect(held.waitMs).toBeCloseTo(87.38, 1);
  });

  it('remembers a bounded number of clients, oldest forgotten first, and a read from byte 0 starts a hold anew', () => {
    let now = 0;
    const reads = new MarkedReads({ now: () => now, maxClients: 3, maxHoldMs: 1000 });
    for (const c of ['a', 'b', 'c', 'd']) reads.plan(c, 0, size - 1, size);
    // 'a' was forgotten (a fourth client came): its continuation is not held.
    expect(reads.plan('a', window, size - 1, size).waitMs).toBe(0);
    expect(reads.plan('d', window, size - 1, size).waitMs).toBe(1000);
    now = 600;
    expect(reads.plan('d', window, size - 1, size).waitMs).toBe(400);
    now = 1000;
    expect(reads.plan('d', window, size - 1, size)).toEqual({ waitMs: 0, end: 2 * window - 1 });
    reads.plan('d', 0, size - 1, size);
    expect(reads.plan('d', window, size - 1, size).waitMs).toBe(1000);
  });
});
