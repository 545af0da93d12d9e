/**
 * Torrent creation: ours (`createTorrent`, every core) against `mktorrent -t 2` on the same
 * file, alternating who goes first, 3 rounds; prints GiB/s and CPU seconds per GiB, medians
 * and ratios, with the load average beside each round. Size: SWARMCAST_BENCH_CREATE_BYTES
 * (default 1 GiB; 268435456 for a quick run), generated once in a temp dir. A warm-up pass
 * of each puts the file in the page cache, so both read from memory.
 *
 * The machine is shared, so CPU seconds are the main figure and wall time the second. Ours:
 * this process's CPU over the call (every thread: `process.cpuUsage`) plus whatever our
 * child processes used meanwhile (esbuild bundles the hash worker once per process); the
 * first round of ours pays that bundle and the worker start-up, as a CLI run does.
 * mktorrent: its user + system time as reaped by this process (cutime + cstime of
 * /proc/self/stat), which counts all of its threads.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** CPU seconds used so far by this process's live children (with their reaped children). */
function childrenCpu(): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) sum += times(Number(entry)).reduce((a, b) => a + b, 0);
    } catch {
      // the process is gone
    }
  }
  return sum;
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

async function ours(file: string): Promise<Figure> {
  const kids = childrenCpu();
  const c0 = process.cpuUsage();
  const t = performance.now();
  const made = await createTorrent(file, { version: 'v1', pieceLength });
  if (!made.ok) throw new Error(made.error.message);
  const wall = (performance.now() - t) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6 + (childrenCpu() - kids);
  return { rate: bytes / GiB / wall, cpu: cpu / (bytes / GiB) };
}

function mktorrent(file: string, out: string): Figure {
  const [, , cu0, cs0] = times('self');
  const t = performance.now();
  const r = spawnSync('mktorrent', ['-t', '2', '-l', '18', '-o', out, file], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`mktorrent exited ${r.status} (${r.error?.message ?? ''})`);
  const wall = (performance.now() - t) / 1000;
  const [, , cu1, cs1] = times('self');
  return { rate: bytes / GiB / wall, cpu: (cu1! - cu0! + cs1! - cs0!) / (bytes / GiB) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const show = (f: Figure) => `${f.rate.toFixed(2)} GiB/s ${f.cpu.toFixed(2)} s CPU/GiB`;

const dir = await mkdtemp(join(tmpdir(), 'swarmcast-bench-create-'));
try {
  const file = join(dir, 'payload.bin');
  await writeRandomFile(file, bytes);
  mktorrent(file, join(dir, 'warm.torrent')); // page cache
  console.log(
    `payload ${(bytes / GiB).toFixed(2)} GiB, piece length ${pieceLength}, ${rounds} rounds; load ${load()}`,
  );
  const o: Figure[] = [];
  const m: Figure[] = [];
  for (let round = 1; round <= rounds; round++) {
    const mkOut = join(dir, `mk-${round}.torrent`);
    if (round % 2 === 1) {
      o.push(await ours(file));
      m.push(mktorrent(file, mkOut));
    } else {
      m.push(mktorrent(file, mkOut));
      o.push(await ours(file));
    }
    console.log(
      `round ${round}: swarmcast ${show(o.at(-1)!)} | mktorrent -t 2 ${show(m.at(-1)!)} | load ${load()}`,
    );
  }
  const rate = [median(o.map((f) => f.rate)), median(m.map((f) => f.rate))] as const;
  const cpu = [median(o.map((f) => f.cpu)), median(m.map((f) => f.cpu))] as const;
  console.log(`median swarmcast      ${rate[0].toFixed(2)} GiB/s, ${cpu[0].toFixed(2)} s CPU/GiB`);
  console.log(`median mktorrent -t 2 ${rate[1].toFixed(2)} GiB/s, ${cpu[1].toFixed(2)} s CPU/GiB`);
  console.log(
    `ratio swarmcast/mktorrent: speed ${(rate[0] / rate[1]).toFixed(2)} (goal >= 1.0), CPU ${(cpu[0] / cpu[1]).toFixed(2)} (lower is better); load ${load()}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
