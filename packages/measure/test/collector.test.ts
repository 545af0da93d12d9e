import { createHash } from 'node:crypto';
import { type EventStream, ManualClock, openEventStream, type StreamEvent } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adBeaconEventId, collectorRoutes } from '../src/collect/collector.ts';
import { testEdge } from './support/edge.ts';
import { playBeacon, token } from './support/world.ts';

let stream: EventStream;
let app: FastifyInstance;
let dir: { path: string; remove(): Promise<void> };
const clock = new ManualClock(Date.UTC(2026, 11, 2, 12));

async function drain(s: EventStream, group: string, expected: number): Promise<StreamEvent[]> {
  const got: StreamEvent[] = [];
  const c = await s.consume(group, async (events) => {
    got.push(...events);
  });
  const deadline = Date.now() + 10_000;
  while (got.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50));
  await c.stop();
  return got;
}

async function setup(maxPending?: number) {
  dir = await scratchDir('measure-collector');
  stream = await openEventStream({ dataDir: dir.path });
  // The operator's proxy is 192.0.2.1 (the play beacons' country is believed only from it).
  app = Fastify({ trustProxy: ['192.0.2.1'] });
  const c = collectorRoutes(app, {
    stream,
    edge: testEdge,
    clock,
    ...(maxPending !== undefined ? { maxPending } : {}),
  });
  return c;
}

afterEach(async () => {
  await app.close();
  await stream.close();
  await dir.remove();
});

