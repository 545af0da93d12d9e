/**
 * VAST decisions per second and latency with many active line items, beside the ceiling: a
 * minimal static-XML endpoint on Fastify, measured in the same run by the same load
 * generator. The server runs in a child process of its own (this file with `serve`) and
 * the load generator (autocannon; node:http at a fixed rate) in this process, so it never shares the server's CPU time
 * slice or event loop; the server's CPU per request comes from /proc.
 *
 * Two phases per side: (1) saturation with N connections -> requests/s and the ratio
 * ours/ceiling; (2) a fixed rate (default 1,000 req/s, open loop, `fixedRate`) -> p50/p99
 * latency.
 * Env: ADS_BENCH_LINE_ITEMS (1000), ADS_BENCH_SECONDS (10), ADS_BENCH_CONNECTIONS (10),
 * ADS_BENCH_RATE (1000), ADS_BENCH_ROUNDS (3: the six phases run this many times, interleaved;
 * medians are printed and saved), ADS_BENCH_PROFILE (a directory: the server writes a CPU
 * profile). The machine is shared: quote the medians, with the load average printed.
 *
 * At the fixed rate the server also reports what it saw of the phase (`/bench/stalls`, see
 * `stallMonitor`): its own p99 time per request (routing to response sent), its event loop's
 * p99 lateness and its longest GC pause. A client p99 far above these went outside the
 * server's handling: in the listen queue or socket while the process was not running (the
 * machine's other load), or in the load generator; the static documents show the same.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import type { EpisodeForAds } from '@swarmcast/catalog';
import { systemClock } from '@swarmcast/platform';
import { cpuSeconds } from '@swarmcast/testkit';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { presentCreative } from '../src/creative-urls.ts';
import type { DecideDeps } from '../src/decide.ts';
import {
  AdsStore,
  adsPlugin,
  generateSigningKey,
  keyRing,
  renderVast,
  type SigningKey,
} from '../src/index.ts';

const lineItems = Number(process.env.ADS_BENCH_LINE_ITEMS ?? 1000);
const seconds = Number(process.env.ADS_BENCH_SECONDS ?? 10);
const connections = Number(process.env.ADS_BENCH_CONNECTIONS ?? 10);
const rate = Number(process.env.ADS_BENCH_RATE ?? 1000);
const rounds = Math.max(1, Number(process.env.ADS_BENCH_ROUNDS ?? 3));

const now = Date.now();
const countries = ['DE', 'US', 'FR', 'GB', 'CH', 'AT', 'NL', 'SE'];
const categories = ['technology', 'news', 'sports', 'business', 'comedy', 'science'];
const episodes: EpisodeForAds[] = Array.from({ length: 20 }, (_, i) => ({
  id: `ep-${i}`,
  showId: `show-${i % 10}`,
  creatorId: `creator-${i % 10}`,
  title: `Episode ${i}`,
  durationMs: 3_600_000,
  language: i % 3 === 0 ? 'de' : 'en',
  categories: [categories[i % categories.length]!],
  mediaKind: 'audio',
  adBreaks: [
    { id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 30_000, maxAds: 1 },
    { id: 'mid-1', position: 'mid', offsetMs: 1_200_000, maxDurationMs: 90_000, maxAds: 3 },
    { id: 'post', position: 'post', offsetMs: 3_600_000, maxDurationMs: 30_000, maxAds: 1 },
  ],
}));
export const byId = new Map(episodes.map((e) => [e.id, e]));

export function buildStore(): AdsStore {
  const store = new AdsStore();
  store.putAdvertiser({ id: 'adv', name: 'Bench advertiser' });
  for (let i = 0; i < lineItems; i++) {
    const cid = `c-${i % 200}`;
    if (!store.campaigns.has(cid)) {
      store.putCampaign({
        id: cid,
        advertiserId: 'adv',
        name: cid,
        startsAt: now - 86_400_000,
        endsAt: now + 30 * 86_400_000,
        currency: 'EUR',
        totalBudgetMicros: 1e13,
        dailyBudgetMicros: 0,
        paused: false,
      });
    }
    store.putCreative({
      id: `cr-${i}`,
      advertiserId: 'adv',
      name: `Creative ${i}`,
      mediaKind: 'audio',
      mimeType: 'audio/mpeg',
      durationMs: [15_000, 20_000, 30_000][i % 3]!,
      bytes: 300_000,
      bitrateKbps: 128,
      width: 0,
      height: 0,
      mediaUrl: `https://node.example/ads/media/cr-${i}.mp3`,
      alternates: [],
      clickThroughUrl: 'https://advertiser.example/',
      universalAdId: { registry: 'swarmcast', value: `cr-${i}` },
      approval: 'approved',
    });
    store.putLineItem({
      id: `li-${i}`,
      campaignId: cid,
      name: `Line ${i}`,
      priority: i % 50 === 0 ? 'sponsorship' : i % 10 === 0 ? 'house' : 'standard',
      goal: { kind: 'impressions', impressions: 1e9 },
      cpmMicros: 1_000_000 + (i % 40) * 500_000,
      pacing: i % 10 === 0 ? 'asap' : 'even',
      targeting:
        i % 4 === 0
          ? {}
          : i % 4 === 1
            ? { countries: [countries[i % countries.length]!] }
            : i % 4 === 2
              ? { categories: [categories[i % categories.length]!], positions: ['mid'] }
              : { languages: [i % 2 ? 'en' : 'de'], devices: ['phone', 'computer'] },
      caps: i % 5 === 0 ? [{ max: 3, periodMs: 3_600_000 }] : [],
      exclusionCategories: [`cat-${i % 30}`],
      creativeIds: [`cr-${i}`],
      paused: false,
    });
  }
  return store;
}

// Many listeners and breaks, so caps, targeting and pods are exercised as in traffic.
export const requests: autocannon.Request[] = Array.from({ length: 500 }, (_, i) => ({
  method: 'GET',
  path: `/ads/vast?episode=ep-${i % 20}&break=${['pre', 'mid-1', 'post'][i % 3]}&lid=listener-${String(i).padStart(6, '0')}`,
}));

let benchIds = 0;
/**
 * The in-process decision's dependencies over `store`, as the benches without HTTP
 * (decide-path.ts, shared-claims.ts) use them; decision ids are unique across all of them.
 */
