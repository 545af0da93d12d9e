import { request } from 'node:http';
import { type DownloadFact, openEventStream, type StreamEvent } from '@swarmcast/platform';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FactSink, streamFactSink } from '../src/index.ts';
import { type Fixture, originFixture } from './support.ts';

/**
 * A download's fact is durable before the response's last bytes are written, so a process
 * killed (SIGKILL) once a listener has the whole file has already stored the download.
 */

/** A sink whose durability the test decides: each push waits until `release()`. */
function gatedSink() {
  const facts: DownloadFact[] = [];
  const waiting: Array<(ok: boolean) => void> = [];
  const sink: FactSink & { facts: DownloadFact[]; release(): void } = {
    facts,
    push(fact) {
      facts.push(fact);
      return new Promise<boolean>((resolve) => waiting.push(resolve));
    },
    release() {
      for (const w of waiting.splice(0)) w(true);
    },
    flush: async () => {},
    stats: () => ({ published: facts.length, dropped: 0, queued: 0 }),
    close: async () => {},
  };
  return sink;
}

const SIZE = 1024 * 1024;

/** A GET over a real socket; reports bytes as they arrive and the end. */
function download(url: string, headers: Record<string, string> = {}) {
  let got = 0;
  let ended = false;
  const chunks: Buffer[] = [];
  const req = request(url, { headers: { 'user-agent': 'AntennaPod/3.2.0', ...headers } });
  const done = new Promise<Buffer>((resolve, reject) => {
    req.on('response', (res) => {
      res.on('data', (c: Buffer) => {
        got += c.length;
        chunks.push(c);
      });
      res.on('end', () => {
        ended = true;
        resolve(Buffer.concat(chunks));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.end();
  return { done, req, got: () => got, ended: () => ended };
}

describe('origin: the fact is durable before the last bytes', () => {
  let f: Fixture;
  let base: string;
  const gate = gatedSink();
  beforeAll(async () => {
    f = await originFixture({ 'episode.mp3': SIZE }, { facts: gate, durableWaitMs: 60_000 });
    base = await f.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    gate.release();
    await f?.close();
  });

  it('holds the last chunk until the fact of the whole body is durable, then sends it; one fact', async () => {
    gate.facts.length = 0;
    const d = download(`${base}/media/episode.mp3`);
    await waitFor(() => gate.facts.length === 1, 10_000, 'the fact pushed before the end');
    // The fact already claims every byte: it is what a kill from now on must not lose.
    expect(gate.facts[0]).toMatchObject({ status: 200, rangeStart: 0, rangeEnd: SIZE - 1, bytesSent: SIZE });
    // Not durable yet, so the listener does not have the whole file yet (and never gets it
    // while the fact is not durable: the wait here is 60 s).
    await waitFor(() => d.got() > 0, 10_000, 'the first bytes');
    await new Promise((r) => setTimeout(r, 200));
    expect(d.ended()).toBe(false);
    expect(d.got()).toBeLessThan(SIZE);
    gate.release();
    const body = await d.done;
    expect(body.equals(f.files['episode.mp3']!)).toBe(true);
    // The response's end pushes nothing more.
    await new Promise((r) => setTimeout(r, 50));
    expect(gate.facts).toHaveLength(1);
  });

  it('holds a range too, and a body of one chunk goes out whole once its fact is durable', async () => {
    gate.facts.length = 0;
    const d = download(`${base}/media/episode.mp3`, { range: 'bytes=1000-1999' });
    await waitFor(() => gate.facts.length === 1, 10_000, 'the range fact');
    expect(gate.facts[0]).toMatchObject({ status: 206, rangeStart: 1000, rangeEnd: 1999, bytesSent: 1000 });
    expect(d.got()).toBe(0);
    gate.release();
    expect((await d.done).equals(f.files['episode.mp3']!.subarray(1000, 2000))).toBe(true);
    expect(gate.facts).toHaveLength(1);
  });

  it('a listener who goes away while the last chunk is held is counted once, by the fact already pushed', async () => {
    gate.facts.length = 0;
    const d = download(`${base}/media/episode.mp3`);
    d.done.catch(() => {});
    await waitFor(() => gate.facts.length === 1, 10_000, 'the fact');
    const closed = new Promise((r) => d.req.once('close', r));
    d.req.destroy();
    await closed;
    gate.release();
    await new Promise((r) => setTimeout(r, 50));
    expect(gate.facts).toHaveLength(1);
  });
});

describe('origin: a stream that never acknowledges delays the end, never stops it', () => {
  let f: Fixture;
  let base: string;
  const gate = gatedSink();
  beforeAll(async () => {
    f = await originFixture({ 'episode.mp3': SIZE }, { facts: gate, durableWaitMs: 300 });
    base = await f.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    gate.release();
    await f?.close();
  });

  it('sends the last chunk after durableWaitMs', async () => {
    const d = download(`${base}/media/episode.mp3`);
    expect((await d.done).equals(f.files['episode.mp3']!)).toBe(true);
    expect(gate.facts).toHaveLength(1);
  });
});

describe('streamFactSink: push says when the fact is durable', () => {
  it('resolves true once the stream stored it (after a failed publish is retried), false when dropped', async () => {
    const dir = await scratchDir('swarmcast-factsink-');
    const real = await openEventStream({ dataDir: dir.path });
    let failures = 1;
    const stream = {
      ...real,
      publish: async (events: StreamEvent[]) => {
        if (failures-- > 0) throw new Error('stream unavailable');
        await real.publish(events);
      },
      consume: real.consume.bind(real),
      close: real.close.bind(real),
    };
    const errors: unknown[] = [];
    const sink = streamFactSink(stream, { maxDelayMs: 1, maxQueued: 2, onError: (e) => errors.push(e) });
    const fact = (id: string) => ({ id, kind: 'download' }) as unknown as DownloadFact;
    try {
      const results = [sink.push(fact('a')), sink.push(fact('b')), sink.push(fact('c'))];
      // Three queued with room for two: the oldest is dropped at once.
      expect(await results[0]).toBe(false);
      expect(await Promise.all(results.slice(1))).toEqual([true, true]);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      // Stored: a consumer reads exactly the two kept facts.
      const seen: string[] = [];
      const consumer = await real.consume('test', async (events) => {
        for (const e of events) seen.push(e.id);
      });
      await waitFor(() => seen.length === 2, 10_000, 'the stored facts');
      await consumer.stop();
      expect(seen).toEqual(['b', 'c']);
      expect(sink.stats()).toMatchObject({ published: 2, dropped: 1, queued: 0 });
    } finally {
      await sink.close();
      await real.close();
      await dir.remove();
    }
  });
});
