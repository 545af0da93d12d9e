/**
 * Announce throughput and latency, HTTP and UDP, for our tracker beside opentracker (C,
 * Debian's whitelist-only build) and bittorrent-tracker (npm, WebTorrent's), in one run.
 *
 * - HTTP: wrk, TRACKER_BENCH_CONNECTIONS connections (100), one request per connection
 *   (Connection: close, as opentracker closes after each answer), random info-hash among
 *   TRACKER_BENCH_TORRENTS (1000), random peer id and port: many torrents and peers.
 * - UDP: a C generator (load/udp-load.c, compiled here with gcc), one socket,
 *   TRACKER_BENCH_INFLIGHT (128) announces in flight, connection id reused.
 * - Each (tracker, protocol) runs TRACKER_BENCH_ROUNDS times (3), interleaved, for
 *   TRACKER_BENCH_SECONDS (5) each, after TRACKER_BENCH_WARMUP (5) seconds of each protocol
 *   not counted; medians are printed with ratios. Our tracker runs both
 *   standalone (node:http) and inside Fastify, to show what the framework costs.
 * - `swarmcast tracker` as users run it (the CLI, announce facts published to the embedded
 *   stream, rate limit off) with 1 worker and with TRACKER_BENCH_WORKERS (2) workers.
 * - Each line also gives the CPU the tracker's processes (the primary and its workers) spent
 *   per announce, from /proc, so a slower rate on a busy machine can be told from more work.
 * - node-floor (load/udp-floor.ts): node:dgram answering each datagram with an answer of
 *   the usual size and nothing else, and node:net answering each connection's first read
 *   with a fixed answer and closing: Node's own cost per datagram and per connection beside
 *   opentracker's per announce.
 * - Each line gives the load generator's CPU per announce too (wrk or udp-load, measured by
 *   /usr/bin/time when installed): on a 2-core machine the generator's share bounds what a
 *   second tracker worker can add.
 * TRACKER_BENCH_ONLY=name,name limits the targets (opentracker is always run).
 * The machine is shared: compare within one run only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, which } from '@swarmcast/testkit';

const run = promisify(execFile);
const env = process.env;
const seconds = Number(env.TRACKER_BENCH_SECONDS ?? 5);
const warmup = Number(env.TRACKER_BENCH_WARMUP ?? 5);
const rounds = Number(env.TRACKER_BENCH_ROUNDS ?? 3);
const torrents = Number(env.TRACKER_BENCH_TORRENTS ?? 1000);
const connections = Number(env.TRACKER_BENCH_CONNECTIONS ?? 100);
const inflight = Number(env.TRACKER_BENCH_INFLIGHT ?? 128);
const workerCount = Number(env.TRACKER_BENCH_WORKERS ?? 2);
const only = (env.TRACKER_BENCH_ONLY ?? '').split(',').filter(Boolean);
const here = import.meta.dirname;
const root = join(here, '..', '..', '..');

interface Sample {
  rps: number;
  /** CPU microseconds the tracker's processes spent per announce answered. */
  cpuUs?: number;
  /** Of which the top process (a cluster's primary: the fact publisher, not serving). */
  topCpuUs?: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU microseconds the load generator spent per announce answered. */
  genCpuUs?: number;
}

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
  http: boolean;
  udp: boolean;
}

async function waitReady(child: ChildProcess, what: string, word = 'ready'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // Generous: on a loaded machine a CLI with its stream and workers takes tens of seconds.
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 180_000);
    child.stdout?.on('data', (d) => {
      if (String(d).includes(word)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

/** bench/load/udp-floor.ts: what node:dgram and node:net alone cost per datagram and connection. */
async function startFloor(): Promise<Target> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'load', 'udp-floor.ts'), String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await waitReady(child, 'node-floor');
  return { name: 'node-floor', port, child, http: true, udp: true };
}

async function startNode(kind: string): Promise<Target> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'load', 'serve.ts'), kind, String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await waitReady(child, kind);
  return { name: kind, port, child, http: true, udp: true };
}

/** `swarmcast tracker` as a user starts it: facts on (embedded stream), rate limit off. */
async function startCli(work: string, workers: number): Promise<Target> {
  const port = await freePort();
  const name = workers > 1 ? `cli-${workers}w` : 'cli-1w';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'packages', 'cli', 'src', 'main.ts'),
      'tracker',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--rate-limit',
      '0',
      '--workers',
      String(workers),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...env, DATA_DIR: join(work, name) } },
  );
  await waitReady(child, name, 'listening');
  return { name, port, child, http: true, udp: true };
}

/**
 * utime + stime in seconds of a process and all its descendants (the cluster workers), and
 * of the process alone.
 */