export function benchDeps(store: AdsStore, key: SigningKey): DecideDeps {
  return {
    store,
    signingKey: () => key,
    collector: 'https://node.example',
    newId: () => `id${benchIds++}`,
    tokenTtlMs: 3_600_000,
    adSystemVersion: 'x',
    present: (c) => presentCreative(c, 'https://node.example'),
  };
}

const headers = { 'x-swarmcast-country': 'DE', 'user-agent': 'Mozilla/5.0 (iPhone)' };

/** What a phase's load reports (autocannon's result has these fields too). */
type LoadResult = {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  '2xx': number;
};

async function load(
  url: string,
  opts: { rate?: number; duration: number; requests?: autocannon.Request[] },
): Promise<LoadResult> {
  if (opts.rate) return fixedRate(url, opts.rate, opts.duration, opts.requests);
  return autocannon({
    url,
    connections,
    duration: opts.duration,
    requests: opts.requests,
    headers,
    // This process only generates load (the server is a child process), in one worker thread.
    workers: 1,
  });
}

/**
 * An open-loop fixed rate: request n is due at n/rate seconds whatever the answers, and its
 * latency runs from when it was due, so a stall of the server counts for every request it
 * delayed (no coordinated omission). Not autocannon's `overallRate`: there each connection
 * sends its share of a second back to back and then waits for the next second (bursts at
 * saturation, not a rate), and its correction for the omission assumes 1 ms between
 * requests (`Math.ceil(1 / rate)`), so a 100 ms answer also recorded 99 made-up ones of
 * 1-99 ms; at 1,000/s its p99 was 60-400 ms for the static documents too.
 */
