import { createHmac, randomBytes } from 'node:crypto';
import {
  type AnnounceFact,
  type AudienceKey,
  clientFamilyFromPeerId,
  type EventStream,
  encodeStreamRecords,
  openEventStream,
  type StreamEvent,
} from '@swarmcast/platform';
import { requireServices, scratchDir, serviceUrl, waitFor } from '@swarmcast/testkit';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnnounceObservation } from '../src/core/tracker-core.ts';
import { AnnounceFactPublisher } from '../src/facts/announce-facts.ts';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { announceQuery, peerId, udpAnnounce, udpConnect } from './helpers/announce.ts';
import { UdpTestClient } from './helpers/udp-client.ts';

const nats = await requireServices('announce facts on NATS JetStream', 'nats');
const salt = randomBytes(32);
const deps = {
  audienceKey: (ip: string, ua: string) =>
    createHmac('sha256', salt).update(`${ip}|${ua}`).digest('hex') as AudienceKey,
  clientFamily: (id: Uint8Array) =>
    Buffer.from(id).subarray(0, 3).toString() === '-qB' ? 'qBittorrent' : 'unknown',
};

interface Engine {
  name: string;
  skip: boolean;
  open(): Promise<{ stream: EventStream; cleanup(): Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'embedded write-ahead stream',
    skip: false,
    async open() {
      const dir = await scratchDir();
      const stream = await openEventStream({ dataDir: dir.path });
      return { stream, cleanup: () => dir.remove() };
    },
  },
  {
    name: 'NATS JetStream',
    skip: nats.skip,
    async open() {
      const tag = `TRK${Date.now().toString(36)}${randomBytes(3).toString('hex')}`.toUpperCase();
      const stream = await openEventStream({
        natsUrl: serviceUrl('nats'),
        streamName: `SC_${tag}`,
        subjectPrefix: `sc${tag.toLowerCase()}`,
      });
      return {
        stream,
        async cleanup() {
          const nc = await connect({ servers: serviceUrl('nats') });
          const jsm = await nc.jetstreamManager();
          await jsm.streams.delete(`SC_${tag}`).catch(() => undefined);
          await nc.close();
        },
      };
    },
  },
];

describe.each(engines)('announce facts on the $name', (engine) => {
  let t: RunningTracker;
  let publisher: AnnounceFactPublisher;
  let opened: Awaited<ReturnType<Engine['open']>>;
  beforeAll(async () => {
    if (engine.skip) return;
    opened = await engine.open();
    publisher = new AnnounceFactPublisher({ stream: opened.stream, ...deps, flushEveryMs: 50 });
    t = await runStandaloneTracker({ port: 0, host: '127.0.0.1', rateLimit: null, observer: publisher });
    publisher.start();
  });
  afterAll(async () => {
    await publisher?.close();
    await t?.close();
    await opened?.stream.close();
    await opened?.cleanup();
  });

  it.skipIf(engine.skip)(
    'publishes one privacy-safe fact per announce, with deltas, over HTTP and UDP',
    async () => {
      const hash = randomBytes(20);
      const id = peerId('-qB4520-', 7);
      const get = (q: Parameters<typeof announceQuery>[0]) =>
        fetch(`http://127.0.0.1:${t.port}/announce?${announceQuery(q)}`, {
          headers: { 'user-agent': 'qBittorrent/4.5.2' },
        });
      await get({ infoHash: hash, peerId: id, event: 'started', uploaded: 0, downloaded: 0, left: 1000 });
      await get({ infoHash: hash, peerId: id, uploaded: 300, downloaded: 1000, left: 0, event: 'completed' });
      const udp = await UdpTestClient.open(t.port);
      const c = (await udp.request(udpConnect(1)))!;
      await udp.request(
        udpAnnounce({
          connectionId: c.subarray(8, 16),
          transactionId: 2,
          infoHash: hash,
          peerId: peerId('-TR3000-'),
          left: 0n,
        }),
      );
      await udp.close();
      await publisher.flush();

      const seen: StreamEvent[] = [];
      const consumer = await opened.stream.consume(
        `tracker-test-${randomBytes(3).toString('hex')}`,
        async (events) => {
          seen.push(...events);
        },
        // batchSize 1: platform's NATS consumer only hands over a partial batch once nats.js
        // reports no pending pulls, which with a few events does not happen (see notes).
        { subjects: ['fact.announce'], batchSize: 1 },
      );
      const mine = () =>
        seen.filter((e) => (e.data as { infoHash: string }).infoHash === hash.toString('hex'));
      await waitFor(
        () => mine().length >= 3,
        15_000,
        `three announce facts (seen ${seen.length}, publisher ${JSON.stringify(publisher.counts)})`,
      );
      await consumer.stop();
      const facts = mine().map((e) => e.data as Record<string, unknown>);
      expect(
        facts.map((f) => [f.event, f.transport, f.uploadedDelta, f.downloadedDelta, f.left, f.clientFamily]),
      ).toEqual([
        ['started', 'http', 0, 0, 1000, 'qBittorrent'],
        ['completed', 'http', 300, 1000, 0, 'qBittorrent'],
        ['started', 'udp', 0, 0, 0, 'unknown'],
      ]);
      expect(new Set(facts.map((f) => f.id)).size).toBe(3);
      // No raw address, port or peer id anywhere in what leaves the process.
      const text = JSON.stringify(facts);
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain('-qB4520-');
      expect(text).not.toContain(Buffer.from(id).toString('hex'));
      expect(facts[0]!.audienceKey).toBe(deps.audienceKey('127.0.0.1', 'qBittorrent/4.5.2'));
      expect(publisher.counts).toMatchObject({ dropped: 0, failedBatches: 0 });
    },
  );
});

