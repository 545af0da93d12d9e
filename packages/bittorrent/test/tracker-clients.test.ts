import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireBinaries } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBencode, systemTimers, toHex } from '../src/index.ts';
import { nodeHttpGet } from '../src/node/http-get.ts';
import { UdpTracker } from '../src/node/udp-tracker.ts';
import { encodeCompactPeers } from '../src/tracker-client/compact-peers.ts';
import { parseAnnounceReply, parseScrapeReply } from '../src/tracker-client/http-response.ts';
import { announceUrl, HttpTracker, scrapeUrl } from '../src/tracker-client/http-tracker.ts';
import { nextAnnounceDelay, TrackerPeerSource } from '../src/tracker-client/tracker-source.ts';
import { decodeUdpResponse, encodeAnnounce, encodeConnect } from '../src/tracker-client/udp-codec.ts';
import type { PeerAddress } from '../src/transport.ts';
import { startOpentracker } from './opentracker.ts';
import { prng, randomBytes, testSeed } from './prng.ts';

const hash = (n: number) => new Uint8Array(20).fill(n);
const peerId = (n: number) => new TextEncoder().encode(`-SC0001-${String(n).padStart(12, '0')}`);

describe('HTTP tracker replies', () => {
  it('reads compact IPv4 peers, peers6, intervals, counts, warning and tracker id', () => {
    const peers6 = new Uint8Array(18);
    peers6[15] = 1; // ::1
    peers6[16] = 0x1a;
    peers6[17] = 0xe1;
    const r = parseAnnounceReply(
      encodeBencode({
        interval: 1800,
        'min interval': 900,
        complete: 3,
        incomplete: 4,
        peers: encodeCompactPeers([
          { host: '127.0.0.1', port: 6881 },
          { host: '10.1.2.3', port: 65535 },
        ]),
        peers6,
        'warning message': 'slow down',
        'tracker id': 'abc',
      }),
    );
    expect(r.ok && r.value).toEqual({
      interval: 1800,
      minInterval: 900,
      complete: 3,
      incomplete: 4,
      peers: [
        { host: '127.0.0.1', port: 6881 },
        { host: '10.1.2.3', port: 65535 },
        { host: '::1', port: 6881 },
      ],
      warning: 'slow down',
      trackerId: 'abc',
    });
  });

  it('reads the non-compact (dictionary) peer list', () => {
    const r = parseAnnounceReply(
      encodeBencode({ interval: 60, peers: [{ ip: '::1', port: 1 }, { ip: 'x' }, 5] }),
    );
    expect(r.ok && r.value.peers).toEqual([{ host: '::1', port: 1 }]);
  });

  const bad: [string, Uint8Array, string][] = [
    ['failure reason', encodeBencode({ 'failure reason': 'not authorized' }), 'BT_TRACKER_FAILURE'],
    ['not bencode', new TextEncoder().encode('<html>'), 'BT_TRACKER_BAD_REPLY'],
    ['a list', encodeBencode([1]), 'BT_TRACKER_BAD_REPLY'],
    ['no interval', encodeBencode({ peers: new Uint8Array(0) }), 'BT_TRACKER_BAD_REPLY'],
    ['negative interval', encodeBencode({ interval: -1 }), 'BT_TRACKER_BAD_REPLY'],
    [
      'too deep',
      new TextEncoder().encode(`d8:intervali1e1:x${'l'.repeat(50)}${'e'.repeat(51)}`),
      'BT_TRACKER_BAD_REPLY',
    ],
  ];
  for (const [what, bytes, code] of bad) {
    it(`rejects ${what}`, () => {
      const r = parseAnnounceReply(bytes);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    });
  }

  it('reads scrape replies keyed by raw info-hash', () => {
    const key = String.fromCharCode(...hash(0xab));
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('d5:filesd20:'),
      ...hash(0xab),
      ...new TextEncoder().encode('d8:completei2e10:downloadedi5e10:incompletei1eeee'),
    ]);
    expect(key.length).toBe(20);
    const r = parseScrapeReply(bytes);
    expect(r.ok && [...r.value]).toEqual([
      [toHex(hash(0xab)), { complete: 2, downloaded: 5, incomplete: 1 }],
    ]);
  });

  const seed = testSeed();
  it(`random bytes and mutations never throw (seed ${seed})`, () => {
    const rand = prng(seed);
    const base = encodeBencode({
      interval: 5,
      peers: randomBytes(rand, 60),
      peers6: randomBytes(rand, 36),
      complete: 1,
    });
    for (let i = 0; i < 3000; i++) {
      const bytes = rand() < 0.3 ? randomBytes(rand, Math.floor(rand() * 100)) : base.slice();
      for (let f = 0; f < 3; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      for (const parse of [parseAnnounceReply, parseScrapeReply]) {
        const r = parse(bytes);
        if (!r.ok) expect(r.error.code, `seed ${seed} iteration ${i}`).toMatch(/^BT_TRACKER_/);
      }
    }
  });

  it('builds announce and scrape URLs (keeps a passkey query, percent-encodes bytes)', () => {
    const url = announceUrl('http://t/pk/announce?passkey=x', {
      infoHash: hash(0xff),
      peerId: peerId(1),
      port: 6881,
      uploaded: 1,
      downloaded: 2,
      left: 3,
      event: 'started',
    });
    expect(url).toMatch(
      /^http:\/\/t\/pk\/announce\?passkey=x&info_hash=(%FF){20}&peer_id=-SC0001-0{11}1&port=6881&uploaded=1&downloaded=2&left=3&compact=1&numwant=50&event=started$/,
    );
    expect(scrapeUrl('http://t/announce.php?k=1')).toBe('http://t/scrape.php?k=1');
    expect(scrapeUrl('http://t/a')).toBeNull();
  });
});

