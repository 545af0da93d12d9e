import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStream, type PlatformError, type StreamEvent } from '../src/index.ts';
import { validSubject } from '../src/stream/subjects.ts';
import {
  decodeRecord,
  encodeRecords,
  HEADER_BYTES,
  peekSubject,
  recordEnvelope,
  sealRecord,
} from '../src/stream/wal-format.ts';
import { WalLog, WalReader } from '../src/stream/wal-log.ts';

/** What only the embedded engine promises: its files (torn tails, retention, the lock). */
describe('embedded event stream files', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => {
    dir = await scratchDir('swarmcast-wal-');
  });
  afterEach(async () => {
    await dir.remove();
  });
  const logDir = () => join(dir.path, 'stream', 'log');
  const segments = async () => (await readdir(logDir())).filter((f) => f.endsWith('.log')).sort();
  const events = (n: number, from = 0): StreamEvent[] =>
    Array.from({ length: n }, (_, i) => ({ id: `e${from + i}`, subject: 'fact.x', data: { n: from + i } }));

  it('truncates a torn record at the tail and carries on numbering after it', async () => {
    let s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(10));
    await s.close();
    const seg = (await segments()).at(-1)!;
    // A crash mid-write: a header promising 100 bytes and 3 bytes of payload.
    await appendFile(join(logDir(), seg), Buffer.from([0, 0, 0, 100, 1, 2, 3, 4, 9, 9, 9]));
    s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(1, 10));
    const seen: string[] = [];
    const c = await s.consume('torn', async (b) => {
      for (const e of b) seen.push(e.id);
    });
    await waitFor(() => seen.length === 11, 10_000, '11 events');
    expect(seen).toEqual(events(11).map((e) => e.id));
    await c.stop();
    await s.close();
  });

  it('drops everything after a hole left by commits that finished out of order', async () => {
    let s = await openEventStream({ dataDir: dir.path });
    // Concurrent publishes: several commits in flight at once, acknowledged in log order.
    await Promise.all(events(40).map((e) => s.publish([e])));
    await s.close();
    const seg = join(logDir(), (await segments()).at(-1)!);
    const bytes = await readFile(seg);
    // Record boundaries (u32 length + u32 crc + payload).
    const starts: number[] = [];
    for (let pos = 0; pos < bytes.length; pos += 8 + bytes.readUInt32BE(pos)) starts.push(pos);
    expect(starts).toHaveLength(40);
    const inFile = starts.map(
      (at) =>
        (JSON.parse(bytes.subarray(at + 8, at + 8 + bytes.readUInt32BE(at)).toString()) as { i: string }).i,
    );
    expect(new Set(inFile)).toEqual(new Set(events(40).map((e) => e.id)));
    // A crash after records 23.. reached the disk but 20..22 did not: zeros where they were.
    const holed = Buffer.from(bytes);
    holed.fill(0, starts[20], starts[23]);
    await writeFile(seg, holed);
    s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(1, 100));
    const seen: string[] = [];
    const c = await s.consume('holed', async (b) => {
      for (const e of b) seen.push(e.id);
    });
    await waitFor(() => seen.length === 21, 10_000, '21 events');
    await new Promise((r) => setTimeout(r, 200));
    // Exactly the 20 records before the hole survive, then the new one.
    expect(seen).toEqual([...inFile.slice(0, 20), 'e100']);
    await c.stop();
    await s.close();
  });

  it('removes old segments once every group has acknowledged them, and not before', async () => {
    const s = await openEventStream({ dataDir: dir.path, segmentBytes: 4096 });
    let fastCount = 0;
    const fast = await s.consume('fast', async (b) => {
      fastCount += b.length;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = await s.consume('slow', async () => gate);
    for (let k = 0; k < 20; k++) await s.publish(events(50, k * 50));
    await waitFor(() => fastCount === 1000, 10_000, 'the fast group to ack everything');
    const before = (await segments()).length;
    expect(before).toBeGreaterThan(5);
    await new Promise((r) => setTimeout(r, 300));
    // The slow group has acked nothing: every segment must still be there.
    expect((await segments()).length).toBe(before);
    release();
    await waitFor(async () => (await segments()).length <= 2, 10_000, 'old segments removed');
    await Promise.all([fast.stop(), slow.stop()]);
    await s.close();
  });

  it('a reader that has read a segment to its last event goes on when retention drops that segment', async () => {
    // Seen in the beacons bench: PLT_WAL_CORRUPT "segment 0 was removed under a reader", the
    // group's floor had reached the next segment's first event and the trim ran between reads.
    const log = await WalLog.open(join(dir.path, 'log'), { segmentBytes: 2048 });
    for (let i = 0; log.segments.length < 3; i++) await log.append(events(1, i));
    const boundary = log.segments[1]!;
    const reader = new WalReader(log, 0);
    const first = await reader.read(boundary);
    expect(first.map((r) => r.seq)).toEqual(Array.from({ length: boundary }, (_, i) => i));
    expect(await log.dropBelow(boundary)).toBe(1);
    const next = await reader.read(3);
    expect(next.map((r) => r.event.id)).toEqual(events(3, boundary).map((e) => e.id));
    // Dropping a segment the reader has not finished is still reported, not skipped.
    const behind = new WalReader(log, boundary);
    await log.dropBelow(log.segments[1]!);
    await expect(behind.read(1)).rejects.toMatchObject({ code: 'PLT_WAL_CORRUPT' });
    await reader.close();
    await behind.close();
    await log.close();
  });

  it('publishEncoded writes records laid out elsewhere as they are, and refuses bytes that are not exactly that many', async () => {
    const s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(2));
    await s.publishEncoded!(encodeRecords(events(3, 2)), 3);
    const torn = encodeRecords(events(2, 5));
    await expect(s.publishEncoded!(torn.subarray(0, torn.length - 1), 2)).rejects.toMatchObject({
      code: 'PLT_STREAM_BAD_EVENT',
    });
    await expect(s.publishEncoded!(torn, 3)).rejects.toMatchObject({ code: 'PLT_STREAM_BAD_EVENT' });
    await expect(s.publishEncoded!(Buffer.from([0, 0, 0, 0, 1, 2, 3, 4]), 1)).rejects.toMatchObject({
      code: 'PLT_STREAM_BAD_EVENT',
    });
    await s.publish(events(1, 7));
    const seen: StreamEvent[] = [];
    const c = await s.consume('encoded', async (b) => {
      seen.push(...b);
    });
    await waitFor(() => seen.length === 6, 10_000, '6 events');
    await new Promise((r) => setTimeout(r, 200));
    // The refused batches left nothing behind: the next event follows the encoded ones.
    expect(seen.map((e) => [e.id, e.data])).toEqual(
      [...events(5), ...events(1, 7)].map((e) => [e.id, e.data]),
    );
    await c.stop();
    await s.close();
  });

  it('lets one process own a stream directory at a time', async () => {
    const s = await openEventStream({ dataDir: dir.path });
    const err = await openEventStream({ dataDir: dir.path }).catch((e: unknown) => e);
    expect((err as PlatformError).code).toBe('PLT_STREAM_LOCKED');
    await s.close();
    const again = await openEventStream({ dataDir: dir.path });
    await again.close();
  });

  it('resumes a group from its persisted floor after a clean restart', async () => {
    let s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(100));
    const first: string[] = [];
    const c = await s.consume('resume', async (b) => {
      for (const e of b) first.push(e.id);
    });
    await waitFor(() => first.length === 100, 10_000, 'first pass');
    await c.stop();
    await s.close();
    s = await openEventStream({ dataDir: dir.path });
    await s.publish(events(5, 100));
    const second: string[] = [];
    const c2 = await s.consume('resume', async (b) => {
      for (const e of b) second.push(e.id);
    });
    await waitFor(() => second.length === 5, 10_000, 'only the new events');
    await new Promise((r) => setTimeout(r, 200));
    expect(second).toEqual(events(5, 100).map((e) => e.id));
    await c2.stop();
    await s.close();
  });
});