describe('collector (embedded stream)', () => {
  let stats: ReturnType<typeof collectorRoutes>['stats'];
  beforeEach(async () => {
    stats = (await setup()).stats;
  });

  it('answers an impression with a 1x1 GIF and other events with 204, after the beacon is durable', async () => {
    const t = token();
    const imp = await app.inject(`/beacon/ad/impression?t=${t}&ts=2026-12-02T12:00:00Z&ah=00:00:00.000&cb=1`);
    expect(imp.statusCode).toBe(200);
    expect(imp.headers['content-type']).toBe('image/gif');
    expect(imp.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    const start = await app.inject({
      url: `/beacon/ad/start?t=${t}&cb=2`,
      headers: { 'user-agent': 'Player/1.0' },
    });
    expect(start.statusCode).toBe(204);
    const events = await drain(stream, 'check', 2);
    expect(events.map((e) => [e.subject, (e.data as { event: string }).event])).toEqual([
      ['beacon.ad', 'impression'],
      ['beacon.ad', 'start'],
    ]);
    const data = events[1]!.data as Record<string, unknown>;
    expect(data.receivedAt).toBe(clock.now());
    expect(JSON.stringify(data)).not.toContain('Player/1.0');
    expect(JSON.stringify(data)).not.toContain('127.0.0.1');
    expect(stats.accepted).toBe(2);
  });

  it('a retried request (same cache-buster) is one event id; a replay with a new one is another', async () => {
    const t = token();
    await app.inject(`/beacon/ad/impression?t=${t}&cb=7`);
    await app.inject(`/beacon/ad/impression?t=${t}&cb=7`);
    await app.inject(`/beacon/ad/impression?t=${t}&cb=8`);
    const events = await drain(stream, 'ids', 3);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
  });

  it('an ad beacon id is the first 32 base64url characters of the SHA-256 of its key, as every collector version makes it', () => {
    // Processes of two versions behind one proxy must give a retried beacon the same id.
    const b = {
      event: 'pause' as const,
      token: 'tok',
      ts: null,
      adPlayheadMs: 2000,
      offsetMs: null,
      errorCode: null,
      cacheBuster: '7',
    };
    const expected = createHash('sha256')
      .update('tok\u0000pause\u0000null\u00007')
      .digest('base64url')
      .slice(0, 32);
    expect(adBeaconEventId(b)).toBe(`ad:${expected}`);
  });

  it('a retried request without a cache-buster is one event id too; a different timestamp or playhead is another', async () => {
    // A player that fills no [CACHEBUSTING] (or sends it unreplaced): its HTTP retry, or the
    // proxy's, repeats the very URL, which must not become a second stored beacon (IAB: one
    // count per beacon received; a retry is not a new one). What the player did change
    // ([TIMESTAMP], [ADPLAYHEAD]) still tells two real events apart.
    const t = token();
    const url = `/beacon/ad/pause?t=${t}&ts=2026-12-02T12:00:01.000Z&ah=00:00:02.000`;
    await app.inject(url);
    clock.advance(1500);
    await app.inject(url);
    await app.inject(`${url}&cb=[CACHEBUSTING]`);
    await app.inject(`${url}&cb=-1`);
    await app.inject(`/beacon/ad/pause?t=${t}&ts=2026-12-02T12:00:04.000Z&ah=00:00:02.000`);
    await app.inject(`/beacon/ad/pause?t=${t}&ts=2026-12-02T12:00:01.000Z&ah=00:00:03.000`);
    const events = await drain(stream, 'no-cb', 6);
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('hostile ad beacons: unknown events, missing, repeated or oversized parameters get 204 and are not stored', async () => {
    const urls = [
      '/beacon/ad/explode?t=x',
      '/beacon/ad/start',
      '/beacon/ad/start?t=a&t=b',
      `/beacon/ad/start?t=${'x'.repeat(5000)}`,
      `/beacon/ad/start?t=x&junk=${'y'.repeat(9000)}`,
      '/beacon/ad/start?t=x&o=1&o=2',
    ];
    for (const url of urls) expect((await app.inject(url)).statusCode).toBe(204);
    expect(stats.accepted).toBe(0);
    expect(Object.values(stats.rejected).reduce((a, b) => a + b, 0)).toBe(urls.length);
  });

  it('play beacons: 204 when durable; malformed 400 with a code; oversized 413; sendBeacon text/plain accepted', async () => {
    const beacon = playBeacon({ sessionId: 'sess-1' });
    expect((await app.inject({ method: 'POST', url: '/beacon/play', payload: beacon })).statusCode).toBe(204);
    const text = await app.inject({
      method: 'POST',
      url: '/beacon/play',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({ ...beacon, seq: 1, event: 'progress' }),
    });
    expect(text.statusCode).toBe(204);
    const bad = await app.inject({ method: 'POST', url: '/beacon/play', payload: { ...beacon, seq: -1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MEA_BAD_BEACON');
    const junk = await app.inject({
      method: 'POST',
      url: '/beacon/play',
      headers: { 'content-type': 'text/plain' },
      payload: '{not json',
    });
    expect(junk.statusCode).toBe(400);
    const huge = await app.inject({
      method: 'POST',
      url: '/beacon/play',
      payload: { ...beacon, pad: 'x'.repeat(10_000) },
    });
    expect(huge.statusCode).toBe(413);
    const events = await drain(stream, 'plays', 2);
    expect(events.map((e) => e.id)).toEqual(['play:sess-1:0', 'play:sess-1:1']);
    expect(
      (await app.inject({ method: 'OPTIONS', url: '/beacon/play' })).headers['access-control-allow-origin'],
    ).toBe('*');
  });

  it("play beacons carry the trusted proxy's country, never a listener's own header", async () => {
    const beacon = playBeacon({ sessionId: 'sess-c' });
    const direct = await app.inject({
      method: 'POST',
      url: '/beacon/play',
      payload: beacon,
      headers: { 'x-swarmcast-country': 'DE' },
      remoteAddress: '203.0.113.9',
    });
    expect(direct.statusCode).toBe(204);
    const proxied = await app.inject({
      method: 'POST',
      url: '/beacon/play',
      payload: { ...beacon, seq: 1, event: 'progress' },
      headers: { 'x-swarmcast-country': 'fr', 'x-forwarded-for': '198.51.100.3' },
      remoteAddress: '192.0.2.1',
    });
    expect(proxied.statusCode).toBe(204);
    const events = await drain(stream, 'plays-country', 2);
    expect(events.map((e) => (e.data as { country?: string | null }).country)).toEqual([null, 'FR']);
  });
});

describe('collector under a flood', () => {
  it('bounded: beyond maxPending it answers 503, and every 204 is durable', async () => {
    const c = await setup(50);
    const t = token();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => app.inject(`/beacon/ad/pause?t=${t}&cb=${i}`)),
    );
    const ok = answers.filter((a) => a.statusCode === 204).length;
    const busy = answers.filter((a) => a.statusCode === 503).length;
    expect(ok + busy).toBe(1000);
    expect(ok).toBeGreaterThan(0);
    expect(c.stats.accepted).toBe(ok);
    expect(c.stats.unavailable).toBe(busy);
    const events = await drain(stream, 'flood', ok);
    expect(events.length).toBe(ok);
  });

  it('a group commit the stream refuses is answered 503 for each of its beacons; every 204 is stored', async () => {
    dir = await scratchDir('measure-collector');
    stream = await openEventStream({ dataDir: dir.path });
    // Refuses its first and third publish (each a whole group commit).
    let publishes = 0;
    let refused = 0;
    const flaky: EventStream = {
      publish: (events) => {
        publishes++;
        if (publishes !== 1 && publishes !== 3) return stream.publish(events);
        refused += events.length;
        return Promise.reject(new Error('disk'));
      },
      consume: (...a) => stream.consume(...a),
      close: () => stream.close(),
    };
    app = Fastify();
    const c = collectorRoutes(app, { stream: flaky, edge: testEdge, clock });
    const t = token();
    const statuses: number[] = [];
    for (let round = 0; round < 4; round++) {
      const got = await Promise.all(
        Array.from({ length: 20 }, (_, i) => app.inject(`/beacon/ad/pause?t=${t}&cb=${round * 20 + i}`)),
      );
      statuses.push(...got.map((a) => a.statusCode));
    }
    const ok = statuses.filter((x) => x === 204).length;
    const busy = statuses.filter((x) => x === 503).length;
    expect(ok + busy).toBe(80);
    expect(refused).toBeGreaterThan(0);
    expect(busy).toBe(refused);
    expect(c.stats.accepted).toBe(ok);
    expect(c.stats.unavailable).toBe(busy);
    expect((await drain(stream, 'flaky', ok)).length).toBe(ok);
  });
});
