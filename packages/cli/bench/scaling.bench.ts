/**
 * Past one machine (issue 19): what a second `swarmcast up` process behind the proxy adds.
 * The built bundle (dist/swarmcast.mjs, what `npm start` runs) on the real PostgreSQL (a
 * scratch database), Redis and NATS JetStream (a prefix and stream of its own), one shared
 * data folder. Process A runs every role; B runs web, origin, tracker and measure. Two nginx
 * (Debian's, as docs/operations.md configures it): one with A alone as its upstream, one with
 * A and B round-robin. wrk sends HTTP announces (random info-hash among SCALING_BENCH_TORRENTS,
 * random peer; packages/tracker/bench/load/announce.lua) through each proxy, and straight to A
 * as the reference without the proxy; the three interleaved, SCALING_BENCH_ROUNDS (3) rounds of
 * SCALING_BENCH_SECONDS (10) each; medians, the 2-process / 1-process ratio and the load
 * average are printed, and written to bench/results/cli-scaling.json. Each announce is a Redis
 * swarm update and a fact on the NATS stream, as in production. Then ad beacons the same way
 * (wrk, keep-alive as players do, a pause beacon whose token the node's own key signed): each
 * acknowledged beacon is durable on the NATS stream, and both processes' pipelines consume it.
 * The machine is shared: two processes can only scale as far as free cores allow; compare
 * within one run, and read the CPU each process spent per announce beside the rate.
 * One uncounted warm-up of 3 s per target first (the JIT and B's start-up work settle).
 * Env: SCALING_BENCH_SECONDS, SCALING_BENCH_ROUNDS, SCALING_BENCH_CONNECTIONS (64),
 * SCALING_BENCH_TORRENTS (1000), SCALING_BENCH_B_ROLES (web,origin,tracker,measure),
 * SCALING_BENCH_CPU_PROF (a folder: each node process writes a V8 CPU profile there at exit).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { signDecision } from '@swarmcast/ads';
import { readSigningKeys, ringAt } from '@swarmcast/node';
import {
  cpuSeconds,
  freePort,
  type Nginx,
  requireBinaries,
  requireServices,
  scratchDir,
  scratchPostgres,
  serviceUrl,
  startNginx,
  waitFor,
} from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { connect } from 'nats';

const run = promisify(execFile);
const env = process.env;
const seconds = Number(env.SCALING_BENCH_SECONDS ?? 10);
const rounds = Number(env.SCALING_BENCH_ROUNDS ?? 3);
const connections = Number(env.SCALING_BENCH_CONNECTIONS ?? 64);
const torrents = Number(env.SCALING_BENCH_TORRENTS ?? 1000);
const root = join(import.meta.dirname, '..', '..', '..');
const rolesB = env.SCALING_BENCH_B_ROLES ?? 'web,origin,tracker,measure';
const lua = join(root, 'packages', 'tracker', 'bench', 'load', 'announce.lua');

interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers and socket errors wrk counted. */
  errors: number;
  /** CPU milliseconds each node process spent per 1000 announces (A, B). */
  cpuPerK: number[];
}

function toMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** What wrk sends: announces (the Lua script, Connection: close) or one ad beacon URL (keep-alive). */
type Load = { kind: 'announce' } | { kind: 'beacon'; token: string };

async function wrk(
  url: string,
  pids: number[],
  forSeconds = seconds,
  load: Load = { kind: 'announce' },
): Promise<Sample> {
  const before = pids.map(cpuSeconds);
  const target =
    load.kind === 'announce'
      ? ['-s', lua, `${url}/announce`]
      : [`${url}/beacon/ad/pause?t=${load.token}&ah=00:00:12.000`];
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      '2',
      '-c',
      String(connections),
      '-d',
      `${forSeconds}s`,
      '--latency',
      '--timeout',
      '10s',
      ...target,
    ],
    { env: { ...env, TORRENTS: String(torrents) }, maxBuffer: 1 << 20, timeout: (forSeconds + 60) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const total = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const cpuPerK = pids.map((p, i) => ((cpuSeconds(p) - before[i]!) * 1e6) / Math.max(1, total));
  return {
    rps,
    p50Ms: toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99Ms: toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    errors,
    cpuPerK,
  };
}