async function fixedRate(
  url: string,
  rate: number,
  seconds: number,
  requests?: autocannon.Request[],
): Promise<LoadResult> {
  const { hostname, port, pathname } = new URL(url);
  const paths = requests?.map((r) => r.path!) ?? [pathname];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencyUs = createHistogram();
  const total = Math.round(rate * seconds);
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const finished = () => {
      if (ok + non2xx + errors === total) resolve();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const dueAt = start + (sent * 1000) / rate;
        const path = paths[sent % paths.length]!;
        http
          .get({ agent, host: hostname, port, path, headers }, (res) => {
            res.resume();
            res.on('end', () => {
              if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) ok++;
              else non2xx++;
              latencyUs.record(Math.max(1, Math.round((performance.now() - dueAt) * 1000)));
              finished();
            });
          })
          .on('error', () => {
            errors++;
            finished();
          });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    requests: { average: total / ((performance.now() - start) / 1000) },
    latency: { p50: ms(latencyUs.percentile(50)), p99: ms(latencyUs.percentile(99)) },
    errors,
    non2xx,
    '2xx': ok,
  };
}

/**
 * Adds `GET /bench/stalls` to a bench server: since the last call, the p99 and longest time
 * a request spent in the server (Fastify's elapsed time, routing to response sent), the p99
 * lateness of a 1 ms timer (the event loop blocked, or the process not running) and the
 * longest and total GC pause; each call starts a new period.
 */
export function stallMonitor(app: FastifyInstance): void {
  const handling = createHistogram();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let gcMaxMs = 0;
  let gcTotalMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMaxMs = Math.max(gcMaxMs, e.duration);
      gcTotalMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  app.addHook('onResponse', async (_req, reply) => {
    handling.record(Math.max(1, Math.round(reply.elapsedTime * 1000)));
  });
  app.get('/bench/stalls', async () => {
    const ms = (x: number) => Math.round(x * 10) / 10;
    const out = {
      handlingP99Ms: ms(handling.count ? handling.percentile(99) / 1e3 : 0),
      handlingMaxMs: ms(handling.count ? handling.max / 1e3 : 0),
      loopP99Ms: ms(loop.percentile(99) / 1e6),
      gcMaxMs: ms(gcMaxMs),
      gcTotalMs: Math.round(gcTotalMs),
    };
    handling.reset();
    loop.reset();
    gcMaxMs = 0;
    gcTotalMs = 0;
    return out;
  });
}

export type Stalls = {
  handlingP99Ms: number;
  handlingMaxMs: number;
  loopP99Ms: number;
  gcMaxMs: number;
  gcTotalMs: number;
};

/** The server side: the ads plugin with the bench store plus the two static ceilings. */
async function serve() {
  const app = Fastify();
  stallMonitor(app);
  const ring = keyRing(generateSigningKey('bench'));
  const store = buildStore();
  await app.register(adsPlugin, {
    episodes: (id) => byId.get(id) ?? null,
    keys: () => ring,
    clock: systemClock,
    publicUrl: 'https://node.example',
    mediaDir: join(tmpdir(), 'ads-bench-media'),
    adminToken: '',
    store,
  });
  // The ceiling: the same framework answering a fixed VAST-sized document.
  const fixed = renderVast([], {
    collector: 'https://node.example',
    adSystem: 'Swarmcast',
    adSystemVersion: 'x',
  });
  const staticXml = fixed.repeat(1).padEnd(6_000, ' ');
  app.get('/static.xml', async (_req, reply) => reply.type('application/xml').send(staticXml));
  let sameSizeXml = '';
  app.get('/static-same-size.xml', async (_req, reply) => reply.type('application/xml').send(sameSizeXml));
  // A second ceiling: a static document as long as our average answer, so the ratio shows
  // the cost of deciding apart from the cost of sending more bytes.
  let total = 0;
  for (const r of requests.slice(0, 60)) total += (await app.inject({ url: r.path! })).body.length;
  sameSizeXml = fixed.padEnd(Math.round(total / 60), ' ');
  const sample = await app.inject({ url: requests[1]!.path! });
  const ads = (sample.body.match(/<Ad /g) ?? []).length;
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
  process.stdout.write(
    `${JSON.stringify({ base, info: `line items: ${lineItems}; sample mid-roll pod: ${ads} ads, ${sample.body.length} bytes; average answer ${sameSizeXml.length} bytes; static doc ${staticXml.length} bytes` })}\n`,
  );
}