describe('UDP tracker codec (BEP 15)', () => {
  it('encodes connect and announce at the sizes of the spec', () => {
    expect(encodeConnect(7).length).toBe(16);
    const a = encodeAnnounce(1n, 2, {
      infoHash: hash(1),
      peerId: peerId(1),
      port: 6881,
      uploaded: 0,
      downloaded: 0,
      left: 5,
      event: 'started',
    });
    expect(a.length).toBe(98);
    expect(new DataView(a.buffer).getUint32(80)).toBe(2);
    expect(new DataView(a.buffer).getUint16(96)).toBe(6881);
  });

  const seed = testSeed();
  it(`decodes any datagram without throwing (seed ${seed})`, () => {
    const rand = prng(seed);
    for (let i = 0; i < 5000; i++) {
      const b = randomBytes(rand, Math.floor(rand() * 120));
      if (b.length >= 4 && rand() < 0.7) new DataView(b.buffer).setUint32(0, Math.floor(rand() * 5));
      const r = decodeUdpResponse(b, rand() < 0.5);
      if (!r.ok) expect(r.error.code).toMatch(/^BT_TRACKER_(BAD_REPLY|FAILURE)$/);
    }
  });
});

describe('announce pacing', () => {
  const o = { minIntervalMs: 60_000, maxIntervalMs: 1_800_000, retryMs: 15_000 };
  const table: [string, { interval: number; minInterval?: number } | null, number, number][] = [
    ['the tracker interval', { interval: 120 }, 0, 120_000],
    ['min interval above interval', { interval: 100, minInterval: 300 }, 0, 300_000],
    ['our floor', { interval: 1 }, 0, 60_000],
    ['our ceiling', { interval: 100_000 }, 0, 1_800_000],
    ['first failure', null, 1, 15_000],
    ['third failure', null, 3, 60_000],
    ['many failures, capped', null, 30, 1_800_000],
  ];
  for (const [what, reply, failures, ms] of table)
    it(what, () => expect(nextAnnounceDelay(reply, failures, o)).toBe(ms));
});

const p = requireBinaries('HTTP and UDP tracker clients against opentracker', 'opentracker');

