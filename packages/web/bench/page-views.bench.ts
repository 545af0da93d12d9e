/**
 * What counting episode page views durably costs the page (issue 19): one node process (a
 * child, so the load generator never shares its event loop) serves the same episode page on
 * three servers over one PGlite catalog:
 * - `tally` (the reference): each view added to a map in memory, as the ViewTally did (its
 *   UPDATE every 5 s is left out: cheaper still than it was);
 * - `held`: the page waits for a fact as below, but the "stream" stores nothing and answers
 *   after 1 ms (what the wait alone costs);
 * - `stream`: the view put on the embedded write-ahead stream before the page is sent, and
 *   counted into the episode by the catalog's consumer in the same process;
 * - `nats`: the same on NATS JetStream (when NATS_URL is set).
 * autocannon drives each in turn, rounds interleaved. The node's CPU per page comes from
 * /proc and includes the consumer's counting (each target's window ends once every view it
 * caused is counted). PAGE_BENCH_SECONDS (default 8), PAGE_BENCH_CONNECTIONS (50),
 * PAGE_BENCH_ROUNDS (3). The machine is shared: compare within one run.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  catalogMigrations,
  consumePageViews,
  getEpisode,
  type PageViewRecorder,
  streamPageViews,
} from '@swarmcast/catalog';
import { migrate, openDb, openEventStream, privacyMigrations, systemClock } from '@swarmcast/platform';
import { cpuSeconds, scratchDir } from '@swarmcast/testkit';
import autocannon from 'autocannon';
import { createNodeServer } from '../src/server.ts';
import { oneEpisodeCatalog } from '../test/one-episode.ts';

const seconds = Number(process.env.PAGE_BENCH_SECONDS ?? 8);
const connections = Number(process.env.PAGE_BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.PAGE_BENCH_ROUNDS ?? 3);

async function serve() {
  const dir = await scratchDir('swarmcast-page-bench-');
  const db = await openDb({ dataDir: join(dir.path, 'db') });
  await migrate(db, [...privacyMigrations, ...catalogMigrations]);
  const { catalog, episodeId } = await oneEpisodeCatalog(db, dir.path, systemClock, {
    slug: 'bench',
    show: 'Bench',
    episode: 'Bench',
  });

  let tallied = 0;
  const tally: PageViewRecorder = {
    record: () => {
      tallied++;
      return Promise.resolve(true);
    },
    stats: () => ({ recorded: tallied, failed: 0, refused: 0, pending: 0, facts: 0 }),
    close: async () => {},
  };
  const streams = [await openEventStream({ dataDir: join(dir.path, 'data') })];
  const tag = `PB${process.pid}`;
  if (process.env.NATS_URL) {
    streams.push(
      await openEventStream({
        natsUrl: process.env.NATS_URL,
        streamName: tag,
        subjectPrefix: tag.toLowerCase(),
      }),
    );
  }
  const counters = await Promise.all(streams.map((s) => consumePageViews(s, db)));
  const targets: Record<string, { url: string; counter: number | null }> = {};
  const recorders: Record<string, PageViewRecorder> = { tally };
  // The wait alone: a stream that stores nothing and answers after 1 ms.
  recorders.held = streamPageViews({ publish: () => new Promise((r) => setTimeout(r, 1)) });
  streams.forEach((s, i) => {
    recorders[i === 0 ? 'stream' : 'nats'] = streamPageViews(s);
  });
  for (const [name, pageViews] of Object.entries(recorders)) {
    const app = await createNodeServer({ catalog, pageViews });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    targets[name] = {
      url: `${url}/episodes/${episodeId}`,
      counter: name === 'stream' ? 0 : name === 'nats' ? 1 : null,
    };
  }
  // "settled <name>": answers once that target's views are all counted.
  process.stdin.on('data', async (d) => {
    const name = String(d).trim();
    const t = targets[name];
    if (t?.counter != null) {
      const c = counters[t.counter]!;
      for (let i = 0; i < 600 && (await c.pending()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    }
    const views = (await getEpisode(db, episodeId))!.views;
    const facts = Object.fromEntries(Object.entries(recorders).map(([k, r]) => [k, r.stats().facts]));
    process.stdout.write(`${JSON.stringify({ settled: name, views, tallied, facts })}\n`);
  });
  process.once('SIGINT', async () => {
    for (const c of counters) await c.stop();
    for (const s of streams) await s.close();
    if (process.env.NATS_URL) {
      const { connect } = await import('nats');
      const nc = await connect({ servers: process.env.NATS_URL });
      await (await nc.jetstreamManager()).streams.delete(tag).catch(() => {});
      await nc.close();
    }
    await db.close();
    await dir.remove();
    process.exit(0);
  });
  process.stdout.write(
    `${JSON.stringify(Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, v.url])))}\n`,
  );
}

async function main() {
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, 'serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += String(d);
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise<string>((r) => (lines.length ? r(lines.shift()!) : waiters.push(r)));
  const urls = JSON.parse(await next()) as Record<string, string>;
  const rows: Record<
    string,
    Array<{ rps: number; p50: number; p99: number; cpuUs: number; errors: number }>
  > = {};
  let served: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, url] of Object.entries(urls)) {
      const before = cpuSeconds(child.pid!);
      const r = await autocannon({ url, connections, duration: seconds });
      child.stdin!.write(`${name}\n`);
      await next();
      const cpu = cpuSeconds(child.pid!) - before;
      const n = r['2xx'] + r.non2xx;
      served = { ...served, [name]: (served[name] ?? 0) + r['2xx'] };
      rows[name] ??= [];
      rows[name].push({
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        cpuUs: (cpu * 1e6) / Math.max(1, n),
        errors: r.errors + r.non2xx,
      });
    }
  }
  child.stdin!.write('tally\n');
  const final = JSON.parse(await next()) as { views: number; tallied: number; facts: Record<string, number> };
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ref = median(rows.tally!.map((x) => x.cpuUs));
  const refRps = median(rows.tally!.map((x) => x.rps));
  console.log(
    `episode page, ${connections} connections, ${seconds} s x ${rounds} interleaved rounds; medians; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [name, rs] of Object.entries(rows)) {
    const cpu = median(rs.map((x) => x.cpuUs));
    const rps = median(rs.map((x) => x.rps));
    console.log(
      `${name.padEnd(6)} req/s ${rps.toFixed(0).padStart(6)} (${(rps / refRps).toFixed(2)}x)  p50 ${median(rs.map((x) => x.p50))} ms  p99 ${median(rs.map((x) => x.p99))} ms  node CPU ${cpu.toFixed(0)} us/page (${(cpu / ref).toFixed(2)}x)  errors ${rs.reduce((s, x) => s + x.errors, 0)}  rounds CPU ${rs.map((x) => x.cpuUs.toFixed(0)).join('/')}`,
    );
  }
  const durable = (served.stream ?? 0) + (served.nats ?? 0);
  console.log(
    `views counted from the streams: ${final.views} for ${durable} pages autocannon counted (it leaves out up to ${connections} answered after each window); tally: ${final.tallied} in memory; pages per fact: ${[
      'stream',
      'nats',
    ]
      .filter((k) => final.facts[k])
      .map((k) => `${k} ${((served[k] ?? 0) / final.facts[k]!).toFixed(1)}`)
      .join(', ')}`,
  );
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/web-page-views.json',
    `${JSON.stringify({ connections, seconds, rounds, rows, views: final.views, served, facts: final.facts }, null, 2)}\n`,
  );
}

if (process.argv[2] === 'serve') await serve();
else await main();
