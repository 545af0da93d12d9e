/**
 * Event stream throughput and publish latency, ours beside the reference, in one run:
 *
 * - embedded: our write-ahead stream vs the raw floor of the same disk work (the same
 *   records appended to one file with one fdatasync per publish call, no groups, no reads).
 * - NATS: our JetStream stream vs raw nats.js on the same server (js.publish with msgID,
 *   then a durable pull consumer acking each message).
 *
 * Producers publish concurrently (STREAM_BENCH_PRODUCERS, default 8) in batches of
 * STREAM_BENCH_BATCH (default 20) until STREAM_BENCH_EVENTS (default 40,000) are published,
 * while one consumer group drains them. Reported: events/s published+consumed (first publish
 * to last event consumed), p50/p99 of publish() latency, median of STREAM_BENCH_RUNS (3).
 * The machine is shared: quote medians, compare only within one run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { requireServices, scratchDir, serviceUrl } from '@swarmcast/testkit';
import { AckPolicy, connect, DeliverPolicy, nanos, StorageType } from 'nats';
import { type OpenEventStreamOptions, openEventStream, type StreamEvent } from '../src/index.ts';

const EVENTS = Number(process.env.STREAM_BENCH_EVENTS ?? 40_000);
const PRODUCERS = Number(process.env.STREAM_BENCH_PRODUCERS ?? 8);
const BATCH = Number(process.env.STREAM_BENCH_BATCH ?? 20);
const RUNS = Number(process.env.STREAM_BENCH_RUNS ?? 3);

interface Result {
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};

function makeEvents(run: string): StreamEvent[][] {
  const batches: StreamEvent[][] = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    batches.push(
      Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, k) => ({
        id: `${run}-${i + k}`,
        subject: 'fact.download',
        data: { path: 'show/ep.mp3', status: 206, bytesSent: 65536, audienceKey: 'a'.repeat(64), n: i + k },
      })),
    );
  }
  return batches;
}

/** Runs PRODUCERS workers over the batches; returns per-call latencies in ms. */
async function produce(
  batches: StreamEvent[][],
  publish: (b: StreamEvent[]) => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < batches.length) {
        const b = batches[next++]!;
        const t = performance.now();
        await publish(b);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return latencies;
}

async function ours(options: OpenEventStreamOptions, run: string): Promise<Result> {
  const stream = await openEventStream(options);
  let consumed = 0;
  let allConsumed!: () => void;
  const done = new Promise<void>((r) => {
    allConsumed = r;
  });
  const consumer = await stream.consume(
    `bench${run.replace(/[^A-Za-z0-9]/g, '')}`,
    async (events) => {
      consumed += events.length;
      if (consumed >= EVENTS) allConsumed();
    },
    { batchSize: 500 },
  );
  const batches = makeEvents(run);
  const t0 = performance.now();
  const latencies = await produce(batches, (b) => stream.publish(b));
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await consumer.stop();
  await stream.close();
  return { eventsPerSec: EVENTS / seconds, p50Ms: pct(latencies, 0.5), p99Ms: pct(latencies, 0.99) };
}

/** The floor of the embedded engine's disk work: append + fdatasync per publish call. */
async function rawFile(dir: string, run: string): Promise<Result> {
  const fh = await open(join(dir, `raw-${run}.log`), 'a');
  const batches = makeEvents(run);
  let chain = Promise.resolve();
  const t0 = performance.now();
  const latencies = await produce(batches, (b) => {
    const buf = Buffer.from(b.map((e) => `${JSON.stringify(e)}\n`).join(''));
    // One file, writes serialised as a real log must be.
    chain = chain.then(async () => {
      await fh.write(buf);
      await fh.datasync();
    });
    return chain;
  });
  const seconds = (performance.now() - t0) / 1000;
  await fh.close();
  return { eventsPerSec: EVENTS / seconds, p50Ms: pct(latencies, 0.5), p99Ms: pct(latencies, 0.99) };
}

