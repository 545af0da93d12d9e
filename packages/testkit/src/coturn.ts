/**
 * A throwaway coturn (Debian `coturn`, `turnserver`) for tests, configured as an operator
 * would per docs/nat-traversal.md: TURN REST API credentials (`use-auth-secret`), bounded
 * bandwidth per session (`max-bps`), bounded allocations per credential (`user-quota`),
 * no TLS, its database and pid file in a scratch folder. `spawn` lets a test run it inside
 * a network namespace (NatLab.spawnIn). Ready once it logs its UDP listener.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn as spawnChild } from 'node:child_process';
import { join } from 'node:path';

export interface CoturnOptions {
  listenIp: string;
  /** Address relayed candidates get (default listenIp). */
  relayIp?: string;
  port: number;
  /** coturn `static-auth-secret` (the node's SWARMCAST_TURN_SECRET). */
  secret: string;
  /** Scratch folder for its SQLite user db and pid file. */
  dir: string;
  /** Bytes per second per session (default 1 MB/s). */
  maxBps?: number;
  /** Concurrent allocations per credential (default 16: a page holds up to 12 peer connections). */
  userQuota?: number;
  /** Runs a command (default: here); e.g. `(c, a) => lab.spawnIn(ns, c, a)`. */
  spawn?: (cmd: string, args: string[]) => ChildProcess;
  /** Allow peers on 127.0.0.0/8 (only for tests on loopback). */
  allowLoopback?: boolean;
}

export interface Coturn {
  readonly process: ChildProcess;
  /** Everything it logged (for a failing test's message). */
  log(): string;
  close(): Promise<void>;
}

export function coturnArgs(o: CoturnOptions): string[] {
  return [
    '-n',
    '-v',
    '--log-file=stdout',
    `--listening-ip=${o.listenIp}`,
    `--listening-port=${o.port}`,
    `--relay-ip=${o.relayIp ?? o.listenIp}`,
    '--realm=swarmcast.test',
    '--use-auth-secret',
    `--static-auth-secret=${o.secret}`,
    `--max-bps=${o.maxBps ?? 1_000_000}`,
    `--user-quota=${o.userQuota ?? 16}`,
    '--total-quota=100',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--fingerprint',
    '--min-port=49152',
    '--max-port=49400',
    `--userdb=${join(o.dir, 'turndb')}`,
    `--pidfile=${join(o.dir, 'turnserver.pid')}`,
    // As docs/nat-traversal.md tells operators: never relay into private networks. Without
    // this, a peer's private host candidate (a home LAN address) gets a permission, the first
    // relayed send fails (no route: ENETUNREACH in the lab) and coturn 4.6 closes the whole
    // allocation; the client's next CreatePermission on that 5-tuple then finds none and gets
    // 400 Bad Request (libjuice then never completes a relay pair). Denied, it gets 403 for
    // that one address and the allocation lives on.
    '--no-multicast-peers',
    '--denied-peer-ip=10.0.0.0-10.255.255.255',
    '--denied-peer-ip=172.16.0.0-172.31.255.255',
    '--denied-peer-ip=192.168.0.0-192.168.255.255',
    ...(o.allowLoopback ? ['--allow-loopback-peers'] : ['--denied-peer-ip=127.0.0.0-127.255.255.255']),
  ];
}

/** Starts coturn and resolves once its UDP listener is open (or rejects within `timeoutMs`). */
export function startCoturn(o: CoturnOptions, timeoutMs = 30_000): Promise<Coturn> {
  const child = (o.spawn ?? ((c, a) => spawnChild(c, a, { stdio: 'pipe' })))('turnserver', coturnArgs(o));
  let text = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: Coturn = {
    process: child,
    log: () => text,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void handle.close();
      reject(new Error(`coturn did not open its UDP listener in ${timeoutMs} ms:\n${text.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      text += d.toString();
      if (text.length > 1_000_000) text = text.slice(-500_000);
      if (/UDP listener opened on/.test(text)) {
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited (${code}) before listening:\n${text.slice(-2000)}`));
    });
  });
}
