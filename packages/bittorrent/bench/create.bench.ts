/**
 * Torrent creation: ours against `mktorrent -t 2` on the same file, alternating who goes first,
 * SWARMCAST_BENCH_ROUNDS rounds (default 3); prints GiB/s and CPU seconds per GiB, medians and
 * ratios, with the load average beside each round. Size: SWARMCAST_BENCH_CREATE_BYTES
 * (default 1 GiB; 268435456 for a quick run), generated once in a temp dir. A warm-up pass
 * of each puts the file in the page cache, so every run reads from memory.
 *
 * Ours three ways:
 * - `swarmcast create --v1` as users run it: the CLI built to JavaScript (dist/swarmcast.mjs,
 *   built here first, as at install), one process from spawn to exit, so Node's and the hash
 *   worker's start-up count, as mktorrent's does. This is the figure of issue #17.
 * - `swarmcast create --hybrid`: v1 and v2 hashes (SHA-1 and a SHA-256 merkle tree per
 *   piece), so more work than mktorrent's v1: not like with like, printed for what it costs.
 * - `createTorrent` in this process (v1), its worker threads already started by the warm-up:
 *   the hashing alone, as a node that publishes episodes pays it.
 *
 * The machine is shared, so CPU seconds are the main figure and wall time the second. A
 * process's CPU is its user + system time as reaped by this process (cutime + cstime of
 * /proc/self/stat, every thread of it); in-process, `process.cpuUsage` (every thread).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../src/node/index.ts';

const bytes = Number(process.env.SWARMCAST_BENCH_CREATE_BYTES ?? 2 ** 30);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const pieceLength = 262144; // mktorrent's default (-l 18)
const GiB = 2 ** 30;
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);

/** utime, stime, cutime, cstime of a process, in seconds (fields 14-17 of /proc/<pid>/stat). */
function times(pid: number | 'self'): number[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 15)
    .map((t) => Number(t) / clockTicks);
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const block = new Uint8Array(4 * 1024 * 1024);
  let seed = 12345;
  for (let i = 0; i < block.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    block[i] = seed >>> 24;
  }
  for (let written = 0; written < size; ) {
    const n = Math.min(block.length, size - written);
    block[0] = written & 255; // so no two blocks are the same
    if (!out.write(block.slice(0, n))) await new Promise((r) => out.once('drain', r));
    written += n;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

interface Figure {
  /** GiB/s, wall clock. */
  rate: number;
  /** CPU seconds per GiB. */
  cpu: number;
}

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'dist', 'swarmcast.mjs');

/** CPU and wall of a child process, from spawn to exit (its reaped user + system time). */
function timed(command: string, args: string[]): Figure {
  const [, , cu0, cs0] = times('self');
  const t = performance.now();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0)
    throw new Error(`${command} exited ${r.status}: ${r.stderr?.toString() ?? r.error?.message}`);
  const wall = (performance.now() - t) / 1000;
  const [, , cu1, cs1] = times('self');
  return { rate: bytes / GiB / wall, cpu: (cu1! - cu0! + cs1! - cs0!) / (bytes / GiB) };
}

const mktorrent = (file: string, out: string) => timed('mktorrent', ['-t', '2', '-l', '18', '-o', out, file]);
const cliCreate = (file: string, out: string, format: '--v1' | '--hybrid') =>
  timed(process.execPath, [
    cli,
    'create',
    file,
    '-o',
    out,
    '--piece-length',
    String(pieceLength),
    format,
    '--json',
  ]);

async function inProcess(file: string): Promise<Figure> {
  const c0 = process.cpuUsage();
  const t = performance.now();
  const made = await createTorrent(file, { version: 'v1', pieceLength });
  if (!made.ok) throw new Error(made.error.message);
  const wall = (performance.now() - t) / 1000;
  const c = process.cpuUsage(c0);
  return { rate: bytes / GiB / wall, cpu: (c.user + c.system) / 1e6 / (bytes / GiB) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const show = (f: Figure) => `${f.rate.toFixed(2)} GiB/s ${f.cpu.toFixed(2)} s CPU/GiB`;

const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('scripts/build.mjs failed');
const dir = await mkdtemp(join(tmpdir(), 'swarmcast-bench-create-'));
try {
  const file = join(dir, 'payload.bin');
  await writeRandomFile(file, bytes);
  // page cache, and the in-process pool's worker
  mktorrent(file, join(dir, 'warm.torrent'));
  await inProcess(file);
  console.log(
    `payload ${(bytes / GiB).toFixed(2)} GiB, piece length ${pieceLength}, ${rounds} rounds; load ${load()}`,
  );
  const runs = {
    'swarmcast create --v1': (round: number) => cliCreate(file, join(dir, `v1-${round}.torrent`), '--v1'),
    'mktorrent -t 2': (round: number) => mktorrent(file, join(dir, `mk-${round}.torrent`)),
    'swarmcast create --hybrid': (round: number) =>
      cliCreate(file, join(dir, `hybrid-${round}.torrent`), '--hybrid'),
    'createTorrent in-process v1': () => inProcess(file),
  };
  const names = Object.keys(runs) as (keyof typeof runs)[];
  const figures = new Map<string, Figure[]>(names.map((n) => [n, []]));
  for (let round = 1; round <= rounds; round++) {
    // who goes first alternates
    for (const name of round % 2 === 1 ? names : [...names].reverse()) {
      figures.get(name)!.push(await runs[name](round));
    }
    console.log(
      `round ${round}: ${names.map((n) => `${n} ${show(figures.get(n)!.at(-1)!)}`).join(' | ')} | load ${load()}`,
    );
  }
  const med = (name: string) => {
    const fs = figures.get(name)!;
    return { rate: median(fs.map((f) => f.rate)), cpu: median(fs.map((f) => f.cpu)) };
  };
  const mk = med('mktorrent -t 2');
  for (const name of names) {
    const m = med(name);
    console.log(
      `median ${name.padEnd(28)} ${m.rate.toFixed(2)} GiB/s, ${m.cpu.toFixed(2)} s CPU/GiB; vs mktorrent -t 2: speed ${(m.rate / mk.rate).toFixed(2)}x (goal >= 1.0 for --v1), CPU ${(m.cpu / mk.cpu).toFixed(2)}x`,
    );
  }
  console.log(`load ${load()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