describe('fact backlog', () => {
  it('still publishes after a flush that found nothing to do', async () => {
    const published: StreamEvent[] = [];
    const stream = {
      async publish(events: StreamEvent[]) {
        published.push(...events);
      },
      consume: async () => ({ pending: async () => 0, stop: async () => undefined }),
      close: async () => undefined,
    };
    const p = new AnnounceFactPublisher({ stream, ...deps });
    await p.flush();
    p.observe({
      time: 1,
      uploadedDelta: 0,
      downloadedDelta: 0,
      request: {
        ip: '192.0.2.1',
        userAgent: 'x',
        infoHash: 'a'.repeat(40),
        peerId: new Uint8Array(20),
        event: 'started',
        left: 0,
        transport: 'http',
      },
    } as unknown as Parameters<AnnounceFactPublisher['observe']>[0]);
    await p.flush();
    expect(published).toHaveLength(1);
  });

  it('drops past its bound and retries a failed batch', async () => {
    let fail = true;
    const published: StreamEvent[] = [];
    const stream = {
      async publish(events: StreamEvent[]) {
        if (fail) throw new Error('stream down');
        published.push(...events);
      },
      consume: async () => ({ pending: async () => 0, stop: async () => undefined }),
      close: async () => undefined,
    } as EventStream;
    const p = new AnnounceFactPublisher({ stream, ...deps, maxBacklog: 3, batchSize: 10 });
    const o = {
      time: 1,
      uploadedDelta: 0,
      downloadedDelta: 0,
      request: {
        type: 'announce' as const,
        transport: 'udp' as const,
        infoHash: 'aa'.repeat(20) as never,
        peerId: peerId(),
        ip: '10.0.0.1',
        port: 1,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: 'update' as const,
        numwant: 0,
        compact: true,
        noPeerId: true,
        passkey: null,
        key: null,
        userAgent: null,
      },
    };
    await p.flush(); // an empty flush must not wedge later ones
    for (let i = 0; i < 5; i++) p.observe(o);
    expect(p.counts.dropped).toBe(2);
    await p.flush();
    expect(p.counts.failedBatches).toBe(1);
    fail = false;
    await p.flush();
    expect(published.map((e) => e.id)).toHaveLength(3);
    expect(new Set(published.map((e) => e.id)).size).toBe(3);
  });

  it('keys each distinct address and user agent of a batch once, looks each address up once, and every fact gets its own', async () => {
    const published: StreamEvent[] = [];
    const stream = {
      async publish(events: StreamEvent[]) {
        published.push(...events);
      },
      consume: async () => ({ pending: async () => 0, stop: async () => undefined }),
      close: async () => undefined,
    } as EventStream;
    const calls: string[] = [];
    const lookedUp: string[] = [];
    const p = new AnnounceFactPublisher({
      stream,
      ...deps,
      isDatacenter: (ip: string) => {
        lookedUp.push(ip);
        return ip === '10.0.0.2';
      },
      audienceKey: async (ip: string, ua: string, now: number) => {
        calls.push(`${ip} ${ua} ${now}`);
        return deps.audienceKey(`${ip}@${Math.floor(now / 86_400_000)}`, ua);
      },
    });
    const day = 86_400_000;
    const who = [
      ['10.0.0.1', 'a', 1],
      ['10.0.0.2', 'a', 2],
      ['10.0.0.1', 'b', 3],
      ['10.0.0.1', 'a', 4],
      ['10.0.0.1', 'a', day + 5],
      ['10.0.0.2', 'a', 6],
    ] as const;
    for (const [ip, ua, time] of who) {
      p.observe({
        time,
        uploadedDelta: 0,
        downloadedDelta: 0,
        request: {
          type: 'announce',
          transport: 'http',
          infoHash: 'bb'.repeat(20) as never,
          peerId: peerId(),
          ip,
          port: 1,
          uploaded: 0,
          downloaded: 0,
          left: 0,
          event: 'update',
          numwant: 0,
          compact: true,
          noPeerId: true,
          passkey: null,
          key: null,
          userAgent: ua,
        },
      });
    }
    await p.flush();
    expect(calls).toHaveLength(4); // (1,a), (2,a), (1,b), (1,a) the next day
    expect(lookedUp.sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(published.map((e) => (e.data as { datacenter: boolean }).datacenter)).toEqual(
      who.map(([ip]) => ip === '10.0.0.2'),
    );
    expect(published.map((e) => (e.data as { audienceKey: string }).audienceKey)).toEqual(
      who.map(([ip, ua, time]) => deps.audienceKey(`${ip}@${Math.floor(time / day)}`, ua)),
    );
  });
});

describe('announce fact records', () => {
  it('publishes each fact with what the injected functions return, strings JSON must escape included', async () => {
    const published: StreamEvent[] = [];
    const stream = {
      async publish(events: StreamEvent[]) {
        published.push(...events);
      },
      consume: async () => ({ pending: async () => 0, stop: async () => undefined }),
      close: async () => undefined,
    } as EventStream;
    // Real client ids (every family the classifier names, one beyond ASCII) and made-up
    // strings with characters JSON must escape.
    const ids = ['-qB4520-', '-UT3550-', '-PB0100-', 'A2-1-37-0-', 'M7-4-0--', 'S58B-----', 'xyz'];
    const families = [null, 'say "hi"\\', 'tab\there', 'é\u2028'];
    let n = 0;
    const p = new AnnounceFactPublisher({
      stream,
      audienceKey: (ip) => (ip === '10.0.0.3' ? ('"quoted" key' as AudienceKey) : deps.audienceKey(ip, '')),
      clientFamily: (id) => families[n++ % families.length] ?? clientFamilyFromPeerId(id),
      isDatacenter: (ip) => ip === '10.0.0.2',
    });
    const events = ['started', 'completed', 'stopped', 'update'] as const;
    const transports = ['http', 'udp', 'ws'] as const;
    for (let i = 0; i < 48; i++) {
      const id = Buffer.alloc(20, 0x41);
      id.write(ids[i % ids.length]!, 'latin1');
      p.observe({
        time: 1_765_000_000_000 + i,
        uploadedDelta: i % 3 === 0 ? 0 : 2 ** 53 - 1 - i,
        downloadedDelta: i * 1000,
        request: {
          type: 'announce',
          transport: transports[i % 3]!,
          infoHash: i.toString(16).padStart(40, '0') as never,
          peerId: new Uint8Array(id),
          ip: `10.0.0.${i % 4}`,
          port: 1,
          uploaded: 0,
          downloaded: 0,
          left: i % 2 === 0 ? 0 : 123_456_789_012,
          event: events[i % 4]!,
          numwant: 0,
          compact: true,
          noPeerId: true,
          passkey: null,
          key: null,
          userAgent: null,
        },
      });
    }
    await p.flush();
    expect(published).toHaveLength(48);
    expect(
      new Set(published.map((e) => (e.data as { clientFamily: string }).clientFamily)).size,
    ).toBeGreaterThan(6);
    for (const [i, e] of published.entries()) {
      const d = e.data as AnnounceFact;
      expect(d.datacenter).toBe(i % 4 === 2);
      if (i % 4 === 3) expect(d.audienceKey).toBe('"quoted" key');
      if (i % 4 === 1) expect(d.clientFamily).toBe('say "hi"\\');
      // The key order fact-records.ts lays out (its bytes are compared with these events').
      expect(Object.keys(e.data as object)).toEqual([
        'kind',
        'id',
        'time',
        'audienceKey',
        'datacenter',
        'infoHash',
        'event',
        'left',
        'uploadedDelta',
        'downloadedDelta',
        'clientFamily',
        'transport',
      ]);
    }
  });
});

describe('announce facts laid out as stream records', () => {
  // Observations with every kind of value a record holds: numbers of every size (and
  // non-integers from an odd clock), hex and non-hex strings, every event and transport,
  // injected strings that JSON must escape or that are beyond ASCII.
  function observations(count: number): AnnounceObservation[] {
    const ids = ['-qB4520-', '-UT3550-', 'A2-1-37-0-', 'M7-4-0--', 'xyz'];
    const events = ['started', 'completed', 'stopped', 'update'] as const;
    const transports = ['http', 'udp', 'ws'] as const;
    const numbers = [0, 1, 9, 10, 35, 36, 999, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1e21, 1.5, -3];
    return Array.from({ length: count }, (_, i) => {
      const id = Buffer.alloc(20, 0x41);
      id.write(ids[i % ids.length]!, 'latin1');
      return {
        time: i === 7 ? 1_765_000_000_000.5 : 1_765_000_000_000 + i,
        uploadedDelta: numbers[i % numbers.length]!,
        downloadedDelta: numbers[(i * 5) % numbers.length]!,
        request: {
          type: 'announce' as const,
          transport: transports[i % 3]!,
          infoHash: (i === 3 ? `é${'0'.repeat(39)}` : i.toString(16).padStart(40, '0')) as never,
          peerId: new Uint8Array(id),
          ip: `10.0.0.${i % 4}`,
          port: 1,
          uploaded: 0,
          downloaded: 0,
          left: numbers[(i * 3) % numbers.length]!,
          event: events[i % 4]!,
          numwant: 0,
          compact: true,
          noPeerId: true,
          passkey: null,
          key: null,
          userAgent: i % 5 === 0 ? 'ua' : null,
        },
      };
    });
  }

  function publisherDeps() {
    const families = [null, 'say "hi"\\', 'tab\there', 'é\u2028', '\u{1F600}'];
    let n = 0;
    return {
      audienceKey: (ip: string, ua: string) =>
        ip === '10.0.0.3' ? ('"quoted" kéy' as AudienceKey) : deps.audienceKey(ip, ua),
      clientFamily: (id: Uint8Array) => families[n++ % families.length] ?? clientFamilyFromPeerId(id),
      isDatacenter: (ip: string) => ip === '10.0.0.2',
    };
  }

  const eventStream = () => {
    const published: StreamEvent[] = [];
    return {
      published,
      stream: {
        async publish(events: StreamEvent[]) {
          published.push(...events);
        },
        consume: async () => ({ pending: async () => 0, stop: async () => undefined }),
        close: async () => undefined,
      } as EventStream,
    };
  };

  it('writes the bytes encodeStreamRecords writes for the same facts as events', async () => {
    const { stream: plain, published } = eventStream();
    const chunks: Array<{ records: Buffer; count: number }> = [];
    const encoded = {
      ...eventStream().stream,
      async publishEncoded(records: Buffer, count: number) {
        chunks.push({ records: Buffer.from(records), count });
      },
    } as EventStream;
    const a = new AnnounceFactPublisher({ stream: plain, ...publisherDeps(), batchSize: 40 });
    const b = new AnnounceFactPublisher({ stream: encoded, ...publisherDeps(), batchSize: 40 });
    for (const o of observations(100)) {
      a.observe(o);
      b.observe(o);
    }
    await a.flush();
    await b.flush();
    expect(published).toHaveLength(100);
    expect(chunks.map((c) => c.count)).toEqual([40, 40, 20]);
    // The same facts under the other publisher's nonce (ids are `<nonce>-<seq>`, both from 0).
    const nonceOf = (id: string) => id.slice(0, id.indexOf('-'));
    const nonceA = nonceOf(published[0]!.id);
    const first = chunks[0]!.records;
    const nonceB = nonceOf(JSON.parse(first.subarray(8, 8 + first.readUInt32BE(0)).toString()).i);
    const renamed = (id: string) => id.replace(nonceA, nonceB);
    const expected = encodeStreamRecords(
      published.map((e) => ({
        ...e,
        id: renamed(e.id),
        data: { ...(e.data as AnnounceFact), id: renamed((e.data as AnnounceFact).id) },
      })),
    );
    expect(Buffer.concat(chunks.map((c) => c.records)).equals(expected)).toBe(true);
  });

  it('retries a refused batch with the same records', async () => {
    let fail = true;
    const chunks: Buffer[] = [];
    const stream = {
      ...eventStream().stream,
      async publishEncoded(records: Buffer) {
        if (fail) throw new Error('stream down');
        chunks.push(Buffer.from(records));
      },
    } as EventStream;
    const p = new AnnounceFactPublisher({ stream, ...publisherDeps(), maxBacklog: 3, batchSize: 10 });
    const os = observations(5);
    for (const o of os) p.observe(o);
    expect(p.counts.dropped).toBe(2);
    await p.flush();
    expect(p.counts.failedBatches).toBe(1);
    p.observe(os[0]!); // the refused batch still counts against the bound
    expect(p.counts.dropped).toBe(3);
    fail = false;
    await p.flush();
    expect(p.counts.published).toBe(3);
    const ids = chunks.map((c) => JSON.parse(c.subarray(8, 8 + c.readUInt32BE(0)).toString()).i);
    expect(ids[0]).toMatch(/-0$/);
  });
});
