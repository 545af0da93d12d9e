/**
 * Start-up cost of `npm start` (`swarmcast up`): resident memory and CPU of the node
 * process once it says it is up, and again after it settles (the demo publish and seeding
 * run after the listen). One first start on an empty data directory (initdb, demo
 * publish), then START_BENCH_ROUNDS (3) restarts on that directory, alternating the built
 * bundle (dist/swarmcast.mjs, what `npm start` runs) and the sources under tsx (as before);
 * medians of the restarts. Beside them, the reference: a bare node process.
 * Env: START_BENCH_SETTLE_MS (5000), START_BENCH_ROUNDS (3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
const rounds = Number(process.env.START_BENCH_ROUNDS ?? 3);
const settleMs = Number(process.env.START_BENCH_SETTLE_MS ?? 5000);

interface Sample {
  readyMs: number;
  cpuToReadyS: number;
  rssReadyMiB: number;
  rssSettledMiB: number;
  peakMiB: number;
}

function status(pid: number): { rss: number; hwm: number; cpu: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, cpu: (Number(f[11]) + Number(f[12])) / 100 };
}

async function startOnce(args: string[], readyWord: string): Promise<Sample> {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('did not start within 180 s')), 180_000);
      child.stdout!.on('data', (d) => {
        if (String(d).includes(readyWord)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', () => undefined);
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const readyMs = Date.now() - t0;
    const ready = status(child.pid!);
    await new Promise((r) => setTimeout(r, settleMs));
    const settled = status(child.pid!);
    return {
      readyMs,
      cpuToReadyS: ready.cpu,
      rssReadyMiB: ready.rss,
      rssSettledMiB: settled.rss,
      peakMiB: settled.hwm,
    };
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const data = await mkdtemp(join(tmpdir(), 'swarmcast-start-bench-'));
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const up = [join(root, 'dist', 'swarmcast.mjs'), 'up', '--port', '0', '--data', data];
  const upTsx = [
    '--import',
    'tsx',
    join(root, 'packages/cli/src/main.ts'),
    'up',
    '--port',
    '0',
    '--data',
    data,
  ];
  const bare = ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'];
  const show = (name: string, s: Sample) =>
    console.log(
      `  ${name.padEnd(22)} ready ${(s.readyMs / 1000).toFixed(1)} s, CPU to ready ${s.cpuToReadyS.toFixed(1)} s, RSS at ready ${s.rssReadyMiB.toFixed(0)} MiB, after ${settleMs / 1000} s ${s.rssSettledMiB.toFixed(0)} MiB, peak ${s.peakMiB.toFixed(0)} MiB  (load ${loadavg()[0]!.toFixed(2)})`,
    );
  try {
    const first = await startOnce(up, 'node up at');
    show('first start (initdb)', first);
    const again: Sample[] = [];
    const againTsx: Sample[] = [];
    const refs: Sample[] = [];
    for (let r = 0; r < rounds; r++) {
      again.push(await startOnce(up, 'node up at'));
      show(`restart ${r + 1} built`, again.at(-1)!);
      againTsx.push(await startOnce(upTsx, 'node up at'));
      show(`restart ${r + 1} tsx`, againTsx.at(-1)!);
      refs.push(await startOnce(bare, 'ready'));
      show(`bare node ${r + 1}`, refs.at(-1)!);
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const settled = m(again, 'rssSettledMiB');
    console.log(
      `\nmedian of ${rounds} restarts: RSS settled ${settled.toFixed(0)} MiB (goal <= 200), peak ${m(again, 'peakMiB').toFixed(0)} MiB, ` +
        `CPU to ready ${m(again, 'cpuToReadyS').toFixed(1)} s; under tsx ${m(againTsx, 'rssSettledMiB').toFixed(0)} MiB, ` +
        `CPU to ready ${m(againTsx, 'cpuToReadyS').toFixed(1)} s; bare node ${m(refs, 'rssSettledMiB').toFixed(0)} MiB; ` +
        `first start settled ${first.rssSettledMiB.toFixed(0)} MiB, peak ${first.peakMiB.toFixed(0)} MiB; load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'cli-start.json'),
      `${JSON.stringify({ at: new Date().toISOString(), load: loadavg(), settleMs, first, restarts: again, restartsTsx: againTsx, bare: refs }, null, 2)}\n`,
    );
  } finally {
    await rm(data, { recursive: true, force: true });
  }
}

await main();
