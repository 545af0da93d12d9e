/**
 * Throughput and CPU per GiB by transport, beside engine.bench.ts (which compares plain TCP
 * with aria2c): plain TCP, encrypted TCP (MSE/PE) and uTP (BEP 29), each downloaded by
 * `swarmcast get` and by qBittorrent (libtorrent) set to the same mode, from one qBittorrent
 * seeder that accepts every mode (TCP and uTP, encryption allowed), on loopback.
 *   SWARMCAST_BENCH_BYTES (default 256 MiB), SWARMCAST_BENCH_ROUNDS (default 3),
 *   SWARMCAST_BENCH_MODES (default "tcp,mse,utp").
 *
 * Modes: `tcp` ours --encryption off, qBittorrent BTProtocol=TCP, encryption off; `mse` ours
 * --encryption require (RC4 over the whole stream), qBittorrent encryption required (which
 * libtorrent may satisfy with an RC4 handshake and a plaintext stream: not quite the same
 * work); `utp` ours --utp-only, qBittorrent BTProtocol=UTP.
 *
 * Timing: ours from spawn to its `done` event (every piece verified and written), CPU of the
 * process at that moment from /proc (start-up of Node and tsx included, ~1 s); qBittorrent
 * from the Web API add to progress 1 (polled every 100 ms), CPU as the growth of the daemon's
 * own CPU over that time (its start-up excluded). Order alternates each round. The machine is
 * shared: quote medians with the load average printed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbittorrent } from '../test/qbittorrent-client.ts';
import { makeV1Torrent } from '../test/torrent-files.ts';

const bytes = Number(process.env.SWARMCAST_BENCH_BYTES ?? 256 * 1024 ** 2);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const modes = (process.env.SWARMCAST_BENCH_MODES ?? 'tcp,mse,utp').split(',') as Mode[];
const root = join(import.meta.dirname, '..', '..', '..');
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);

type Mode = 'tcp' | 'mse' | 'utp';

function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicks;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

interface Run {
  seconds: number;
  cpu: number;
}

async function runOurs(torrent: string, out: string, seedPort: number, mode: Mode): Promise<Run> {
  const args = [
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
    '--peer',
    `127.0.0.1:${seedPort}`,
    '--host',
    '127.0.0.1',
    '--encryption',
    mode === 'mse' ? 'require' : 'off',
    ...(mode === 'utp' ? ['--utp-only'] : []),
  ];
  const start = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('{"event":"done"')) {
        const r = { seconds: (performance.now() - start) / 1000, cpu: cpuOf(child.pid ?? 0) };
        buf = '';
        child.once('exit', () => resolve(r));
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`swarmcast get exited ${code}: ${err}`));
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v qbittorrent-nox']).status !== 0) {
    console.log('skip: qbittorrent-nox is needed');
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'swarmcast-tbench-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const t = await makeV1Torrent(
      join(work, 'src'),
      'payload',
      [{ path: ['payload.bin'], length: bytes }],
      1 << 20,
    );
    const seeder = await qbittorrent(join(work, 'seeder'), join(work, 'src'), {
      protocol: 'Both',
      allowEncryption: true,
    });
    stops.push(() => seeder.stop());
    await seeder.add(t.torrent);
    for (let i = 0; ; i++) {
      if ((await seeder.info(t.infoHash))?.progress === 1) break;
      if (i > 3000) throw new Error('the qBittorrent seeder never finished checking');
      await new Promise((r) => setTimeout(r, 100));
    }
    const mb = bytes / 1e6;
    const gib = bytes / 1024 ** 3;
    console.log(
      `payload ${(bytes / 1024 ** 2).toFixed(0)} MiB, pieces of 1 MiB, ${rounds} rounds, modes ${modes.join(' ')}; load average at start ${load()}`,
    );
    const summary: string[] = [];
    for (const mode of modes) {
      const out = join(work, `qbt-${mode}-out`);
      await mkdir(out, { recursive: true });
      const leech = await qbittorrent(join(work, `qbt-${mode}`), out, {
        protocol: mode === 'utp' ? 'UTP' : 'TCP',
        ...(mode === 'mse' ? { requireEncryption: true } : {}),
      });
      stops.push(() => leech.stop());
      const runTheirs = async (): Promise<Run> => {
        const cpu0 = cpuOf(leech.pid);
        const start = performance.now();
        await leech.add(t.torrent);
        await leech.addPeer(t.infoHash, `127.0.0.1:${seeder.port}`);
        for (let i = 0; ; i++) {
          if ((await leech.info(t.infoHash))?.progress === 1) break;
          if (i > 6000) throw new Error(`qBittorrent (${mode}) never finished`);
          if (i % 50 === 49) await leech.addPeer(t.infoHash, `127.0.0.1:${seeder.port}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const r = { seconds: (performance.now() - start) / 1000, cpu: cpuOf(leech.pid) - cpu0 };
        const body = new URLSearchParams({ hashes: t.infoHash, deleteFiles: 'true' });
        await (await fetch(`${leech.api}/torrents/delete`, { method: 'POST', body })).arrayBuffer();
        for (let i = 0; i < 100 && (await leech.info(t.infoHash)); i++)
          await new Promise((r) => setTimeout(r, 100));
        return r;
      };
      const ours: Run[] = [];
      const theirs: Run[] = [];
      for (let i = 0; i < rounds; i++) {
        const oursOut = join(work, `ours-${mode}-${i}`);
        const one = () => runOurs(t.torrentPath, oursOut, seeder.port, mode).then((r) => ours.push(r));
        const two = () => runTheirs().then((r) => theirs.push(r));
        if (i % 2 === 0) {
          await one();
          await two();
        } else {
          await two();
          await one();
        }
        await rm(oursOut, { recursive: true, force: true });
        const o = ours[i]!;
        const q = theirs[i]!;
        console.log(
          `${mode} round ${i + 1}: swarmcast ${(mb / o.seconds).toFixed(0)} MB/s ${(o.cpu / gib).toFixed(2)} s CPU/GiB | qBittorrent ${(mb / q.seconds).toFixed(0)} MB/s ${(q.cpu / gib).toFixed(2)} s CPU/GiB | load ${load()}`,
        );
      }
      const om = median(ours.map((r) => mb / r.seconds));
      const qm = median(theirs.map((r) => mb / r.seconds));
      const oc = median(ours.map((r) => r.cpu)) / gib;
      const qc = median(theirs.map((r) => r.cpu)) / gib;
      const line = `${mode}: median swarmcast ${om.toFixed(0)} MB/s ${oc.toFixed(2)} s CPU/GiB | qBittorrent ${qm.toFixed(0)} MB/s ${qc.toFixed(2)} s CPU/GiB | ratio throughput ${(om / qm).toFixed(2)}, CPU ${(oc / qc).toFixed(2)} | load ${load()}`;
      summary.push(line);
      console.log(line);
      await leech.stop();
    }
    console.log(`\n${summary.join('\n')}`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}

await main();