describe('write-ahead record encoding', () => {
  it('gives a publisher that lays out its own records the same frame encodeRecords writes', () => {
    const event: StreamEvent = { id: 'n0nce-1z', subject: 'fact.announce', data: { kind: 'x', t: 'é🎧"' } };
    const env = recordEnvelope(event.subject);
    const payload = `${env.beforeId}${event.id}${env.beforeData}${JSON.stringify(event.data)}${env.after}`;
    const buf = Buffer.alloc(HEADER_BYTES + Buffer.byteLength(payload) + 5, 0xee);
    const end = HEADER_BYTES + buf.write(payload, HEADER_BYTES, 'utf8');
    sealRecord(buf, 0, end);
    expect(buf.subarray(0, end)).toEqual(encodeRecords([event]));
    // Subjects a record would have to escape (or that the stream refuses) are refused.
    for (const bad of ['a"b', 'a\\b', 'fact. x', '', 'a..b']) expect(() => recordEnvelope(bad)).toThrow();
  });

  it('encodes a batch as its records one by one, back to back (multi-byte text too)', () => {
    const batch: StreamEvent[] = [
      { id: 'a', subject: 'fact.x', data: { n: 1 } },
      { id: 'é-2', subject: 'fact.y', data: { title: 'Ça marche — 🎧 podcast', list: [1, 'ü', null] } },
      { id: 'c', subject: 'beacon.play', data: 'plain string' },
    ];
    const all = encodeRecords(batch);
    expect(all).toEqual(Buffer.concat(batch.map((e) => encodeRecords([e]))));
    let pos = 0;
    const back: StreamEvent[] = [];
    while (pos < all.length) {
      const step = decodeRecord(all, pos);
      if (step.kind !== 'record') throw new Error(`record at ${pos}: ${JSON.stringify(step)}`);
      back.push(step.event);
      pos += step.bytes;
    }
    expect(pos).toBe(all.length);
    expect(back).toEqual(batch);
    expect(encodeRecords([])).toHaveLength(0);
  });
});