async function treeCpuSeconds(pid: number): Promise<{ tree: number; top: number }> {
  const { readdir, readFile } = await import('node:fs/promises');
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const text = await readFile(`/proc/${d}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The process ended while listing.
    }
  }
  let ticks = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) todo.push(child);
  }
  return { tree: ticks / 100, top: (stats.get(pid)?.ticks ?? 0) / 100 }; // USER_HZ
}

/** Hash i: 4-byte big-endian index then 16 bytes 0x5a (the load generators use the same). */
function hashHex(i: number): string {
  return i.toString(16).padStart(8, '0') + '5a'.repeat(16);
}

async function startOpentracker(work: string): Promise<Target> {
  const port = await freePort();
  const dir = join(work, 'ot');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'whitelist.txt'),
    `${Array.from({ length: torrents }, (_, i) => hashHex(i)).join('\n')}\n`,
  );
  // Run as root it chroots into -d and drops to nobody, who must read the whitelist.
  await chmod(work, 0o755);
  await chmod(dir, 0o755);
  await chmod(join(dir, 'whitelist.txt'), 0o644);
  const child = spawn(
    'opentracker',
    ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-w', '/whitelist.txt'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // opentracker prints nothing when ready: poll its HTTP port.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/stats`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('opentracker did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name: 'opentracker', port, child, http: true, udp: true };
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** The generator's command, under /usr/bin/time when installed (its CPU on stderr). */
const timeBinary = which('/usr/bin/time');
const timed = (cmd: string, args: string[]): [string, string[]] =>
  timeBinary ? [timeBinary, ['-f', 'gencpu %U %S', cmd, ...args]] : [cmd, args];

/** CPU microseconds per announce of the generator, from /usr/bin/time's line. */
function genCpu(stderr: string, answered: number): number | undefined {
  const m = /gencpu ([\d.]+) ([\d.]+)/.exec(stderr);
  return m ? ((Number(m[1]) + Number(m[2])) * 1e6) / answered : undefined;
}

async function wrk(port: number, duration = seconds): Promise<Sample> {
  const { stdout, stderr } = await run(
    ...timed('wrk', [
      '-t',
      '2',
      '-c',
      String(connections),
      '-d',
      `${duration}s`,
      '--latency',
      '-s',
      join(here, 'load', 'announce.lua'),
      `http://127.0.0.1:${port}/announce`,
    ]),
    { env: { ...env, TORRENTS: String(torrents) }, maxBuffer: 1 << 20 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '';
  const p99 = /\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '';
  const total = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  return { rps, p50Ms: toMs(p50), p99Ms: toMs(p99), genCpuUs: genCpu(stderr, total) };
}

async function udpLoad(binary: string, port: number, duration = seconds): Promise<Sample> {
  const { stdout, stderr } = await run(
    ...timed(binary, ['127.0.0.1', String(port), String(duration), String(inflight), String(torrents)]),
  );
  const get = (k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(stdout)?.[1]);
  return {
    rps: get('rps'),
    p50Ms: get('p50_us') / 1000,
    p99Ms: get('p99_us') / 1000,
    genCpuUs: genCpu(stderr, get('ok')),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  for (const b of ['wrk', 'gcc', 'opentracker']) {
    if (!which(b)) {
      console.log(`skipped: ${b} is not installed (see .ci/run)`);
      return;
    }
  }
  const work = await mkdtemp(join(tmpdir(), 'swarmcast-tracker-bench-'));
  const udpBinary = join(work, 'udp-load');
  await run('gcc', ['-O2', '-o', udpBinary, join(here, 'load', 'udp-load.c')]);
  const targets: Target[] = [];
  try {
    const want = (name: string) => only.length === 0 || only.includes(name);
    if (want('ours')) targets.push(await startNode('ours'));
    if (want('ours-fastify')) targets.push(await startNode('ours-fastify'));
    if (want('cli-1w')) targets.push(await startCli(work, 1));
    if (want(`cli-${workerCount}w`)) targets.push(await startCli(work, workerCount));
    targets.push(await startOpentracker(work));
    if (want('bittorrent-tracker')) targets.push(await startNode('bittorrent-tracker'));
    if (want('node-floor')) targets.push(await startFloor());
    // Warm-up, not counted: each process's JIT needs a few thousand announces of each kind
    // before its code is optimised, and a cluster's workers each see only their share, so
    // rounds without it measured compilation and baseline code (2 workers' first HTTP
    // seconds ran at a quarter of their warm rate).
    for (const t of targets) {
      if (t.http) await wrk(t.port, warmup);
      if (t.udp) await udpLoad(udpBinary, t.port, warmup);
    }
    console.log(
      `announce bench: ${torrents} torrents, random peers, ${warmup}s warm-up, ${seconds}s x ${rounds} rounds; ` +
        `HTTP wrk c=${connections} Connection: close; UDP ${inflight} in flight`,
    );
    const results = new Map<string, Sample[]>();
    for (let r = 0; r < rounds; r++) {
      for (const proto of ['http', 'udp'] as const) {
        for (const t of targets) {
          if (proto === 'udp' && t.name === 'ours-fastify') continue; // same UDP server as ours
          if (proto === 'http' && !t.http) continue;
          const cpuBefore = await treeCpuSeconds(t.child.pid!);
          const s = proto === 'http' ? await wrk(t.port) : await udpLoad(udpBinary, t.port);
          const cpuAfter = await treeCpuSeconds(t.child.pid!);
          s.cpuUs = ((cpuAfter.tree - cpuBefore.tree) * 1e6) / (s.rps * seconds);
          s.topCpuUs = ((cpuAfter.top - cpuBefore.top) * 1e6) / (s.rps * seconds);
          const key = `${proto} ${t.name}`;
          results.set(key, [...(results.get(key) ?? []), s]);
          console.log(
            `  round ${r + 1} ${key.padEnd(26)} ${Math.round(s.rps)}/s p50 ${s.p50Ms.toFixed(2)} ms p99 ${s.p99Ms.toFixed(2)} ms ` +
              `cpu ${s.cpuUs.toFixed(0)} us/announce${t.name.endsWith('w') && t.name !== 'cli-1w' ? ` (primary ${s.topCpuUs.toFixed(0)})` : ''}` +
              `${s.genCpuUs === undefined ? '' : `, generator ${s.genCpuUs.toFixed(0)}`}  load ${loadavg()[0]!.toFixed(2)}`,
          );
        }
      }
    }
    const summary: Record<
      string,
      { rps: number; p50Ms: number; p99Ms: number; cpuUs: number; genCpuUs: number }
    > = {};
    console.log('\nmedians:');
    for (const [key, samples] of results) {
      summary[key] = {
        rps: median(samples.map((s) => s.rps)),
        p50Ms: median(samples.map((s) => s.p50Ms)),
        p99Ms: median(samples.map((s) => s.p99Ms)),
        cpuUs: median(samples.map((s) => s.cpuUs ?? Number.NaN)),
        genCpuUs: median(samples.map((s) => s.genCpuUs ?? Number.NaN)),
      };
      const m = summary[key]!;
      console.log(
        `  ${key.padEnd(26)} ${Math.round(m.rps).toString().padStart(7)}/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  cpu ${m.cpuUs.toFixed(0)} us/announce${Number.isFinite(m.genCpuUs) ? `, generator ${m.genCpuUs.toFixed(0)}` : ''}`,
      );
    }
    console.log(
      `\nratios (announces/s, ours / reference; goal >= 2x bittorrent-tracker and >= 0.5x opentracker), load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}:`,
    );
    const ours = ['ours', 'ours-fastify', 'cli-1w', `cli-${workerCount}w`];
    for (const proto of ['http', 'udp']) {
      for (const name of ours) {
        const mine = summary[`${proto} ${name}`]?.rps;
        if (mine === undefined) continue;
        for (const ref of ['opentracker', 'bittorrent-tracker']) {
          const other = summary[`${proto} ${ref}`]?.rps;
          if (other === undefined) continue;
          console.log(`  ${proto} ${name.padEnd(12)} / ${ref.padEnd(20)} ${(mine / other).toFixed(2)}x`);
        }
      }
      const one = summary[`${proto} cli-1w`]?.rps;
      const many = summary[`${proto} cli-${workerCount}w`]?.rps;
      if (one && many)
        console.log(
          `  ${proto} swarmcast tracker ${workerCount} workers / 1 worker: ${(many / one).toFixed(2)}x`,
        );
    }
    // The floor: a Node server that answers without doing anything. If its CPU per datagram
    // (or connection) is above half of opentracker's per announce, no tracker on node:dgram
    // (node:net) can reach 0.5x opentracker's announces per CPU second on one core.
    for (const proto of ['udp', 'http']) {
      const floor = summary[`${proto} node-floor`]?.cpuUs;
      const ot = summary[`${proto} opentracker`]?.cpuUs;
      if (floor && ot)
        console.log(
          `  ${proto} node floor ${floor.toFixed(1)} us/${proto === 'udp' ? 'datagram' : 'connection'} vs opentracker ${ot.toFixed(1)} us/announce: ${(floor / ot).toFixed(2)}x`,
        );
    }
    const fastify = summary['http ours-fastify']?.rps;
    const plain = summary['http ours']?.rps;
    if (fastify && plain)
      console.log(`  http ours in Fastify / ours standalone (node:http): ${(fastify / plain).toFixed(2)}x`);
    const outDir = join(here, '..', '..', '..', 'bench', 'results');
    await mkdir(outDir, { recursive: true });
    await writeFile(
      join(outDir, 'tracker-announce.json'),
      `${JSON.stringify({ seconds, rounds, torrents, connections, inflight, workers: workerCount, load: loadavg(), summary }, null, 2)}\n`,
    );
  } finally {
    for (const t of targets) t.child.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
  }
}

await main();
