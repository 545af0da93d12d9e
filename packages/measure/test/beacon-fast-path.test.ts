import { connect } from 'node:net';
import { type EventStream, ManualClock, openEventStream, type StreamEvent } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorRoutes, installFastPath } from '../src/collect/collector.ts';
import { testEdge } from './support/edge.ts';
import { token } from './support/world.ts';

/**
 * The ad beacon fast path answers what the Fastify route answers: the same requests, good
 * and hostile, sent as raw bytes to a collector with the fast path and to one without give
 * the same status, headers (but Date) and body, and the same stored events.
 */
interface Side {
  app: FastifyInstance;
  stream: EventStream;
  dir: { path: string; remove(): Promise<void> };
  port: number;
  stats: ReturnType<typeof collectorRoutes>['stats'];
  fastTaken: number;
}
const clock = new ManualClock(Date.UTC(2026, 11, 2, 12));
let fastSide: Side;
let routeSide: Side;

async function side(fast: boolean, broken?: 'stream' | 'edge'): Promise<Side> {
  const dir = await scratchDir(`measure-fast-${fast}`);
  const real = await openEventStream({ dataDir: dir.path });
  // A stream whose writes fail (the answer is 503) or an edge that throws (500).
  const stream: EventStream =
    broken === 'stream'
      ? { ...real, publish: async () => Promise.reject(new Error('disk gone')), close: () => real.close() }
      : real;
  const edge: typeof testEdge =
    broken === 'edge'
      ? () => {
          throw new Error('salt store down');
        }
      : testEdge;
  const app = Fastify({ trustProxy: ['127.0.0.1'] });
  const c = collectorRoutes(app, { stream, edge, clock });
  const s: Side = { app, stream, dir, port: 0, stats: c.stats, fastTaken: 0 };
  if (fast)
    installFastPath(app.server, (req, res) => {
      const taken = c.fast(req, res);
      if (taken) s.fastTaken++;
      return taken;
    });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  s.port = typeof address === 'object' && address ? address.port : 0;
  return s;
}

/**
 * Sends raw request bytes on a fresh connection and reads until the server closes it (every
 * request says Connection: close or is HTTP/1.0); the whole answer, with Date blanked. Not
 * half-closed: node:http drops a half-closed client's pending answer.
 */
function send(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () =>
      resolve(
        Buffer.concat(chunks)
          .toString('latin1')
          .replace(/\r\nDate: [^\r]*/i, '\r\nDate: -'),
      ),
    );
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(bytes);
  });
}

