import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './scratch.ts';

const exec = promisify(execFile);

/** A throwaway transmission-daemon (see {@link transmissionDaemon}). */
export interface TransmissionDaemon {
  readonly process: ChildProcess;
  /** Its RPC port (transmission-remote 127.0.0.1:rpc). */
  readonly rpcPort: number;
  /** Its peer port: dial 127.0.0.1:peerPort to reach it. */
  readonly peerPort: number;
  /** Where it downloads to. */
  readonly downloadDir: string;
  /** Adds a .torrent file through RPC (retried while the RPC port opens). */
  add(torrentPath: string): Promise<void>;
  /** The last 20 KB of its output, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Writes transmission-daemon's settings.json into `configDir` for loopback tests: DHT, LPD,
 * PEX, uTP, port forwarding and encryption off, RPC without authentication from 127.0.0.1.
 */
export async function writeTransmissionSettings(
  configDir: string,
  o: { rpcPort: number; peerPort: number; downloadDir: string; requireEncryption?: boolean },
): Promise<void> {
  await mkdir(configDir, { recursive: true });
  await writeFile(
    join(configDir, 'settings.json'),
    JSON.stringify({
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      // 0 prefers plain (and tolerates encrypted peers); 2 requires encryption.
      encryption: o.requireEncryption ? 2 : 0,
      'rpc-whitelist': '127.0.0.1',
      'rpc-bind-address': '127.0.0.1',
      'rpc-authentication-required': false,
      'rpc-port': o.rpcPort,
      'peer-port': o.peerPort,
      'peer-port-random-on-start': false,
      'download-dir': o.downloadDir,
      'incomplete-dir-enabled': false,
      'rename-partial-files': true,
      'message-level': 2,
    }),
  );
}

/**
 * transmission-daemon with its own config dir under `dir`, on free ports, loopback only, with
 * DHT, LPD, PEX, uTP and port forwarding off. It never dials 127.x peers itself (INTEROP.md):
 * whoever seeds to it must open the connection to `peerPort`.
 */
export async function transmissionDaemon(
  dir: string,
  o: { requireEncryption?: boolean } = {},
): Promise<TransmissionDaemon> {
  const [rpcPort, peerPort] = [await freePort(), await freePort()];
  const config = join(dir, 'config');
  const downloadDir = join(dir, 'download');
  await mkdir(config, { recursive: true });
  await mkdir(downloadDir, { recursive: true });
  await writeTransmissionSettings(config, { rpcPort, peerPort, downloadDir, ...o });
  const child = spawn(
    'transmission-daemon',
    ['-f', '-g', config, '-w', downloadDir, '-p', String(rpcPort), '-P', String(peerPort), '-T'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    process: child,
    rpcPort,
    peerPort,
    downloadDir,
    log: () => out,
    async add(torrentPath) {
      await waitFor(
        () =>
          exec('transmission-remote', [`127.0.0.1:${rpcPort}`, '-a', torrentPath]).then(
            () => true,
            () => false,
          ),
        30_000,
        `transmission-remote to add ${torrentPath}`,
        300,
      );
    },
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
