/**
 * Download throughput and CPU: the same aria2c seeder serves one torrent on loopback to
 * `swarmcast get` and to `aria2c`, alternating (who goes first alternates too), ROUNDS times.
 *   SWARMCAST_BENCH_BYTES (default 1 GiB; e.g. 268435456 for a quick run),
 *   SWARMCAST_BENCH_ROUNDS (default 3), SWARMCAST_BENCH_SEED_ROUNDS (default the same; 0 skips the seeders), SWARMCAST_BENCH_PIECE_LOG2 (default 20: 1 MiB pieces),
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
 *
 * Encryption is the same on both legs and printed (SWARMCAST_BENCH_ENCRYPTION):
 *   plain (default): both dial with the MSE handshake offering RC4 or plaintext (ours
 *     `--encryption prefer`, aria2c `--bt-require-crypto=false --bt-min-crypto-level=plain`,
 *     its defaults) and the aria2c seeder, at its default minimum level, selects plaintext: a
 *     Diffie-Hellman exchange per connection, then the payload in the clear. (aria2c cannot be
 *     told to dial with the plain BitTorrent handshake, so ours does not either.)
 *   rc4: both require RC4 (ours `--encryption require`, aria2c `--bt-require-crypto=true
 *     --bt-min-crypto-level=arc4`): the whole stream is encrypted.
 *
 * Start-up and transfer are split: every round also runs both downloaders on a torrent of
 * one 16 KiB piece from the same seeder (process start, module load, tracker announce,
 * connection and handshakes, one piece verified and written). Its CPU is the start-up
 * figure; transfer CPU is a download's CPU minus the median start-up of the same client.
 *
 * Ours runs as users run it: the CLI bundled to JavaScript (dist/swarmcast.mjs, built here
 * first, as `npm start` and `npm run swarmcast` do), not under a TypeScript loader (tsx at run
 * time costs ~1.9 s more CPU per start). Its start-up CPU (`swarmcast version`) is printed.
 *
 * Then the seeders: aria2c downloads from our seeder (`swarmcast seed`) and from the aria2c
 * seeder, alternating, and each seeder's CPU over the download is printed (from /proc). The
 * two seeders sit behind two trackers (two .torrent files with the same info dict), so each
 * downloader meets one seeder only.
 *
 * SWARMCAST_BENCH_CPU_PROF=1 adds one download by ours under `--cpu-prof` after the rounds (not
 * in the medians: profiling costs CPU) and prints its heaviest functions by self time.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as TrackerServer } from 'bittorrent-tracker';

const bytes = Number(process.env.SWARMCAST_BENCH_BYTES ?? 1024 ** 3);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const seedRounds = Number(process.env.SWARMCAST_BENCH_SEED_ROUNDS ?? rounds);
const pieceLog2 = Number(process.env.SWARMCAST_BENCH_PIECE_LOG2 ?? 20);
const outDir = process.env.SWARMCAST_BENCH_OUT_DIR;
const encryption = process.env.SWARMCAST_BENCH_ENCRYPTION ?? 'plain';
if (encryption !== 'plain' && encryption !== 'rc4')
  throw new Error('SWARMCAST_BENCH_ENCRYPTION must be plain or rc4');
/** The same encryption setting for both downloaders (see the doc comment). */
const oursCrypto = ['--encryption', encryption === 'rc4' ? 'require' : 'prefer'];
const ariaCrypto =
  encryption === 'rc4'
    ? ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4']
    : ['--bt-require-crypto=false', '--bt-min-crypto-level=plain'];
const cryptoText =
  encryption === 'rc4'
    ? 'encryption rc4: both require MSE with RC4 on the whole stream'
    : 'encryption plain: both dial with the MSE handshake offering RC4 or plaintext, the seeder selects plaintext (payload in the clear)';
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

/** user and system CPU seconds of a live process (all its threads), from /proc/<pid>/stat. */
function userSysOf(pid: number): [number, number] {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) / clockTicks, Number(f[12]) / clockTicks];
}

/** user + system CPU seconds of a live process (all its threads), from /proc/<pid>/stat. */
function cpuOf(pid: number): number {
  return cpuFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

function sysFromStat(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) / clockTicks;
}

function cpuFromStat(stat: string): number {
  // fields after the ")" that ends the command name: state is field 3, utime 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicks;
}