function stallText(s: Stalls): string {
  return `handling p99 ${s.handlingP99Ms} ms, max ${s.handlingMaxMs} ms; event-loop lateness p99 ${s.loopP99Ms} ms; GC pause max ${s.gcMaxMs} ms, total ${s.gcTotalMs} ms`;
}

/**
 * Runs the bench against the server `serverFile serve` starts (this file's by default; the
 * node's bench passes its own): that process prints one JSON line { base, info, paths? }
 * (paths: the /ads/vast requests to send, default `requests`) and serves /ads/vast,
 * /static.xml and /static-same-size.xml; its stderr goes to `serverStderr`. Results go to
 * bench/results/<name>.json.
 */
export async function main(
  serverFile = import.meta.filename,
  name = 'ads-decide',
  serverStderr: 'inherit' | number = 'inherit',
) {
  // ADS_BENCH_PROFILE=dir: the server writes a CPU profile there (node --cpu-prof) on exit.
  const profile = process.env.ADS_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ADS_BENCH_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...profile, ...process.execArgv, serverFile, 'serve'], {
    stdio: ['ignore', 'pipe', serverStderr],
  });
  const started = await new Promise<{ base: string; info: string; paths?: string[] }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const base = started.base;
  const vast = started.paths
    ? started.paths.map((path): autocannon.Request => ({ method: 'GET', path }))
    : requests;
  console.log(started.info);
  // The server's own view of a phase (null when the server has no /bench/stalls).
  const stalls = async (): Promise<Stalls | null> => {
    const r = await fetch(`${base}/bench/stalls`).catch(() => null);
    return r?.ok ? ((await r.json()) as Stalls) : null;
  };
  const measured = async (url: string, opts: Parameters<typeof load>[1]) => {
    await stalls();
    const before = cpuSeconds(child.pid!);
    const result = await load(url, opts);
    const cpu = cpuSeconds(child.pid!) - before;
    return Object.assign(result, {
      cpuUsPerRequest: (cpu * 1e6) / Math.max(1, result['2xx'] + result.non2xx),
      server: await stalls(),
    });
  };
  await load(`${base}/static.xml`, { duration: 2 }); // warm-up
  await load(`${base}/ads/vast`, { duration: 2, requests: vast });
  type Measured = LoadResult & { cpuUsPerRequest: number; server: Stalls | null };
  type Row = ReturnType<typeof row>;
  const row = (name: string, sat: Measured, fixedRate: Measured) => ({
    name,
    saturatedReqPerSec: Math.round(sat.requests.average),
    saturatedP50Ms: sat.latency.p50,
    saturatedP99Ms: sat.latency.p99,
    atRateReqPerSec: Math.round(fixedRate.requests.average),
    atRateP50Ms: fixedRate.latency.p50,
    atRateP99Ms: fixedRate.latency.p99,
    errors: sat.errors + sat.non2xx + fixedRate.errors + fixedRate.non2xx,
    serverCpuUsPerRequest: Math.round(sat.cpuUsPerRequest),
    atRateServer: fixedRate.server,
  });
  const all: Row[][] = [];
  for (let r = 0; r < rounds; r++) {
    const ceilSat = await measured(`${base}/static.xml`, { duration: seconds });
    const sameSat = await measured(`${base}/static-same-size.xml`, { duration: seconds });
    const oursSat = await measured(`${base}/ads/vast`, { duration: seconds, requests: vast });
    const ceilRate = await measured(`${base}/static.xml`, { duration: seconds, rate });
    const sameRate = await measured(`${base}/static-same-size.xml`, { duration: seconds, rate });
    const oursRate = await measured(`${base}/ads/vast`, { duration: seconds, rate, requests: vast });
    const rows = [
      row('ads /ads/vast', oursSat, oursRate),
      row('static XML 6 KB (ceiling)', ceilSat, ceilRate),
      row('static XML, our answer size', sameSat, sameRate),
    ];
    all.push(rows);
    const [o, c, z] = rows as [Row, Row, Row];
    console.log(
      `round ${r + 1}: ours ${o.saturatedReqPerSec}/s (${((o.saturatedReqPerSec / c.saturatedReqPerSec) * 100).toFixed(1)}% of 6 KB static, ` +
        `${((o.saturatedReqPerSec / z.saturatedReqPerSec) * 100).toFixed(1)}% of same size), p99 at ${rate}/s ${o.atRateP99Ms} ms, ` +
        `server CPU ${o.serverCpuUsPerRequest} us vs ${z.serverCpuUsPerRequest} us for the same-size static doc; load ${loadavg()[0]!.toFixed(2)}`,
    );
    if (o.atRateServer && z.atRateServer) {
      console.log(
        `  at ${rate}/s, client p99 and the server's own view: ours ${o.atRateP99Ms} ms (${stallText(o.atRateServer)}), ` +
          `same-size static ${z.atRateP99Ms} ms (${stallText(z.atRateServer)}), 6 KB static ${c.atRateP99Ms} ms`,
      );
    }
  }
  // SIGINT lets the server exit normally, so a requested CPU profile is written.
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));

  // Each figure is the median over the rounds, figure by figure (errors: the sum).
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const medianRow = (i: number): Row => {
    const rs = all.map((rows) => rows[i]!);
    const m = (k: Exclude<keyof Row, 'name' | 'errors' | 'atRateServer'>) => median(rs.map((x) => x[k]));
    const stalls = rs.map((x) => x.atRateServer).filter((x): x is Stalls => x !== null);
    const ms = (k: keyof Stalls) => median(stalls.map((x) => x[k]));
    return {
      name: rs[0]!.name,
      saturatedReqPerSec: m('saturatedReqPerSec'),
      saturatedP50Ms: m('saturatedP50Ms'),
      saturatedP99Ms: m('saturatedP99Ms'),
      atRateReqPerSec: m('atRateReqPerSec'),
      atRateP50Ms: m('atRateP50Ms'),
      atRateP99Ms: m('atRateP99Ms'),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      serverCpuUsPerRequest: m('serverCpuUsPerRequest'),
      atRateServer:
        stalls.length === 0
          ? null
          : {
              handlingP99Ms: ms('handlingP99Ms'),
              handlingMaxMs: ms('handlingMaxMs'),
              loopP99Ms: ms('loopP99Ms'),
              gcMaxMs: ms('gcMaxMs'),
              gcTotalMs: ms('gcTotalMs'),
            },
    };
  };
  const ours = medianRow(0);
  const ceiling = medianRow(1);
  const sameSize = medianRow(2);
  console.log(`medians of ${rounds} round(s):`);
  console.table([ours, ceiling, sameSize].map(({ atRateServer: _, ...r }) => r));
  for (const r of [ours, ceiling, sameSize]) {
    if (r.atRateServer)
      console.log(`  ${r.name} at ${rate}/s, the server's view: ${stallText(r.atRateServer)}`);
  }
  // Ratios per round, then their median (a ratio within one round is what survives a shared machine).
  const ratio = median(all.map((r) => r[0]!.saturatedReqPerSec / r[1]!.saturatedReqPerSec));
  const sameSizeRatio = median(all.map((r) => r[0]!.saturatedReqPerSec / r[2]!.saturatedReqPerSec));
  const cpuRatio = median(all.map((r) => r[0]!.serverCpuUsPerRequest / r[2]!.serverCpuUsPerRequest));
  console.log(
    `ours/ceiling throughput: ${(ratio * 100).toFixed(1)}% of the 6 KB static doc, ${(sameSizeRatio * 100).toFixed(1)}% of a static doc of our size (goal >= 50%); ` +
      `server CPU per request ${cpuRatio.toFixed(2)}x the same-size static doc; p99 at ${rate} req/s: ${ours.atRateP99Ms} ms (goal < 10 ms); medians of ${rounds}; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  const dir = join(import.meta.dirname, '../../../bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    `${JSON.stringify({ at: new Date().toISOString(), lineItems, seconds, connections, rate, rounds, load: loadavg(), ours, ceiling, sameSize, ratio, sameSizeRatio, cpuRatio, all }, null, 2)}\n`,
  );
}

// Imported (by a profiling script) it only provides the fixtures above.
if (process.argv[1] === import.meta.filename) {
  if (process.argv[2] === 'serve') await serve();
  else await main();
}
