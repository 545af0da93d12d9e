/**
 * Beacons per second into the collector with zero loss, beside the raw ceiling of the same
 * store in the same run:
 *
 * 1. collector -> stream: wrk (its own process, 127.0.0.1; autocannon in a worker thread when
 *    wrk is not installed) fires ad beacons at the collector for MEASURE_BENCH_SECONDS over
 *    MEASURE_BENCH_CONNECTIONS keep-alive connections, each one player with one beacon in
 *    flight; every 204 means durable. One beacon a request, as the player sends them (each
 *    VAST tracking URL is its own GET, fetch with keepalive; a play beacon is one POST): the
 *    collector has no batch form, so beacons/s is requests/s. Reported: beacons/s,
 *    p50/p99 acknowledge latency, and loss = acknowledged beacons missing from the stream
 *    (counted back by a consumer; must be 0). Ceiling: `stream.publish` of the same events
 *    in batches of 1000 from this process, no HTTP.
 *    Also the HTTP path alone (a stream that stores nothing) and, with wrk, the collector's
 *    CPU per beacon (process.cpuUsage over the run / answered beacons): on a shared machine
 *    the CPU cost says more than the rate.
 * 2. pipeline -> database: the first MEASURE_BENCH_PIPELINE events through processBatch,
 *    beside a raw multi-row INSERT of as many rows into a plain table of the same database.
 *
 * 3. keeping up: MEASURE_BENCH_LAG_SECONDS (60) of beacons at MEASURE_BENCH_LAG_RATE (2000/s,
 *    autocannon at a fixed rate over MEASURE_BENCH_LAG_CONNECTIONS, default one per 4/s of
 *    the rate) into the collector while the pipeline consumes the stream into the database
 *    as in a node (processBatch per consumed batch); the consumer's lag (acknowledged but not
 *    yet processed) is printed every 5 s and must not keep growing, then how long the
 *    pipeline took to drain it once the load stopped. Embedded stream + PGlite only.
 *
 * Engines: the embedded write-ahead stream + PGlite, and NATS JetStream + PostgreSQL when
 * they answer on 127.0.0.1 (skipped with a reason otherwise). Env: MEASURE_BENCH_SECONDS (10),
 * MEASURE_BENCH_CONNECTIONS (256), MEASURE_BENCH_PIPELINE (5000), MEASURE_BENCH_PIPELINING (1). The machine is shared:
 * quote medians of several runs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateSigningKey, signDecision } from '@swarmcast/ads';
import { ledgerMigrations } from '@swarmcast/ledger';
import {
  type AudienceKey,
  createAudienceKeys,
  type Db,
  type EventStream,
  loadAddressList,
  memorySaltStore,
  migrate,
  openDb,
  openEventStream,
  type StreamEvent,
  systemClock,
} from '@swarmcast/platform';
import { requireServices, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { connect } from 'nats';
import { collectorRoutes } from '../src/collect/collector.ts';
import { edgeClassifier } from '../src/collect/edge.ts';
import { measureMigrations } from '../src/pipeline/migrations.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';

const seconds = Number(process.env.MEASURE_BENCH_SECONDS ?? 10);
const connections = Number(process.env.MEASURE_BENCH_CONNECTIONS ?? 256);
const pipelineEvents = Number(process.env.MEASURE_BENCH_PIPELINE ?? 5000);
// Requests in flight per connection: connections x pipelining stands for as many concurrent players.
const pipelining = Number(process.env.MEASURE_BENCH_PIPELINING ?? 1);
const lagSeconds = Number(process.env.MEASURE_BENCH_LAG_SECONDS ?? 60);
const lagRate = Number(process.env.MEASURE_BENCH_LAG_RATE ?? 2000);
// autocannon's rate is per connection and each connection waits for its answer: with 50
// connections (40/s each) an answer slower than 25 ms held the rate at ~1,000/s (the
// keeping-up phase asked 2000/s and sent 996/s at load 11). 4/s a connection leaves 250 ms.
const lagConnections = Number(process.env.MEASURE_BENCH_LAG_CONNECTIONS ?? Math.ceil(lagRate / 4));

const key = generateSigningKey('bench');
const token = signDecision(
  {
    v: 1,
    decisionId: 'bench-decision',
    adId: 'ad',
    lineItemId: 'li',
    campaignId: 'camp',
    advertiserId: 'adv',
    episodeId: 'ep',
    showId: 'show',
    creatorId: 'creator',
    breakId: 'pre',
    position: 'pre',
    podSequence: 1,
    creativeDurationMs: 30_000,
    cpmMicros: 20_000_000,
    listenerId: 'bench-listener',
    issuedAt: 0,
    expiresAt: 8.64e15,
  },
  key,
);
/**
 * The collector classifies each sender as the node does (edgeClassifier: the day's audience
 * key, an HMAC of address and user agent; the client class; the data-centre list), from a
 * browser's user agent sent with every beacon. A constant stand-in saved ~5-7 us a beacon
 * the node pays. Salts in memory: per beacon the same cached lookup as the node's file store.
 */
