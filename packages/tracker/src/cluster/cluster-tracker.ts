/**
 * The tracker on every core: a primary process forks N workers that share the TCP and UDP
 * sockets (cluster with SCHED_NONE: each worker accepts connections and reads datagrams
 * itself, so the primary is not on the request path). Each worker owns one partition of
 * the swarms and asks the owner of another's directly (partitioned-store.ts). Each worker
 * publishes the facts of the announces it accepted (salts shared through the salt store);
 * the primary only appends them to the embedded stream, whose files it owns (fact-relay.ts).
 * The UDP connection-id key is made here and handed to every worker, so an id issued by
 * one worker is accepted by another. `runStandaloneTracker` stays the single-process mode.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventStream } from '@swarmcast/platform';
import type { AnnounceObservation, AnnounceObserver } from '../core/tracker-core.ts';
import type { AnnounceFactsConfig } from '../facts/open-facts.ts';
import type { StandaloneOptions } from '../standalone.ts';
import { readFactBatch } from './batch-codec.ts';
import { appendRelayed } from './fact-relay.ts';
import { type PrimaryMessage, type WorkerConfig, type WorkerMessage, workerConfigEnv } from './messages.ts';

export interface ClusterOptions extends Omit<StandaloneOptions, 'clock' | 'store' | 'udpSecret'> {
  workers: number;
  /** Announce facts, published by each worker (see AnnounceFactsConfig). */
  facts?: AnnounceFactsConfig;
  /**
   * The embedded stream `facts.stream` names, opened by the caller (its files have one
   * owner: this process); the workers' records are appended to it. Unused with JetStream.
   */
  factStream?: EventStream;
  /** Told which worker (cluster id) accepted which announces (asks the workers for observations). */
  onObserved?: (workerId: number, observations: AnnounceObservation[]) => void;
  /** Told each time a worker is serving (at start, and a replacement after one died). */
  onWorkerReady?: (workerId: number, pid: number) => void;
}

export interface RunningCluster {
  port: number;
  workers: number;
  /** Process ids of the live workers. */
  pids(): number[];
  close(): Promise<void>;
}

// worker.ts under a TypeScript loader, worker.js once built: the same extension as this file.
const workerFile = fileURLToPath(new URL(`./worker${extname(import.meta.url)}`, import.meta.url));

export async function runTrackerCluster(options: ClusterOptions): Promise<RunningCluster> {
  if (!cluster.isPrimary) throw new Error('runTrackerCluster runs in the primary process');
  // Workers accept on the shared listening socket themselves; the default round-robin
  // would have the primary accept every connection and pass it on (one IPC per request).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Under a TypeScript loader the workers need it too (vitest runs without one in execArgv).
  const execArgv =
    workerFile.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx'))
      ? [...process.execArgv, '--import', import.meta.resolve('tsx')]
      : process.execArgv;
  cluster.setupPrimary({ exec: workerFile, execArgv, serialization: 'advanced' });
  const observer: AnnounceObserver | null = options.observer ?? null;
  // The workers' store sockets (private to this user: mkdtemp makes the directory 0700).
  const linkDir = await mkdtemp(join(tmpdir(), 'swarmcast-trk-'));
  const base: Omit<WorkerConfig, 'port' | 'partition'> = {
    host: options.host ?? '0.0.0.0',
    redisUrl: options.redisUrl ?? null,
    redisPrefix: options.redisPrefix ?? null,
    private: options.private ?? false,
    accessFile: options.accessFile ?? null,
    rateLimit: options.rateLimit,
    intervals: options.intervals,
    udpSecret: randomBytes(16).toString('hex'),
    observe: observer !== null || options.onObserved !== undefined,
    facts: options.facts ?? null,
    partitions: options.workers,
    linkDir,
  };
  const workers: Worker[] = [];
  let closing = false;

  const fork = (port: number, partition: number): Promise<{ worker: Worker; port: number }> => {
    const config: WorkerConfig = { ...base, port, partition };
    const worker = cluster.fork({ [workerConfigEnv]: JSON.stringify(config) });
    workers.push(worker);
    worker.on('message', (m: WorkerMessage) => {
      if (m.t === 'records') {
        const stream = options.factStream;
        const done = stream ? appendRelayed(stream, m) : Promise.reject(new Error('no fact stream'));
        done
          .then(
            () => true,
            () => false,
          )
          .then((ok) => {
            if (worker.isConnected()) worker.send({ t: 'appended', id: m.id, ok } satisfies PrimaryMessage);
          });
        return;
      }
      if (m.t !== 'batch') return;
      const observed = readFactBatch(Buffer.from(m.facts));
      options.onObserved?.(worker.id, observed);
      if (observer) for (const o of observed) observer.observe(o);
    });
    worker.on('exit', () => {
      const i = workers.indexOf(worker);
      if (i >= 0) workers.splice(i, 1);
      // A worker that died is replaced (a second later, so a worker that cannot start does
      // not spin) and takes over its partition, empty: its swarms come back as their peers
      // announce again (within one interval), as after a restart of any tracker.
      if (!closing) {
        setTimeout(() => {
          if (!closing) fork(options.port, partition).catch(() => undefined);
        }, 1000).unref();
      }
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.t !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        options.onWorkerReady?.(worker.id, worker.process.pid ?? 0);
        resolve({ worker, port: m.port });
      };
      const onExit = (code: number | null) => reject(new Error(`tracker worker exited with ${code}`));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  };

  let port: number;
  try {
    // Every worker asks for the configured port: the primary shares one handle per
    // (address, port) key, so with port 0 they all get the same port the first one got.
    const first = await fork(options.port, 0);
    port = first.port;
    await Promise.all(
      Array.from({ length: Math.max(0, options.workers - 1) }, (_, i) => fork(options.port, i + 1)),
    );
  } catch (err) {
    closing = true;
    for (const w of workers) w.kill('SIGKILL');
    await rm(linkDir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    workers: options.workers,
    pids: () => workers.filter((w) => !w.isDead()).map((w) => w.process.pid ?? 0),
    close: async () => {
      closing = true;
      await Promise.all(
        [...workers].map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              w.once('exit', () => resolve());
              if (w.isConnected()) w.send({ t: 'close' } satisfies PrimaryMessage);
              else w.kill('SIGKILL');
            }),
        ),
      );
      await rm(linkDir, { recursive: true, force: true });
    },
  };
}