async function drain(s: EventStream, expected: number): Promise<StreamEvent[]> {
  const got: StreamEvent[] = [];
  const c = await s.consume('compare', async (events) => {
    got.push(...events);
  });
  const deadline = Date.now() + 10_000;
  while (got.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  await c.stop();
  return got;
}

beforeAll(async () => {
  fastSide = await side(true);
  routeSide = await side(false);
});
afterAll(async () => {
  for (const s of [fastSide, routeSide]) {
    await s.app.close();
    await s.stream.close();
    await s.dir.remove();
  }
});

describe('ad beacon fast path', () => {
  it('answers good and hostile requests with the same bytes as the route and stores the same events', async () => {
    const t = token();
    const get = (target: string, headers = '') =>
      `GET ${target} HTTP/1.1\r\nHost: x\r\nUser-Agent: Player/1.0\r\n${headers}Connection: close\r\n\r\n`;
    const requests = [
      get(`/beacon/ad/impression?t=${t}&ts=2026-12-02T12%3A00%3A00Z&ah=00:00:01.500&cb=11`),
      get(`/beacon/ad/start?t=${t}&o=1500&cb=12`),
      get(`/beacon/ad/error?t=${t}&code=405&cb=13`),
      get(`/beacon/ad/pause?t=${t}&ts=2026-12-02T12:00:00Z&ah=00:00:12.000`),
      get(`/beacon/ad/pause?t=${t}&ts=2026-12-02T12:00:00Z&ah=00:00:12.000`), // a retry: one event
      get(`/beacon/ad/complete?t=${t}&cb=[CACHEBUSTING]&ah=12345`),
      get(`/beacon/ad/midpoint?t=${t}&cb=14`, 'User-Agent: SomeBot/2\r\n'), // two user agents
      get(`/beacon/ad/resume?cb=15&t=${t}&t=${t}`), // repeated token
      get('/beacon/ad/start?cb=16'), // no token
      get('/beacon/ad/start?t=&cb=17'),
      get(`/beacon/ad/start?t=${'A'.repeat(4097)}&cb=18`), // overlong token
      get(`/beacon/ad/start?t=${t}&cb=19&pad=${'x'.repeat(9000)}`), // overlong URL
      get(`/beacon/ad/start?t=${t}&cb=%E0%A4%A`), // bad percent-encoding
      get(`/beacon/ad/start?t=%ZZ${t}&cb=20`),
      get(`/beacon/ad/start?t=${t}&ah=%&o=%2`),
      get(`/beacon/ad/start?t=${t}&cb=${'9'.repeat(65)}`), // overlong short field
      get(`/beacon/ad/start?t=${t}&cb=21&cb=22`),
      get(`/beacon/ad/nonsense?t=${t}&cb=23`), // unknown event
      get(`/beacon/ad/Impression?t=${t}&cb=24`),
      get(`/beacon/ad/%69mpression?t=${t}&cb=25`), // an encoded event name
      get(`/beacon/ad/%E0?t=${t}`), // bad percent-encoding in the path
      get(`/beacon/ad/start/?t=${t}&cb=26`),
      get(`/beacon/ad/start/extra?t=${t}&cb=27`),
      get('/beacon/ad/'),
      get('/beacon/ad/start'),
      get('/beacon/ad/start?'),
      get(`/beacon/ad/start??t=${t}&cb=28`),
      get(`/beacon/ad/start?t=${t}&cb=29#frag`),
      get(`/beacon/ad/start?t=${t}&cb=30`, 'X-Forwarded-For: 203.0.113.9\r\n'),
      get(`/beacon/ad/start?t=${t}&cb=31`, 'Accept: text/html\r\n'),
      `POST /beacon/ad/start?t=${t}&cb=32 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      `PUT /beacon/ad/start?t=${t}&cb=33 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      `DELETE /beacon/ad/start?t=${t}&cb=34 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `HEAD /beacon/ad/impression?t=${t}&cb=35 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `OPTIONS /beacon/ad/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `get /beacon/ad/start?t=${t}&cb=36 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /beacon/ad/start?t=${t}&cb=37 HTTP/1.0\r\n\r\n`,
      `GET /beacon/ad/start?t=${t}&cb=38\r\n\r\n`, // HTTP/0.9 style
      `GET /beacon/ad/start?t=${t}&cb=39 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    ];
    let answered = 0;
    for (const r of requests) {
      const viaFast = await send(fastSide.port, r);
      const viaRoute = await send(routeSide.port, r);
      expect({ request: r.slice(0, 200), answer: viaFast }).toEqual({
        request: r.slice(0, 200),
        answer: viaRoute,
      });
      if (viaRoute.startsWith('HTTP/1.')) answered++;
    }
    expect(answered).toBe(requests.length);
    // The fast path did take the plain beacons (not everything fell through to Fastify).
    expect(fastSide.fastTaken).toBeGreaterThanOrEqual(20);
    expect(fastSide.stats).toEqual(routeSide.stats);
    const accepted = routeSide.stats.accepted;
    expect(accepted).toBeGreaterThanOrEqual(8);
    const strip = (events: StreamEvent[]) =>
      events.map((e) => ({ id: e.id, subject: e.subject, data: e.data }));
    const [a, b] = await Promise.all([drain(fastSide.stream, accepted), drain(routeSide.stream, accepted)]);
    expect(a.length).toBeGreaterThanOrEqual(8);
    expect(strip(a)).toEqual(strip(b));
  });
});

describe('ad beacon fast path, when the stream or the edge fails', () => {
  for (const broken of ['stream', 'edge'] as const) {
    it(`answers as the route does when the ${broken} fails`, async () => {
      const sides = [await side(true, broken), await side(false, broken)];
      try {
        const t = token();
        for (const target of [`/beacon/ad/impression?t=${t}&cb=1`, `/beacon/ad/start?t=${t}&cb=2`]) {
          const r = `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
          const [viaFast, viaRoute] = [await send(sides[0]!.port, r), await send(sides[1]!.port, r)];
          expect(viaRoute).toMatch(broken === 'stream' ? /^HTTP\/1.1 503 / : /^HTTP\/1.1 500 /);
          expect(viaFast).toBe(viaRoute);
        }
        expect(sides[0]!.fastTaken).toBe(2);
        expect(sides[0]!.stats).toEqual(sides[1]!.stats);
      } finally {
        for (const s of sides) {
          await s.app.close();
          await s.stream.close();
          await s.dir.remove();
        }
      }
    });
  }
});