describe.skipIf(p.skip)('tracker clients against opentracker', () => {
  let ot: Awaited<ReturnType<typeof startOpentracker>>;
  beforeAll(async () => {
    ot = await startOpentracker([hash(1), hash(2), hash(3)]);
  });
  afterAll(async () => ot?.stop());

  const base = { uploaded: 0, downloaded: 0, left: 1000 };
  for (const kind of ['http', 'http over node:http', 'udp'] as const) {
    const client = () =>
      kind === 'http'
        ? new HttpTracker(ot.http)
        : kind === 'udp'
          ? new UdpTracker(ot.udp, { baseTimeoutMs: 1000, maxAttempts: 3 })
          : new HttpTracker(ot.http, nodeHttpGet);
    const h = kind === 'udp' ? hash(2) : hash(1);

    it(`${kind}: a second peer learns the first; scrape counts both`, async () => {
      const c = client();
      const first = await c.announce({
        ...base,
        infoHash: h,
        peerId: peerId(1),
        port: 7001,
        event: 'started',
      });
      if (!first.ok) throw new Error(first.error.message);
      expect(first.value.interval).toBeGreaterThan(0);
      const second = await c.announce({
        ...base,
        infoHash: h,
        peerId: peerId(2),
        port: 7002,
        left: 0,
        event: 'started',
      });
      if (!second.ok) throw new Error(second.error.message);
      expect(second.value.peers).toContainEqual({ host: '127.0.0.1', port: 7001 });
      const scraped = await c.scrape([h]);
      if (!scraped.ok) throw new Error(scraped.error.message);
      expect(scraped.value.get(toHex(h))).toMatchObject({ complete: 1, incomplete: 1 });
      const stopped = await c.announce({
        ...base,
        infoHash: h,
        peerId: peerId(1),
        port: 7001,
        event: 'stopped',
      });
      expect(stopped.ok).toBe(true);
      const after = await c.scrape([h]);
      expect(after.ok && after.value.get(toHex(h))).toMatchObject({ incomplete: 0 });
    });

    it(`${kind}: a hash that is not whitelisted is a coded failure`, async () => {
      const r = await client().announce({ ...base, infoHash: hash(9), peerId: peerId(3), port: 7003 });
      expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toMatch(/^BT_TRACKER_FAILURE/);
    });
  }

  it('TrackerPeerSource announces started, reports peers and says stopped on abort', async () => {
    const h = hash(3);
    const other = new HttpTracker(ot.http);
    await other.announce({ ...base, infoHash: h, peerId: peerId(8), port: 7008, left: 0, event: 'started' });
    const source = new TrackerPeerSource(new UdpTracker(ot.udp, { baseTimeoutMs: 1000 }), {
      infoHash: h,
      peerId: peerId(9),
      port: 7009,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
      timers: systemTimers,
    });
    const found: PeerAddress[] = [];
    const controller = new AbortController();
    const running = source.run({ peers: (ps) => found.push(...ps) }, controller.signal);
    const deadline = Date.now() + 10_000;
    while (found.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(found).toContainEqual({ host: '127.0.0.1', port: 7008 });
    const during = await other.scrape([h]);
    expect(during.ok && during.value.get(toHex(h))?.incomplete).toBe(1);
    controller.abort();
    await running;
    const after = await other.scrape([h]);
    expect(after.ok && after.value.get(toHex(h))?.incomplete).toBe(0);
  });

  it('udp: a silent tracker times out after the bounded retransmissions', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    let received = 0;
    silent.on('message', () => received++);
    try {
      const started = Date.now();
      const r = await new UdpTracker(`udp://127.0.0.1:${port}`, {
        baseTimeoutMs: 100,
        maxAttempts: 3,
      }).announce({
        ...base,
        infoHash: hash(1),
        peerId: peerId(1),
        port: 1,
      });
      expect(r.ok ? 'ok' : r.error.code).toBe('BT_TRACKER_TIMEOUT');
      expect(received).toBe(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(100 + 200 + 400 - 20);
    } finally {
      silent.close();
    }
  });

  it('udp: a tracker answering garbage gives a coded error, never a crash', async () => {
    const liar = createSocket('udp4');
    await new Promise<void>((r) => liar.bind(0, '127.0.0.1', r));
    const port = (liar.address() as { port: number }).port;
    liar.on('message', (msg, from) => {
      // echo the transaction id with an unknown action, then a truncated connect reply
      const reply = Buffer.alloc(12);
      reply.writeUInt32BE(77, 0);
      msg.copy(reply, 4, 12, 16);
      liar.send(reply, from.port, from.address);
    });
    try {
      const r = await new UdpTracker(`udp://127.0.0.1:${port}`, {
        baseTimeoutMs: 200,
        maxAttempts: 2,
      }).announce({
        ...base,
        infoHash: hash(1),
        peerId: peerId(1),
        port: 1,
      });
      expect(r.ok ? 'ok' : r.error.code).toBe('BT_TRACKER_BAD_REPLY');
    } finally {
      liar.close();
    }
  });
});

describe('HTTP tracker over node:http (nodeHttpGet)', () => {
  const params = { infoHash: hash(1), peerId: peerId(1), port: 7001, uploaded: 0, downloaded: 0, left: 1 };
  const reply = encodeBencode({
    interval: 900,
    peers: encodeCompactPeers([{ host: '10.0.0.1', port: 6881 }]),
  });
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/moved/announce')) {
        res.writeHead(302, { location: `/announce${path.slice(path.indexOf('?'))}` });
        res.end();
      } else if (path.startsWith('/announce')) res.end(reply);
      else if (path.startsWith('/huge/announce')) res.end(new Uint8Array(5 * 1024 * 1024));
      else if (path.startsWith('/gone/announce')) res.writeHead(404).end();
      // /silent/announce: never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('announces, following a redirect', async () => {
    for (const path of ['/announce', '/moved/announce']) {
      const r = await new HttpTracker(`${url}${path}`, nodeHttpGet).announce(params);
      expect(r.ok && r.value.peers).toEqual([{ host: '10.0.0.1', port: 6881 }]);
    }
  });

  it('a status, a body over 4 MiB and a silent tracker are coded failures', async () => {
    const code = async (path: string, timeoutMs?: number) => {
      const r = await new HttpTracker(`${url}${path}`, nodeHttpGet, timeoutMs).announce(params);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(await code('/gone/announce')).toBe('BT_TRACKER_HTTP_STATUS');
    expect(await code('/huge/announce')).toBe('BT_TRACKER_BAD_REPLY');
    expect(await code('/silent/announce', 300)).toBe('BT_TRACKER_TIMEOUT');
    expect(await code('/announce')).toBe('ok');
  });
});