interface Run {
  /** Seconds from spawn to the download being complete. */
  complete: number;
  /** CPU seconds of the downloader at completion, and the system part of them. */
  cpu: number;
  sys: number;
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
    sys: number;
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
          resolve({ complete: (c.at - start) / 1000, cpu: c.cpu, sys: c.sys, exit, cpuExit });
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

/** Heaviest functions of a V8 CPU profile by self time, as printable lines. */
function profileSummary(file: string, top = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, us]) =>
        `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v aria2c && command -v mktorrent']).status !== 0) {
    console.log('skip: aria2c and mktorrent are needed');
    return;
  }
  const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('scripts/build.mjs failed');
  const cli = join(root, 'dist/swarmcast.mjs');
  const work = await mkdtemp(join(tmpdir(), 'swarmcast-bench-'));
  const downloads = outDir ? await mkdtemp(join(outDir, 'swarmcast-bench-')) : work;
  // tracker A: the aria2c seeder's swarm; tracker B: our seeder's
  const trackers = [0, 1].map(() => new TrackerServer({ udp: false, ws: false, http: true, stats: false }));
  const trackerPorts: number[] = [];
  for (const t of trackers) {
    const port = await freePort();
    trackerPorts.push(port);
    await new Promise<void>((r) => t.listen(port, '127.0.0.1', () => r()));
  }
  const seeders: ChildProcess[] = [];
  try {
    const src = join(work, 'src');
    await mkdir(src);
    spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > ${src}/payload.bin`]);
    spawnSync('sh', ['-c', `head -c 16384 /dev/urandom > ${src}/tiny.bin`]);
    const torrents = trackerPorts.map((port, i) => {
      const torrent = join(work, `payload-${i}.torrent`);
      const mk = spawnSync('mktorrent', [
        '-t',
        '2',
        '-l',
        String(pieceLog2),
        '-a',
        `http://127.0.0.1:${port}/announce`,
        '-o',
        torrent,
        `${src}/payload.bin`,
      ]);
      if (mk.status !== 0) throw new Error(`mktorrent failed: ${mk.stderr}`);
      return torrent;
    });
    const [torrent, oursSeederTorrent] = torrents as [string, string];
    // the start-up run's torrent: one 16 KiB piece, served by the same aria2c seeder
    const tinyTorrent = join(work, 'tiny.torrent');
    const mkTiny = spawnSync('mktorrent', [
      '-l',
      '15',
      '-a',
      `http://127.0.0.1:${trackerPorts[0]}/announce`,
      '-o',
      tinyTorrent,
      `${src}/tiny.bin`,
    ]);
    if (mkTiny.status !== 0) throw new Error(`mktorrent failed: ${mkTiny.stderr}`);
    /** Resolves once a seeder on `port` announced `torrents` torrents complete (after its own hash check). */
    const announcedComplete = (
      tracker: InstanceType<typeof TrackerServer>,
      port: number,
      who: string,
      torrents = 1,
    ) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the ${who} seeder never announced`)), 300_000);
        const complete = new Set<string>();
        const onAnnounce = (_addr: string, params: { left?: number; port?: number; info_hash?: string }) => {
          if (Number(params.left) === 0 && Number(params.port) === port) {
            complete.add(String(params.info_hash));
            if (complete.size < torrents) return;
            clearTimeout(t);
            resolve();
          }
        };
        for (const ev of ['start', 'update', 'complete']) tracker.on(ev, onAnnounce);
      });
    const ariaSeedPort = await freePort();
    const oursSeedPort = await freePort();
    const seeding = [
      announcedComplete(trackers[0]!, ariaSeedPort, 'aria2c', 2),
      announcedComplete(trackers[1]!, oursSeedPort, 'swarmcast'),
    ];
    const ariaSeeder = spawn(
      'aria2c',
      [
        ...quiet,
        '--interface=127.0.0.1',
        '--check-integrity=true',
        '--seed-ratio=0.0',
        `--listen-port=${ariaSeedPort}`,
        `--dir=${src}`,
        torrent,
        tinyTorrent,
      ],
      { stdio: 'ignore' },
    );
    seeders.push(ariaSeeder);
    const oursSeeder = spawn(
      process.execPath,
      [cli, 'seed', oursSeederTorrent, src, '--port', String(oursSeedPort), '--host', '127.0.0.1'],
      { stdio: 'ignore' },
    );
    seeders.push(oursSeeder);
    await Promise.all(seeding);
    const hook = join(work, 'complete-hook.sh');
    await writeFile(
      hook,
      // aria2c runs the hook as its child: $PPID is aria2c, so its CPU at completion is read here
      '#!/bin/sh\ncat /proc/$PPID/stat > "$BENCH_MARK.tmp"; date +%s.%N >> "$BENCH_MARK.tmp"; mv "$BENCH_MARK.tmp" "$BENCH_MARK"\n',
      { mode: 0o755 },
    );
    const startup: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = spawnSync('bash', [
        '-c',
        '"$@" >/dev/null; times',
        'bench',
        process.execPath,
        cli,
        'version',
      ]);
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(t.stdout.toString().trim());
      if (m) startup.push(Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]));
    }
    const ours: Run[] = [];
    const theirs: Run[] = [];
    const mb = bytes / 1e6;
    console.log(
      `payload ${(bytes / 1024 ** 2).toFixed(0)} MiB, pieces of ${2 ** pieceLog2 / 1024} KiB, ${rounds} rounds, downloads to ${downloads}; ${cryptoText}; swarmcast version ${median(startup).toFixed(2)} s CPU; load average at start ${load()}`,
    );
    const runOurs = async (i: number, nodeArgs: string[] = [], file = torrent): Promise<Run> => {
      const out = join(downloads, `ours-${i}`);
      const r = await run(
        [
          process.execPath,
          ...nodeArgs,
          cli,
          'get',
          file,
          '-o',
          out,
          '--json',
          '--timeout',
          '600',
          ...oursCrypto,
        ],
        {},
        (c) =>
          new Promise((resolve) =>
            c.line((l) => {
              if (!l.startsWith('{"event":"done"')) return;
              const [user, sys] = userSysOf(c.pid());
              resolve({ at: performance.now(), cpu: user + sys, sys });
            }),
          ),
      );
      await rm(out, { recursive: true, force: true });
      return r;
    };
    const runAria = async (i: number, file = torrent): Promise<Run> => {
      const out = join(downloads, `aria-${i}`);
      const mark = join(work, `aria-${i}.done`);
      await rm(mark, { force: true });
      const r = await run(
        [
          'aria2c',
          ...quiet,
          '--interface=127.0.0.1',
          '--seed-time=0',
          `--listen-port=${await freePort()}`,
          '--file-allocation=none',
          ...ariaCrypto,
          `--on-bt-download-complete=${hook}`,
          `--dir=${out}`,
          file,
        ],
        { BENCH_MARK: mark },
        async (c) => {
          // the hook has run by the time aria2c exits; read what it wrote
          await c.exited;
          const text = await readFile(mark, 'utf8').catch(() => {
            throw new Error('aria2c never ran its completion hook');
          });
          const [stat, when] = text.trim().split('\n');
          return { at: epochToPerf(Number(when)), cpu: cpuFromStat(stat!), sys: sysFromStat(stat!) };
        },
      );
      await rm(out, { recursive: true, force: true });
      return r;
    };
    console.log(
      'downloaders (seeder: aria2c); start-up = the same client fetching a 1-piece (16 KiB) torrent',
    );
    const oursStart: Run[] = [];
    const theirsStart: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        oursStart.push(await runOurs(200 + i, [], tinyTorrent));
        ours.push(await runOurs(i));
        theirsStart.push(await runAria(200 + i, tinyTorrent));
        theirs.push(await runAria(i));
      } else {
        theirsStart.push(await runAria(200 + i, tinyTorrent));
        theirs.push(await runAria(i));
        oursStart.push(await runOurs(200 + i, [], tinyTorrent));
        ours.push(await runOurs(i));
      }
      const o = ours[i]!;
      const a = theirs[i]!;
      console.log(
        `round ${i + 1}: swarmcast ${(mb / o.complete).toFixed(0)} MB/s ${o.cpu.toFixed(2)} s CPU (${o.sys.toFixed(2)} system; start-up ${oursStart[i]!.cpu.toFixed(2)} s; exit ${o.exit.toFixed(1)} s, ${o.cpuExit.toFixed(2)} s CPU) | aria2c ${(mb / a.complete).toFixed(0)} MB/s ${a.cpu.toFixed(2)} s CPU (${a.sys.toFixed(2)} system; start-up ${theirsStart[i]!.cpu.toFixed(2)} s; exit ${a.exit.toFixed(1)} s, ${a.cpuExit.toFixed(2)} s CPU) | load ${load()}`,
      );
    }
    const om = median(ours.map((r) => mb / r.complete));
    const am = median(theirs.map((r) => mb / r.complete));
    const oc = median(ours.map((r) => r.cpu));
    const ac = median(theirs.map((r) => r.cpu));
    const startOurs = median(oursStart.map((r) => r.cpu));
    const startAria = median(theirsStart.map((r) => r.cpu));
    // transfer: each round's download minus the median start-up of the same client
    const ot = median(ours.map((r) => r.cpu - startOurs));
    const at = median(theirs.map((r) => r.cpu - startAria));
    const gib = bytes / 1024 ** 3;
    console.log(
      `median swarmcast get ${om.toFixed(0)} MB/s, ${oc.toFixed(2)} s CPU = start-up ${startOurs.toFixed(2)} + transfer ${ot.toFixed(2)} (${(ot / gib).toFixed(2)} s/GiB)`,
    );
    console.log(
      `median aria2c        ${am.toFixed(0)} MB/s, ${ac.toFixed(2)} s CPU = start-up ${startAria.toFixed(2)} + transfer ${at.toFixed(2)} (${(at / gib).toFixed(2)} s/GiB)`,
    );
    console.log(
      `ratio throughput swarmcast/aria2c ${(om / am).toFixed(2)} (goal >= 1.0); CPU swarmcast/aria2c ${(oc / ac).toFixed(2)} (goal <= 1.0): start-up ${(startOurs / startAria).toFixed(1)}x (${((startOurs - startAria) * 1000).toFixed(0)} ms more), transfer ${(ot / at).toFixed(2)}x; ${cryptoText}; load average ${load()}`,
    );

    console.log(`seeders (downloader: aria2c), ${seedRounds} rounds`);
    const seeded: { ours: { run: Run; cpu: number }[]; aria: { run: Run; cpu: number }[] } = {
      ours: [],
      aria: [],
    };
    const seedRound = async (who: 'ours' | 'aria', i: number) => {
      const seeder = who === 'ours' ? oursSeeder : ariaSeeder;
      const before = cpuOf(seeder.pid!);
      const r = await runAria(
        100 + 2 * i + (who === 'ours' ? 0 : 1),
        who === 'ours' ? oursSeederTorrent : torrent,
      );
      seeded[who].push({ run: r, cpu: cpuOf(seeder.pid!) - before });
    };
    for (let i = 0; i < seedRounds; i++) {
      for (const who of i % 2 === 0 ? (['ours', 'aria'] as const) : (['aria', 'ours'] as const)) {
        await seedRound(who, i);
      }
      const o = seeded.ours[i]!;
      const a = seeded.aria[i]!;
      console.log(
        `round ${i + 1}: swarmcast seed ${(mb / o.run.complete).toFixed(0)} MB/s, seeder ${o.cpu.toFixed(2)} s CPU | aria2c seeder ${(mb / a.run.complete).toFixed(0)} MB/s, seeder ${a.cpu.toFixed(2)} s CPU | load ${load()}`,
      );
    }
    if (seedRounds > 0) {
      const so = median(seeded.ours.map((x) => x.cpu));
      const sa = median(seeded.aria.map((x) => x.cpu));
      const sor = median(seeded.ours.map((x) => mb / x.run.complete));
      const sar = median(seeded.aria.map((x) => mb / x.run.complete));
      console.log(
        `median seeder CPU: swarmcast ${so.toFixed(2)} s (${(so / gib).toFixed(2)} s/GiB) at ${sor.toFixed(0)} MB/s, aria2c ${sa.toFixed(2)} s (${(sa / gib).toFixed(2)} s/GiB) at ${sar.toFixed(0)} MB/s; ratio CPU ${(so / sa).toFixed(2)}, throughput ${(sor / sar).toFixed(2)}; load average ${load()}`,
      );
    }

    if (process.env.SWARMCAST_BENCH_CPU_PROF) {
      const profDir = join(work, 'prof');
      await mkdir(profDir);
      const r = await runOurs(99, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
      const [file] = readdirSync(profDir);
      console.log(
        `profile of one swarmcast get (${(mb / r.complete).toFixed(0)} MB/s, ${r.cpu.toFixed(2)} s CPU under the profiler), main thread, self time:`,
      );
      if (file) for (const l of profileSummary(join(profDir, file))) console.log(l);
    }
  } finally {
    for (const s of seeders) s.kill('SIGKILL');
    for (const t of trackers) t.close();
    await rm(work, { recursive: true, force: true });
    if (downloads !== work) await rm(downloads, { recursive: true, force: true });
  }
}

/** A wall-clock time (seconds since the epoch, from `date`) on the performance.now() scale. */
function epochToPerf(epochSeconds: number): number {
  return epochSeconds * 1000 - performance.timeOrigin;
}

await main();