describe('a group that wants some subjects passes over the others unparsed', () => {
  /** Ids a publisher may use (checkEvents: any string up to 200), the awkward ones. */
  const ids = [
    'a',
    'q"uote',
    'back\\slash\\',
    'ctl\u0001\n',
    'é🎧',
    '","s":"fake.subject',
    '\\"',
    'u\\u0022x',
  ];

  it('peekSubject reads the subject of every record encodeRecords lays out', () => {
    for (const id of ids) {
      for (const subject of ['beacon.ad', 'fact.x', 'a', 'ads.measured-delivery_2', 'x'.repeat(200)]) {
        const record = encodeRecords([{ id, subject, data: { id, n: 1 } }]);
        expect(peekSubject(record.subarray(8)), `${JSON.stringify(id)} ${subject}`).toBe(subject);
        const step = decodeRecord(record, 0, (s) => s !== subject);
        expect(step).toEqual({ kind: 'skipped', bytes: record.length });
        expect(decodeRecord(record, 0, (s) => s === subject).kind).toBe('record');
      }
    }
  });

  it('peekSubject gives null or a valid subject for damaged and hostile payloads, never throws', () => {
    const seed = Date.now() >>> 0;
    let x = seed || 1;
    const rand = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const hostile = [
      '',
      '{',
      '{"i":"',
      '{"i":"a"',
      '{"i":"a","s":"',
      '{"i":"a","s":""}',
      '{"i":"a","s":"b c"}',
      '{"i":"a","s":"b\\"c"}',
      `{"i":"a","s":"${'x'.repeat(201)}"}`,
      '{"s":"a","i":"b"}',
      '{ "i":"a","s":"b"}',
      '{"i":1,"s":"b"}',
      '{"i":"a\\","s":"b"}',
      '{"i":"a","s":"é"}',
    ];
    for (const text of hostile) {
      const got = peekSubject(Buffer.from(text));
      expect(got === null || validSubject(got), `${text} -> ${got}`).toBe(true);
    }
    expect(peekSubject(Buffer.from('{"i":"a\\"b","s":"c.d","d":1}'))).toBe('c.d');
    for (let round = 0; round < 20_000; round++) {
      const id = ids[rand(ids.length)]!;
      const payload = Buffer.from(
        encodeRecords([{ id, subject: 'beacon.ad', data: { n: round } }]).subarray(8),
      );
      const cut = payload.subarray(0, rand(payload.length + 1));
      for (let k = rand(3); k > 0 && cut.length > 0; k--) cut[rand(cut.length)] = rand(256);
      const got = peekSubject(cut);
      if (got !== null && !validSubject(got))
        throw new Error(`seed ${seed} round ${round}: ${JSON.stringify(got)}`);
    }
  });

  it('delivers exactly its subjects in order beside an unfiltered group, on a log of awkward ids', async () => {
    const dir = await scratchDir('swarmcast-wal-peek-');
    try {
      const s = await openEventStream({ dataDir: dir.path });
      const all: StreamEvent[] = Array.from({ length: 3000 }, (_, i) => ({
        id: `${ids[i % ids.length]}-${i}`,
        subject: i % 7 === 0 ? 'ads.measured' : i % 2 ? 'beacon.ad' : 'fact.announce',
        data: { i },
      }));
      for (let i = 0; i < all.length; i += 250) await s.publish(all.slice(i, i + 250));
      const some: string[] = [];
      const every: string[] = [];
      const c1 = await s.consume('some', async (b) => void some.push(...b.map((e) => e.id)), {
        subjects: ['ads.'],
        batchSize: 50,
      });
      const c2 = await s.consume('every', async (b) => void every.push(...b.map((e) => e.id)), {
        batchSize: 50,
      });
      const want = all.filter((e) => e.subject === 'ads.measured').map((e) => e.id);
      await waitFor(() => some.length === want.length && every.length === all.length, 20_000, 'both groups');
      expect(some).toEqual(want);
      expect(every).toEqual(all.map((e) => e.id));
      expect(await c1.pending()).toBe(0);
      await c1.stop();
      await c2.stop();
      await s.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('write-ahead recovery, property test', () => {
  it('recovers a whole-record prefix from any torn or damaged tail, never more', async () => {
    const seed = Number(process.env.WAL_FUZZ_SEED ?? Date.now() % 100_000);
    let state = seed;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    for (let round = 0; round < 12; round++) {
      const dir = await scratchDir('swarmcast-walfuzz-');
      try {
        let s = await openEventStream({ dataDir: dir.path });
        const n = 5 + rand(20);
        await s.publish(
          Array.from({ length: n }, (_, i) => ({
            id: `f${i}`,
            subject: 'fact.x',
            data: { i, pad: 'x'.repeat(rand(50)) },
          })),
        );
        await s.close();
        const logDir = join(dir.path, 'stream', 'log');
        const seg = join(logDir, (await readdir(logDir)).find((f) => f.endsWith('.log'))!);
        const bytes = await readFile(seg);
        // Cut the file somewhere, then maybe flip a byte after the cut point's record start.
        const cut = rand(bytes.length + 1);
        const damaged = Buffer.from(bytes.subarray(0, cut));
        if (damaged.length > 0 && rand(2) === 0) {
          const at = rand(damaged.length);
          damaged[at] = damaged[at]! ^ 0xff;
        }
        await writeFile(seg, damaged);
        s = await openEventStream({ dataDir: dir.path });
        const seen: string[] = [];
        const c = await s.consume('fuzz', async (b) => {
          for (const e of b) seen.push(e.id);
        });
        await new Promise((r) => setTimeout(r, 150));
        await c.stop();
        // Whatever survived is exactly the first k events, in order, for some k <= n.
        expect(seen, `seed ${seed} round ${round}`).toEqual(
          Array.from({ length: seen.length }, (_, i) => `f${i}`),
        );
        expect(seen.length).toBeLessThanOrEqual(n);
        // And the log takes new events after the repaired tail.
        await s.publish([{ id: 'after', subject: 'fact.x', data: 1 }]);
        await s.close();
      } finally {
        await dir.remove();
      }
    }
  });
});