async function rawNats(run: string): Promise<Result> {
  const nc = await connect({ servers: serviceUrl('nats') });
  const jsm = await nc.jetstreamManager();
  const name = `RAWBENCH_${run}`.toUpperCase().replace(/[^A-Z0-9_]/g, '');
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], storage: StorageType.File });
  await jsm.consumers.add(name, {
    durable_name: 'bench',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 20_000,
  });
  const js = nc.jetstream();
  const messages = await (await js.consumers.get(name, 'bench')).consume({ max_messages: 1000 });
  let consumed = 0;
  const done = (async () => {
    for await (const m of messages) {
      m.ack();
      if (++consumed >= EVENTS) break;
    }
  })();
  const enc = new TextEncoder();
  const batches = makeEvents(run);
  const t0 = performance.now();
  const latencies = await produce(batches, async (b) => {
    await Promise.all(
      b.map((e) =>
        js.publish(`${name.toLowerCase()}.${e.subject}`, enc.encode(JSON.stringify(e)), { msgID: e.id }),
      ),
    );
  });
  await done;
  const seconds = (performance.now() - t0) / 1000;
  messages.stop();
  await jsm.streams.delete(name);
  await nc.close();
  return { eventsPerSec: EVENTS / seconds, p50Ms: pct(latencies, 0.5), p99Ms: pct(latencies, 0.99) };
}

function summarise(name: string, results: Result[]) {
  return {
    engine: name,
    eventsPerSec: Math.round(median(results.map((r) => r.eventsPerSec))),
    p50Ms: Number(median(results.map((r) => r.p50Ms)).toFixed(2)),
    p99Ms: Number(median(results.map((r) => r.p99Ms)).toFixed(2)),
  };
}

async function main() {
  console.log(`events ${EVENTS}, producers ${PRODUCERS}, batch ${BATCH}, runs ${RUNS} (medians)`);
  const rows: ReturnType<typeof summarise>[] = [];
  const dir = await scratchDir('swarmcast-stream-bench-');
  try {
    const emb: Result[] = [];
    const raw: Result[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = `e${i}${randomBytes(2).toString('hex')}`;
      emb.push(await ours({ dataDir: join(dir.path, run) }, run));
      raw.push(await rawFile(dir.path, run));
    }
    rows.push(summarise('embedded (ours)', emb), summarise('append+fdatasync per call (floor)', raw));
  } finally {
    await dir.remove();
  }
  const nats = await requireServices('stream bench on NATS', 'nats');
  if (!nats.skip) {
    const ourNats: Result[] = [];
    const raw: Result[] = [];
    for (let i = 0; i < RUNS; i++) {
      const tag = `B${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.toUpperCase();
      ourNats.push(
        await ours(
          { natsUrl: serviceUrl('nats'), streamName: `SC_${tag}`, subjectPrefix: `sc${tag.toLowerCase()}` },
          tag,
        ),
      );
      const nc = await connect({ servers: serviceUrl('nats') });
      await (await nc.jetstreamManager()).streams.delete(`SC_${tag}`).catch(() => {});
      await nc.close();
      raw.push(await rawNats(`r${tag}`));
    }
    rows.push(
      summarise('NATS JetStream (ours)', ourNats),
      summarise('raw nats.js JetStream (reference)', raw),
    );
  }
  console.table(rows);
  const ratio = (a: string, b: string) => {
    const x = rows.find((r) => r.engine.startsWith(a));
    const y = rows.find((r) => r.engine.startsWith(b));
    return x && y ? Number((x.eventsPerSec / y.eventsPerSec).toFixed(2)) : null;
  };
  const ratios = { embeddedVsFloor: ratio('embedded', 'append'), natsVsRaw: ratio('NATS', 'raw nats') };
  console.log('ratios (events/s, ours / reference):', ratios);
  const out = join(import.meta.dirname, '../../../bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'platform-stream.json'),
    `${JSON.stringify({ at: new Date().toISOString(), EVENTS, PRODUCERS, BATCH, RUNS, rows, ratios }, null, 2)}\n`,
  );
}

await main();
