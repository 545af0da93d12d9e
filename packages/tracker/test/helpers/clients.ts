/**
 * Real BitTorrent clients for interop tests, configured as INTEROP.md says for loopback:
 * no DHT, LPD, PEX, UPnP or encryption; qBittorrent with MultiConnectionsPerIp; everything
 * bound to 127.0.0.1. Each returns a handle whose stop() kills the process.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, writeQbittorrentProfile, writeTransmissionSettings } from '@swarmcast/testkit';

const run = promisify(execFile);

export interface ClientHandle {
  name: string;
  process: ChildProcess;
  /** Output so far (stdout + stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function handle(name: string, child: ChildProcess): ClientHandle {
  let out = '';
  child.stdout?.on('data', (d) => {
    out = (out + String(d)).slice(-20_000);
  });
  child.stderr?.on('data', (d) => {
    out = (out + String(d)).slice(-20_000);
  });
  return {
    name,
    process: child,
    log: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A torrent of `file` announcing to `announce` (mktorrent, 32 KiB pieces). */
export async function makeTorrent(file: string, announce: string, out: string): Promise<void> {
  await run('mktorrent', ['-a', announce, '-l', '15', '-o', out, file]);
}

const aria2Common = [
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--disable-ipv6=true',
  '--interface=127.0.0.1',
  '--file-allocation=none',
  '--console-log-level=warn',
  '--summary-interval=0',
  '--bt-tracker-connect-timeout=5',
  '--bt-tracker-timeout=5',
  '--check-certificate=false',
];

/**
 * aria2 speaks UDP tracker only over its DHT socket ("udp is not supported yet" otherwise),
 * so DHT is on, with a fresh routing table and no entry point: it knows no node and finds
 * peers only through the tracker.
 */
async function aria2Dht(dir: string): Promise<string[]> {
  return [
    '--enable-dht=true',
    `--dht-listen-port=${await freePort()}`,
    `--dht-file-path=${join(dir, '.aria2-dht.dat')}`,
  ];
}

/**
 * aria2 seeding `torrent` from `dir`. It announces every second (--bt-tracker-interval=1),
 * so it learns of a new downloader at once and dials it: Transmission needs that.
 */
export async function aria2Seeder(torrent: string, dir: string): Promise<ClientHandle> {
  const port = await freePort();
  const child = spawn(
    'aria2c',
    [
      ...aria2Common,
      ...(await aria2Dht(dir)),
      `--dir=${dir}`,
      `--listen-port=${port}`,
      '--seed-ratio=0.0',
      '--bt-seed-unverified=true',
      '--bt-tracker-interval=1',
      torrent,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return handle('aria2c seeder', child);
}

/** aria2 downloading `torrent` into `dir`; it exits 0 when the download is complete. */
export async function aria2Downloader(torrent: string, dir: string): Promise<ClientHandle> {
  const port = await freePort();
  const child = spawn(
    'aria2c',
    [
      ...aria2Common,
      ...(await aria2Dht(dir)),
      `--dir=${dir}`,
      `--listen-port=${port}`,
      '--seed-time=0',
      torrent,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return handle('aria2c downloader', child);
}

/** qbittorrent-nox downloading `torrent` into `dir`, with a throwaway profile. */
export async function qbittorrentDownloader(
  torrent: string,
  dir: string,
  profile: string,
): Promise<ClientHandle> {
  const { webui } = await writeQbittorrentProfile(profile, dir);
  const child = spawn(
    'qbittorrent-nox',
    [`--profile=${profile}`, `--webui-port=${webui}`, `--save-path=${dir}`, '--skip-dialog=true', torrent],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QT_QPA_PLATFORM: 'offscreen' } },
  );
  return handle('qbittorrent-nox downloader', child);
}

/** transmission-daemon downloading `torrent` into `dir` (added through transmission-remote). */
export async function transmissionDownloader(
  torrent: string,
  dir: string,
  configDir: string,
): Promise<ClientHandle> {
  const [rpc, peer] = [await freePort(), await freePort()];
  await writeTransmissionSettings(configDir, { rpcPort: rpc, peerPort: peer, downloadDir: dir });
  const child = spawn(
    'transmission-daemon',
    ['-f', '-g', configDir, '-w', dir, '-p', String(rpc), '-P', String(peer), '-T'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const h = handle('transmission-daemon downloader', child);
  // The RPC port opens a moment after start; retry the add for up to 15 s.
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await run('transmission-remote', [`127.0.0.1:${rpc}`, '-a', torrent]);
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await h.stop();
        throw new Error(`transmission-remote could not add the torrent: ${String(err)}\n${h.log()}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return h;
}

/** True once `path` holds exactly `expected`. */
export async function sameContent(path: string, expected: Buffer): Promise<boolean> {
  try {
    const got = await readFile(path);
    return got.length === expected.length && got.equals(expected);
  } catch {
    return false;
  }
}
