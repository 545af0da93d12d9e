/**
 * Download throughput and CPU: the same aria2c seeder serves one torrent on loopback to
 * `swarmcast get` and to `aria2c`, alternating (who goes first alternates too), ROUNDS times.
 *   SWARMCAST_BENCH_BYTES (default 1 GiB; e.g. 268435456 for a quick run),
 *   SWARMCAST_BENCH_ROUNDS (default 3), SWARMCAST_BENCH_PIECE_LOG2 (default 20: 1 MiB pieces),
 *   SWARMCAST_BENCH_OUT_DIR (where both download to; default the temp dir. /dev/shm takes the
 *   disk out: on disk we spend ~1.9 s more system CPU per GiB than on tmpfs, aria2c ~0.1 s).
 *
 * Fairness: both downloaders get the torrent file and find the seeder through the same local
 * HTTP tracker (no --peer for ours), and both are timed from spawn to the moment the download
 * is complete: ours when `get --json` prints its `done` event (every piece verified and
 * written, after an fdatasync that aria2c does not do), aria2c when it runs its
 * --on-bt-download-complete hook (its own exit comes up to ~1 s later, on its next tick). CPU
 * is the downloader process's own user + system time at that moment (from /proc/<pid>/stat),
 * so start-up counts for both (ours includes starting Node and tsx) and shutdown for neither;
 * CPU to exit is printed as well. The machine is shared: quote medians with the load average.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as TrackerServer } from 'bittorrent-tracker';

const bytes = Number(process.env.SWARMCAST_BENCH_BYTES ?? 1024 ** 3);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const pieceLog2 = Number(process.env.SWARMCAST_BENCH_PIECE_LOG2 ?? 20);
const outDir = process.env.SWARMCAST_BENCH_OUT_DIR;
const root = join(import.meta.dirname, '..', '..', '..');
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);
const quiet = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--summary-interval=0',
  '--console-log-level=error',
];

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** user + system CPU seconds of a live process (all its threads), from /proc/<pid>/stat. */
function cpuOf(pid: number): number {
  return cpuFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

function cpuFromStat(stat: string): number {
  // fields after the ")" that ends the command name: state is field 3, utime 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicks;
}

interface Run {
  /** Seconds from spawn to the download being complete. */
  complete: number;
  /** CPU seconds of the downloader at completion. */
  cpu: number;
  /** Seconds from spawn to exit, and CPU seconds to exit (bash `times`). */
  exit: number;
  cpuExit: number;
}

/**
 * Runs `argv` under bash (for `times`) and learns the child's pid; `completion` sees its stdout
 * lines and resolves with the moment (performance.now() scale) and CPU seconds of completion.
 */
function run(
  argv: string[],
  env: Record<string, string>,
  completion: (child: {
    pid: () => number;
    line: (fn: (l: string) => void) => void;
    exited: Promise<void>;
  }) => Promise<{
    at: number;
    cpu: number;
  }>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child: ChildProcess = spawn(
      'bash',
      ['-c', '"$@" & echo "pid $!" >&2; wait $!; rc=$?; times >&2; exit $rc', 'bench', ...argv],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    let err = '';
    let pid = 0;
    const lineFns: Array<(l: string) => void> = [];
    let outBuf = '';
    child.stdout!.on('data', (d: Buffer) => {
      outBuf += d.toString();
      let nl = outBuf.indexOf('\n');
      while (nl >= 0) {
        const line = outBuf.slice(0, nl);
        outBuf = outBuf.slice(nl + 1);
        for (const fn of lineFns) fn(line);
        nl = outBuf.indexOf('\n');
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /pid (\d+)/.exec(err);
      if (m && pid === 0) pid = Number(m[1]);
    });
    let markExited = () => {};
    const exited = new Promise<void>((r) => (markExited = r));
    const done = completion({
      pid: () => pid,
      line: (fn) => lineFns.push(fn),
      exited,
    });
    child.on('exit', (code) => {
      markExited();
      const exit = (performance.now() - start) / 1000;
      const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(err.trim());
      const cpuExit = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : Number.NaN;
      if (code !== 0) {
        reject(new Error(`${argv[0]} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      const timeout = setTimeout(() => reject(new Error(`${argv[0]} exited without completing`)), 5000);
      done.then(
        (c) => {
          clearTimeout(timeout);
          resolve({ complete: (c.at - start) / 1000, cpu: c.cpu, exit, cpuExit });
        },
        (e: unknown) => {
          clearTimeout(timeout);
          reject(e);
        },
      );
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v aria2c && command -v mktorrent']).status !== 0) {
    console.log('skip: aria2c and mktorrent are needed');
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'swarmcast-bench-'));
  const downloads = outDir ? await mkdtemp(join(outDir, 'swarmcast-bench-')) : work;
  const tracker = new TrackerServer({ udp: false, ws: false, http: true, stats: false });
  const trackerPort = await freePort();
  await new Promise<void>((r) => tracker.listen(trackerPort, '127.0.0.1', () => r()));
  const seedPort = await freePort();
  let seeder: ChildProcess | undefined;
  try {
    const src = join(work, 'src');
    await mkdir(src);
    spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > ${src}/payload.bin`]);
    const torrent = join(work, 'payload.torrent');
    const mk = spawnSync('mktorrent', [
      '-t',
      '2',
      '-l',
      String(pieceLog2),
      '-a',
      `http://127.0.0.1:${trackerPort}/announce`,
      '-o',
      torrent,
      `${src}/payload.bin`,
    ]);
    if (mk.status !== 0) throw new Error(`mktorrent failed: ${mk.stderr}`);
    // the seeder is usable once it announces as complete (after its own hash check)
    const seeding = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the aria2c seeder never announced')), 300_000);
      const onAnnounce = (_addr: string, params: { left?: number; port?: number }) => {
        if (Number(params.left) === 0 && Number(params.port) === seedPort) {
          clearTimeout(t);
          resolve();
        }
      };
      for (const ev of ['start', 'update', 'complete']) tracker.on(ev, onAnnounce);
    });
    seeder = spawn(
      'aria2c',
      [
        ...quiet,
        '--interface=127.0.0.1',
        '--check-integrity=true',
        '--seed-ratio=0.0',
        `--listen-port=${seedPort}`,
        `--dir=${src}`,
        torrent,
      ],
      { stdio: 'ignore' },
    );
    await seeding;
    const hook = join(work, 'complete-hook.sh');
    await writeFile(
      hook,
      // aria2c runs the hook as its child: $PPID is aria2c, so its CPU at completion is read here
      '#!/bin/sh\ncat /proc/$PPID/stat > "$BENCH_MARK.tmp"; date +%s.%N >> "$BENCH_MARK.tmp"; mv "$BENCH_MARK.tmp" "$BENCH_MARK"\n',
      { mode: 0o755 },
    );
    const ours: Run[] = [];
    const theirs: Run[] = [];
    const mb = bytes / 1e6;
    console.log(
      `payload ${(bytes / 1024 ** 2).toFixed(0)} MiB, pieces of ${2 ** pieceLog2 / 1024} KiB, ${rounds} rounds, downloads to ${downloads}; load average at start ${load()}`,
    );
    const runOurs = async (i: number): Promise<Run> => {
      const out = join(downloads, `ours-${i}`);
      const r = await run(
        [
          process.execPath,
          '--import',
          'tsx',
          join(root, 'packages/cli/src/main.ts'),
          'get',
          torrent,
          '-o',
          out,
          '--json',
          '--timeout',
          '600',
        ],
        {},
        (c) =>
          new Promise((resolve) =>
            c.line((l) => {
              if (l.startsWith('{"event":"done"')) resolve({ at: performance.now(), cpu: cpuOf(c.pid()) });
            }),
          ),
      );
      await rm(out, { recursive: true, force: true });
      return r;
    };
    const runAria = async (i: number): Promise<Run> => {
      const out = join(downloads, `aria-${i}`);
      const mark = join(work, `aria-${i}.done`);
      const r = await run(
        [
          'aria2c',
          ...quiet,
          '--interface=127.0.0.1',
          '--seed-time=0',
          `--listen-port=${await freePort()}`,
          '--file-allocation=none',
          `--on-bt-download-complete=${hook}`,
          `--dir=${out}`,
          torrent,
        ],
        { BENCH_MARK: mark },
        async (c) => {
          // the hook has run by the time aria2c exits; read what it wrote
          await c.exited;
          const text = await readFile(mark, 'utf8').catch(() => {
            throw new Error('aria2c never ran its completion hook');
          });
          const [stat, when] = text.trim().split('\n');
          return { at: epochToPerf(Number(when)), cpu: cpuFromStat(stat!) };
        },
      );
      await rm(out, { recursive: true, force: true });
      return r;
    };
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        ours.push(await runOurs(i));
        theirs.push(await runAria(i));
      } else {
        theirs.push(await runAria(i));
        ours.push(await runOurs(i));
      }
      const o = ours[i]!;
      const a = theirs[i]!;
      console.log(
        `round ${i + 1}: swarmcast ${(mb / o.complete).toFixed(0)} MB/s ${o.cpu.toFixed(2)} s CPU (exit ${o.exit.toFixed(1)} s, ${o.cpuExit.toFixed(2)} s CPU) | aria2c ${(mb / a.complete).toFixed(0)} MB/s ${a.cpu.toFixed(2)} s CPU (exit ${a.exit.toFixed(1)} s, ${a.cpuExit.toFixed(2)} s CPU) | load ${load()}`,
      );
    }
    const om = median(ours.map((r) => mb / r.complete));
    const am = median(theirs.map((r) => mb / r.complete));
    const oc = median(ours.map((r) => r.cpu));
    const ac = median(theirs.map((r) => r.cpu));
    const gib = bytes / 1024 ** 3;
    console.log(
      `median swarmcast get ${om.toFixed(0)} MB/s, ${oc.toFixed(2)} s CPU (${(oc / gib).toFixed(2)} s/GiB)`,
    );
    console.log(
      `median aria2c        ${am.toFixed(0)} MB/s, ${ac.toFixed(2)} s CPU (${(ac / gib).toFixed(2)} s/GiB)`,
    );
    console.log(
      `ratio throughput swarmcast/aria2c ${(om / am).toFixed(2)} (goal >= 1.0); CPU swarmcast/aria2c ${(oc / ac).toFixed(2)} (goal < 1.0); load average at end ${load()}`,
    );
  } finally {
    seeder?.kill('SIGKILL');
    tracker.close();
    await rm(work, { recursive: true, force: true });
    if (downloads !== work) await rm(downloads, { recursive: true, force: true });
  }
}

/** A wall-clock time (seconds since the epoch, from `date`) on the performance.now() scale. */
function epochToPerf(epochSeconds: number): number {
  return epochSeconds * 1000 - performance.timeOrigin;
}

await main();