const nodeEdge = edgeClassifier(createAudienceKeys(memorySaltStore()), await loadAddressList(null));
const browserUserAgent =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
/** What the edge learned, in events written to the stream directly (the ceilings). */
const edge = () => ({
  audienceKey: 'a'.repeat(64) as AudienceKey,
  client: { app: 'Bench', device: 'computer', os: 'Linux', bot: false },
  datacenter: false,
});

/** An event shaped like what the collector publishes. */
const beaconEvent = (id: string): StreamEvent => ({
  id,
  subject: 'beacon.ad',
  data: {
    kind: 'ad',
    id,
    receivedAt: Date.now(),
    event: 'pause',
    token,
    ts: null,
    adPlayheadMs: 12_000,
    offsetMs: null,
    errorCode: null,
    ...edge(),
  },
});

/** The store alone: batches of 1000 from four concurrent publishers, no HTTP. */
async function ceiling(stream: EventStream, tag: string): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const from = n;
        n += 1000;
        await stream.publish(Array.from({ length: 1000 }, (_, i) => beaconEvent(`${tag}-${from + i}`)));
      }
    }),
  );
  return n / ((Date.now() - started) / 1000);
}

/** Counts the events a fresh group receives until nothing new comes for a second. */
async function countStored(stream: EventStream, group: string, subjects: string[]): Promise<StreamEvent[]> {
  const got: StreamEvent[] = [];
  const c = await stream.consume(
    group,
    async (events) => {
      for (const e of events) got.push(e);
    },
    { subjects, batchSize: 100 },
  );
  let last = -1;
  const deadline = Date.now() + 120_000;
  while (got.length !== last && Date.now() < deadline) {
    last = got.length;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await c.stop();
  return got;
}

async function collectorRun(stream: EventStream) {
  const app = Fastify();
  const collector = collectorRoutes(app, { stream, edge: nodeEdge, clock: systemClock });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // Warm up (JIT, connection pools) before measuring; those beacons are stored too.
  const url = `http://127.0.0.1:${port}/beacon/ad/pause?t=${token}&ah=00:00:12.000`;
  const load = (duration: number) => (hasWrk ? wrkLoad(url, duration) : autocannonLoad(url, duration));
  const warm = await load(2);
  const cpu = process.cpuUsage();
  const r = await load(seconds);
  const used = process.cpuUsage(cpu);
  await app.close();
  await collector.close();
  return {
    loadGenerator: hasWrk ? 'wrk' : 'autocannon',
    beaconsPerSecond: r.beaconsPerSecond,
    acknowledged: r.acknowledged,
    warmupAcknowledged: warm.acknowledged,
    non2xx: r.non2xx,
    errors: r.errors,
    latencyP50Ms: r.latencyP50Ms,
    latencyP99Ms: r.latencyP99Ms,
    // The collector's own CPU per answered beacon (wrk runs in its own process; autocannon's
    // worker thread would be counted too). Less sensitive to the machine's load than rates.
    cpuMicrosPerBeacon: hasWrk ? (used.user + used.system) / Math.max(1, r.acknowledged + r.non2xx) : null,
  };
}

/** A stream that stores nothing: the collector's HTTP path alone, for its cost per beacon. */
const nullStream: EventStream = {
  publish: async () => {},
  consume: async () => {
    throw new Error('the null stream has no consumers');
  },
  close: async () => {},
};

interface LoadResult {
  beaconsPerSecond: number;
  acknowledged: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec((text ?? '').trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/**
 * Every beacon the bench sends is a new one: a beacon without a cache-buster is identified by
 * what it carries (a retry of the same URL is the same event, folded by the stream and the
 * pipeline), so identical URLs would measure one event stored many times.
 */
let runs = 0;
function uniqueBeaconsScript(): string {
  const tag = `${process.pid}-${++runs}`;
  const path = join(tmpdir(), `measure-bench-${tag}.lua`);
  writeFileSync(
    path,
    `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, wrk.path .. "&cb=${tag}-" .. n)\nend\n`,
  );
  return path;
}

/** wrk in C costs the shared machine far less CPU than a JavaScript load generator. */
async function wrkLoad(url: string, duration: number): Promise<LoadResult> {
  const script = uniqueBeaconsScript();
  const { stdout } = await promisify(execFile)(
    'wrk',
    [
      '-t',
      '1',
      '-c',
      String(connections),
      '-d',
      `${duration}s`,
      '--latency',
      '-H',
      `User-Agent: ${browserUserAgent}`,
      '--timeout',
      '10s',
      '-s',
      script,
      url,
    ],
    { maxBuffer: 1 << 20 },
  ).finally(() => rmSync(script, { force: true }));
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    beaconsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    acknowledged: requests - non2xx,
    non2xx,
    errors,
    latencyP50Ms: toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1]),
    latencyP99Ms: toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1]),
  };
}

