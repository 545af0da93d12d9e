/**
 * Download throughput and CPU: the same aria2c seeder serves one torrent on loopback to
 * `swarmcast get` and to `aria2c`, alternating, ROUNDS times. Prints MB/s and downloader CPU
 * seconds (user + system, from the shell's `times` after the child exits), medians and ratios.
 *   SWARMCAST_BENCH_BYTES (default 1 GiB), SWARMCAST_BENCH_ROUNDS (default 3).
 * The machine is shared: quote medians, compare only within one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as TrackerServer } from 'bittorrent-tracker';

const bytes = Number(process.env.SWARMCAST_BENCH_BYTES ?? 1024 ** 3);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const root = join(import.meta.dirname, '..', '..', '..');
const quiet = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
];

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Runs a command under bash and returns wall seconds and the children's CPU seconds. */
function timed(cmd: string): Promise<{ seconds: number; cpu: number; code: number | null; out: string }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn('bash', ['-c', `${cmd}\nrc=$?\ntimes\nexit $rc`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const lines = out.trim().split('\n');
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
      const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      resolve({ seconds, cpu, code, out });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v aria2c && command -v mktorrent']).status !== 0) {
    console.log('skip: aria2c and mktorrent are needed');
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'swarmcast-bench-'));
  const tracker = new TrackerServer({ udp: false, ws: false, http: true, stats: false });
  const trackerPort = await freePort();
  await new Promise<void>((r) => tracker.listen(trackerPort, '127.0.0.1', () => r()));
  const seedPort = await freePort();
  let seeder: ReturnType<typeof spawn> | undefined;
  try {
    const src = join(work, 'src');
    await mkdir(src);
    spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > ${src}/payload.bin`]);
    const torrent = join(work, 'payload.torrent');
    spawnSync('mktorrent', [
      '-t',
      '2',
      '-l',
      '20',
      '-a',
      `http://127.0.0.1:${trackerPort}/announce`,
      '-o',
      torrent,
      `${src}/payload.bin`,
    ]);
    seeder = spawn(
      'aria2c',
      [
        ...quiet,
        '--interface=127.0.0.1',
        '--check-integrity=true',
        '--seed-ratio=0.0',
        `--listen-port=${seedPort}`,
        '--bt-tracker-interval=1',
        `--dir=${src}`,
        '--summary-interval=0',
        '--console-log-level=error',
        torrent,
      ],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, Math.max(3000, (bytes / 1024 ** 3) * 4000))); // its hash check
    const ours: { mbs: number; cpu: number }[] = [];
    const theirs: { mbs: number; cpu: number }[] = [];
    const mb = bytes / 1e6;
    for (let i = 0; i < rounds; i++) {
      const outA = join(work, `ours-${i}`);
      const a = await timed(
        `node --import tsx ${root}/packages/cli/src/main.ts get ${torrent} -o ${outA} --peer 127.0.0.1:${seedPort} --timeout 600 >/dev/null`,
      );
      if (a.code !== 0) throw new Error(`swarmcast get failed: ${a.out}`);
      ours.push({ mbs: mb / a.seconds, cpu: a.cpu });
      await rm(outA, { recursive: true, force: true });
      const outB = join(work, `aria-${i}`);
      const port = await freePort();
      const b = await timed(
        `aria2c ${quiet.join(' ')} --interface=127.0.0.1 --seed-time=0 --listen-port=${port} --file-allocation=none --summary-interval=0 --console-log-level=error --dir=${outB} ${torrent} >/dev/null`,
      );
      if (b.code !== 0) throw new Error(`aria2c failed: ${b.out}`);
      theirs.push({ mbs: mb / b.seconds, cpu: b.cpu });
      await rm(outB, { recursive: true, force: true });
      console.log(
        `round ${i + 1}: swarmcast ${ours[i]!.mbs.toFixed(0)} MB/s ${ours[i]!.cpu.toFixed(2)} s CPU | aria2c ${theirs[i]!.mbs.toFixed(0)} MB/s ${theirs[i]!.cpu.toFixed(2)} s CPU`,
      );
    }
    const om = median(ours.map((r) => r.mbs));
    const am = median(theirs.map((r) => r.mbs));
    const oc = median(ours.map((r) => r.cpu));
    const ac = median(theirs.map((r) => r.cpu));
    console.log(
      `payload ${(bytes / 1024 ** 2).toFixed(0)} MiB, ${rounds} rounds, wall time from start to exit (includes start-up; aria2c exits ~1 s after completion)`,
    );
    console.log(`median swarmcast ${om.toFixed(0)} MB/s, ${oc.toFixed(2)} s CPU`);
    console.log(`median aria2c    ${am.toFixed(0)} MB/s, ${ac.toFixed(2)} s CPU`);
    console.log(
      `ratio throughput swarmcast/aria2c ${(om / am).toFixed(2)} (goal >= 1.0); CPU swarmcast/aria2c ${(oc / ac).toFixed(2)} (goal < 1.0)`,
    );
  } finally {
    seeder?.kill('SIGKILL');
    tracker.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