async function main(): Promise<void> {
  const services = await requireServices('the scaling bench', 'postgres', 'redis', 'nats');
  const binaries = requireBinaries('the scaling bench', 'nginx', 'wrk');
  if (services.skip || binaries.skip) {
    console.log(`skipped: ${services.reason || binaries.reason}`);
    return;
  }
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');

  const tag = randomBytes(4).toString('hex');
  const dir = await scratchDir('swarmcast-scaling-bench-');
  const pg = await scratchPostgres('swarmcast_scaling');
  const procs: Array<{ name: string; child: ChildProcess; out: () => string }> = [];
  const proxies: Nginx[] = [];
  try {
    const [pA, pB, oneProxy, twoProxy] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const start = (name: string, port: number, roles: string, publicUrl: string) => {
      let out = '';
      const child = spawn(
        process.execPath,
        [
          // SCALING_BENCH_CPU_PROF=<dir>: each process writes a V8 CPU profile there on exit.
          ...(env.SCALING_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', env.SCALING_BENCH_CPU_PROF] : []),
          join(root, 'dist', 'swarmcast.mjs'),
          'up',
          '--port',
          String(port),
          '--data',
          dir.path,
          '--roles',
          roles,
        ],
        {
          cwd: dir.path,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...env,
            DATABASE_URL: pg.url,
            REDIS_URL: serviceUrl('redis'),
            NATS_URL: serviceUrl('nats'),
            SWARMCAST_REDIS_PREFIX: `sc${tag}:`,
            SWARMCAST_NATS_STREAM: `SC${tag}`,
            SWARMCAST_NATS_SUBJECTS: `sc${tag}`,
            SWARMCAST_PUBLIC_URL: publicUrl,
            SWARMCAST_TRUST_PROXY: '127.0.0.1',
            SWARMCAST_LOG_LEVEL: 'warn',
          },
        },
      );
      child.stdout?.on('data', (d) => (out += String(d)));
      child.stderr?.on('data', (d) => (out += String(d)));
      const p = { name, child, out: () => out };
      procs.push(p);
      return p;
    };
    const up = (p: (typeof procs)[number]) =>
      waitFor(
        () => {
          if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}: ${p.out()}`);
          return /Swarmcast node up at/.test(p.out());
        },
        180_000,
        `${p.name} to start`,
        200,
      );
    // A first (it migrates the database and publishes the demo), then B joins.
    const a = start('A', pA, 'all', `http://127.0.0.1:${twoProxy}`);
    await up(a);
    const b = start('B', pB, rolesB, `http://127.0.0.1:${twoProxy}`);
    await up(b);
    mkdirSync(join(dir.path, 'one'));
    mkdirSync(join(dir.path, 'two'));
    const one = await startNginx({
      dir: join(dir.path, 'one'),
      upstream: [`127.0.0.1:${pA}`],
      port: oneProxy,
    });
    proxies.push(one);
    const two = await startNginx({
      dir: join(dir.path, 'two'),
      upstream: [`127.0.0.1:${pA}`, `127.0.0.1:${pB}`],
      port: twoProxy,
    });
    proxies.push(two);
    const pids = [a.child.pid!, b.child.pid!];
    const targets = [
      { key: 'direct, 1 process (reference)', url: `http://127.0.0.1:${pA}` },
      { key: 'nginx -> 1 process', url: one.url },
      { key: 'nginx -> 2 processes', url: two.url },
    ];
    console.log(
      `scaling bench: HTTP announces (wrk c=${connections} Connection: close, ${torrents} torrents, random peers) and ad beacons (keep-alive); ` +
        `${seconds}s x ${rounds} rounds, interleaved; B runs ${rolesB}; ${cpus().length} cores, load ${load()}`,
    );
    // A beacon's token signed with the node's own key (the shared data folder's ring).
    const ring = ringAt(await readSigningKeys(dir.path), Date.now());
    const token = signDecision(
      {
        v: 1,
        decisionId: 'scaling-bench',
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
        issuedAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      },
      ring.active,
    );
    const loads: Array<{ name: string; load: Load }> = [
      { name: 'announces', load: { kind: 'announce' } },
      { name: 'beacons', load: { kind: 'beacon', token } },
    ];
    for (const l of loads) for (const t of targets) await wrk(t.url, pids, 3, l.load);
    const results = new Map<string, Sample[]>();
    for (let r = 0; r < rounds; r++) {
      for (const { name, load: l } of loads)
        for (const t of targets) {
          const s = await wrk(t.url, pids, seconds, l);
          const key = `${name}: ${t.key}`;
          results.set(key, [...(results.get(key) ?? []), s]);
          console.log(
            `  round ${r + 1} ${key.padEnd(41)} ${Math.round(s.rps).toString().padStart(6)}/s p50 ${s.p50Ms.toFixed(1)} ms ` +
              `p99 ${s.p99Ms.toFixed(1)} ms errors ${s.errors} cpu A ${s.cpuPerK[0]!.toFixed(0)} B ${s.cpuPerK[1]!.toFixed(0)} ms/1000  load ${load()}`,
          );
        }
    }
    for (const p of procs)
      if (p.child.exitCode !== null)
        throw new Error(`${p.name} died during the bench: ${p.out().slice(-2000)}`);
    const summary: Record<string, { rps: number; p50Ms: number; p99Ms: number; errors: number }> = {};
    console.log(`\nmedians of ${rounds}:`);
    for (const [key, samples] of results) {
      const m = {
        rps: median(samples.map((s) => s.rps)),
        p50Ms: median(samples.map((s) => s.p50Ms)),
        p99Ms: median(samples.map((s) => s.p99Ms)),
        errors: samples.reduce((n, s) => n + s.errors, 0),
      };
      summary[key] = m;
      console.log(
        `  ${key.padEnd(41)} ${Math.round(m.rps).toString().padStart(6)}/s  p50 ${m.p50Ms.toFixed(1)} ms  p99 ${m.p99Ms.toFixed(1)} ms  errors ${m.errors}`,
      );
    }
    const ratioOf = (name: string) => ({
      ratio: summary[`${name}: nginx -> 2 processes`]!.rps / summary[`${name}: nginx -> 1 process`]!.rps,
      proxyCost:
        summary[`${name}: nginx -> 1 process`]!.rps / summary[`${name}: direct, 1 process (reference)`]!.rps,
    });
    const { ratio, proxyCost } = ratioOf('announces');
    const beacons = ratioOf('beacons');
    console.log(
      `\nratios: announces 2 processes / 1 process ${ratio.toFixed(2)}x, nginx -> 1 process / direct ${proxyCost.toFixed(2)}x; ` +
        `beacons 2 / 1 ${beacons.ratio.toFixed(2)}x, nginx / direct ${beacons.proxyCost.toFixed(2)}x; ` +
        `${cpus().length} cores shared with whatever else runs: load ${load()}`,
    );
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'cli-scaling.json'),
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          load: loadavg(),
          cores: cpus().length,
          seconds,
          rounds,
          connections,
          torrents,
          summary,
          ratio,
          proxyCost,
          beacons,
          samples: Object.fromEntries(results),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const gone = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 30_000))]);
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
    }
    for (const n of proxies) await n.close();
    await pg.drop();
    // This run's swarms in Redis and its stream in NATS.
    const redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `sc${tag}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    const nc = await connect({ servers: serviceUrl('nats') });
    await (await nc.jetstreamManager()).streams.delete(`SC${tag}`).catch(() => undefined);
    await nc.close();
    await dir.remove();
  }
}

await main();