async function autocannonLoad(url: string, duration: number): Promise<LoadResult> {
  // (`pipelining` is an autocannon option the shared type declaration does not list.)
  // [<id>] becomes a fresh id in every request (see uniqueBeaconsScript).
  const options = {
    url: `${url}&cb=[<id>]`,
    headers: { 'user-agent': browserUserAgent },
    idReplacement: true,
    connections,
    pipelining,
    duration,
    workers: 1,
  };
  const r = (await autocannon(options)) as autocannon.Result & Record<string, number>;
  return {
    beaconsPerSecond: r.requests.average,
    acknowledged: r['2xx'] ?? 0,
    non2xx: r.non2xx,
    errors: r.errors,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
  };
}

async function dbCeiling(db: Db, rows: number): Promise<number> {
  await db.query(
    'CREATE TABLE IF NOT EXISTS bench_raw (id text PRIMARY KEY, subject text, received_at bigint, data jsonb)',
  );
  const started = Date.now();
  for (let i = 0; i < rows; i += 100) {
    const ids = Array.from({ length: Math.min(100, rows - i) }, (_, j) => `raw-${i + j}`);
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO bench_raw SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[])`,
        [
          ids,
          ids.map(() => 'beacon.ad'),
          ids.map(() => Date.now()),
          ids.map((id) => JSON.stringify(beaconEvent(id).data)),
        ],
      );
    });
  }
  return rows / ((Date.now() - started) / 1000);
}

async function pipelineRun(db: Db, events: StreamEvent[]): Promise<number> {
  const publicKeys = new Map([[key.keyId, key.publicKey]]);
  const started = Date.now();
  for (let i = 0; i < events.length; i += 100) {
    const batch = events.slice(i, i + 100);
    await db.transaction((tx) => processBatch(tx, batch, { publicKeys: () => publicKeys }));
  }
  return events.length / ((Date.now() - started) / 1000);
}

/**
 * Beacons at a fixed rate into the collector while a consumer runs the pipeline into the
 * database, as a node does; samples the consumer's lag every 5 s.
 */
async function lagRun(): Promise<{
  rate: number;
  samples: Array<{ atS: number; lag: number }>;
  /** Seconds from the end of the load until the lag was 0 (null: not within 120 s). */
  drainedAfterS: number | null;
  processed: number;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'measure-lag-'));
  const stream = await openEventStream({ dataDir: dir });
  const db = await openDb({ inMemory: true });
  try {
    await migrate(db, [...ledgerMigrations, ...measureMigrations]);
    const publicKeys = new Map([[key.keyId, key.publicKey]]);
    let processed = 0;
    const consumer = await stream.consume(
      'lag-pipeline',
      async (events) => {
        await db.transaction((tx) => processBatch(tx, events, { publicKeys: () => publicKeys }));
        processed += events.length;
      },
      { subjects: ['beacon.ad'], batchSize: 500 },
    );
    const app = Fastify();
    const collector = collectorRoutes(app, { stream, edge: nodeEdge, clock: systemClock });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const started = Date.now();
    const samples: Array<{ atS: number; lag: number }> = [];
    const sampler = setInterval(() => {
      void consumer
        .pending()
        .then((lag) => samples.push({ atS: Math.round((Date.now() - started) / 1000), lag }));
    }, 5000);
    // (`idReplacement` is an autocannon option the shared type declaration does not list.)
    const options = {
      url: `http://127.0.0.1:${port}/beacon/ad/pause?t=${token}&ah=00:00:12.000&cb=[<id>]`,
      headers: { 'user-agent': browserUserAgent },
      idReplacement: true,
      connections: lagConnections,
      duration: lagSeconds,
      overallRate: lagRate,
      workers: 1,
    };
    const r = await autocannon(options);
    clearInterval(sampler);
    const loadEnded = Date.now();
    samples.push({ atS: Math.round((loadEnded - started) / 1000), lag: await consumer.pending() });
    let drainedAfterS: number | null = null;
    while (Date.now() - loadEnded < 120_000) {
      if ((await consumer.pending()) === 0) {
        drainedAfterS = (Date.now() - loadEnded) / 1000;
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    await app.close();
    await collector.close();
    await consumer.stop();
    return { rate: r.requests.average, samples, drainedAfterS, processed };
  } finally {
    await stream.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface EngineResult {
  engine: string;
  collector?: Awaited<ReturnType<typeof collectorRun>>;
  stored?: number;
  lost?: number;
  streamCeilingPerSecond?: number;
  collectorToCeiling?: number;
  pipelinePerSecond?: number;
  dbInsertCeilingPerSecond?: number;
  pipelineToCeiling?: number;
  skipped?: string;
}

async function runEngine(
  engine: string,
  open: () => Promise<EventStream>,
  openDatabase: () => Promise<{ db: Db; drop(): Promise<void> }>,
): Promise<EngineResult> {
  const stream = await open();
  const out: EngineResult = { engine };
  try {
    out.streamCeilingPerSecond = await ceiling(stream, `ceiling-${engine}`);
    out.collector = await collectorRun(stream);
    const stored = (await countStored(stream, `bench-${Date.now()}`, ['beacon.ad'])).filter(
      (e) => !e.id.startsWith('ceiling-'),
    );
    out.stored = stored.length;
    out.lost = Math.max(0, out.collector.acknowledged + out.collector.warmupAcknowledged - stored.length);
    out.collectorToCeiling = out.collector.beaconsPerSecond / out.streamCeilingPerSecond;
    const { db, drop } = await openDatabase();
    try {
      await migrate(db, [...ledgerMigrations, ...measureMigrations]);
      const sample = stored.slice(0, pipelineEvents);
      out.pipelinePerSecond = await pipelineRun(db, sample);
      out.dbInsertCeilingPerSecond = await dbCeiling(db, sample.length);
      out.pipelineToCeiling = out.pipelinePerSecond / out.dbInsertCeilingPerSecond;
    } finally {
      await db.close();
      await drop();
    }
  } finally {
    await stream.close();
  }
  return out;
}

async function main() {
  const loadAtStart = loadavg();
  const results: EngineResult[] = [];
  const httpOnly = await collectorRun(nullStream);
  const dir = mkdtempSync(join(tmpdir(), 'measure-bench-'));
  try {
    results.push(
      await runEngine(
        'embedded stream + PGlite',
        () => openEventStream({ dataDir: dir }),
        async () => ({ db: await openDb({ inMemory: true }), drop: async () => {} }),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const services = await requireServices('measure bench on JetStream + PostgreSQL', 'nats', 'postgres');
  if (services.skip) results.push({ engine: 'NATS JetStream + PostgreSQL', skipped: services.reason });
  else {
    const tag = `BENCH${Date.now().toString(36).toUpperCase()}`;
    const options = {
      natsUrl: serviceUrl('nats'),
      streamName: `SC_${tag}`,
      subjectPrefix: `sc${tag.toLowerCase()}`,
    };
    try {
      results.push(
        await runEngine(
          'NATS JetStream + PostgreSQL',
          () => openEventStream(options),
          async () => {
            const pg = await scratchPostgres('measure_bench');
            return { db: await openDb({ databaseUrl: pg.url }), drop: () => pg.drop() };
          },
        ),
      );
    } finally {
      const nc = await connect({ servers: options.natsUrl });
      await (await nc.jetstreamManager()).streams.delete(options.streamName).catch(() => {});
      await nc.close();
    }
  }

  const f = (x: number | undefined, d = 0) => (x === undefined ? '-' : x.toFixed(d));
  console.log(
    `\nmeasure beacons: ${seconds} s per run, ${connections} connections${hasWrk ? ' (wrk)' : ` x ${pipelining} pipelined (autocannon)`}, load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} (shared machine: noisy, quote medians); one beacon a request, as the player sends them (beacons/s = requests/s)`,
  );
  console.log(
    'engine                       | beacons/s | p50 ms | p99 ms | acked  | lost | stream ceiling/s | ratio | pipeline/s | db insert/s | ratio',
  );
  const us = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(0));
  console.log(
    `${'HTTP path alone (no store)'.padEnd(28)} | ${f(httpOnly.beaconsPerSecond).padStart(9)} | ${f(httpOnly.latencyP50Ms, 1).padStart(6)} | ${f(httpOnly.latencyP99Ms, 1).padStart(6)} | collector CPU ${us(httpOnly.cpuMicrosPerBeacon)} us/beacon`,
  );
  for (const r of results) {
    if (r.skipped) {
      console.log(`${r.engine.padEnd(28)} | skipped: ${r.skipped}`);
      continue;
    }
    console.log(
      [
        r.engine.padEnd(28),
        f(r.collector?.beaconsPerSecond).padStart(9),
        f(r.collector?.latencyP50Ms, 1).padStart(6),
        f(r.collector?.latencyP99Ms, 1).padStart(6),
        String((r.collector?.acknowledged ?? 0) + (r.collector?.warmupAcknowledged ?? 0)).padStart(6),
        String(r.lost).padStart(4),
        f(r.streamCeilingPerSecond).padStart(16),
        f(r.collectorToCeiling, 2).padStart(5),
        f(r.pipelinePerSecond).padStart(10),
        f(r.dbInsertCeilingPerSecond).padStart(11),
        f(r.pipelineToCeiling, 2).padStart(5),
      ].join(' | ') + ` | collector CPU ${us(r.collector?.cpuMicrosPerBeacon)} us/beacon`,
    );
  }
  for (const r of results) {
    if (!r.collector) continue;
    const cpu = r.collector.cpuMicrosPerBeacon;
    const httpCpu = httpOnly.cpuMicrosPerBeacon;
    console.log(
      `${r.engine} / HTTP path alone: ${f(r.collector.beaconsPerSecond / httpOnly.beaconsPerSecond, 2)}x beacons/s` +
        (cpu !== null && httpCpu !== null ? `, ${f(cpu / httpCpu, 2)}x CPU a beacon` : ''),
    );
  }
  const lag = lagSeconds > 0 ? await lagRun() : null;
  if (lag) {
    console.log(
      `\nkeeping up (embedded stream + PGlite, collector at ${lagRate}/s asked over ${lagConnections} connections, ${lag.rate.toFixed(0)}/s acknowledged, ${lagSeconds} s): ` +
        `pipeline lag ${lag.samples.map((x) => `${x.atS}s:${x.lag}`).join(' ')}; ` +
        `${lag.drainedAfterS === null ? 'not drained 120 s after the load' : `drained ${lag.drainedAfterS.toFixed(1)} s after the load`}; processed ${lag.processed}; load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
  const outDir = join(import.meta.dirname, '../../../bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'measure-beacons.json'),
    JSON.stringify(
      {
        seconds,
        connections,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg(),
        httpOnly,
        results,
        lag,
      },
      null,
      2,
    ),
  );
  if (results.some((r) => (r.lost ?? 0) > 0)) {
    console.error('LOSS: acknowledged beacons missing from the stream');
    process.exitCode = 1;
  }
}

await main();
