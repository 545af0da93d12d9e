import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PieceHashes } from '../create/hash-piece.ts';
import type { TorrentPlan } from '../create/plan.ts';
import { ChunkHasher, chunkJob, type PlanHashes } from './hash-chunk.ts';
import type { WorkerReply, WorkerRequest } from './hash-worker.ts';

/** Progress of hashing, reported after each chunk. */
export interface HashProgress {
  readonly hashedBytes: number;
  readonly totalBytes: number;
}

export interface HashPoolOptions {
  /** Worker threads; default: every core (`os.availableParallelism()`). */
  readonly threads?: number;
  /** Bytes per read (rounded to whole pieces); default 16 MiB. */
  readonly chunkBytes?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: HashProgress) => void;
}

/**
 * Worker code is TypeScript. Starting tsx inside each worker costs about 0.2 s of CPU (more
 * than hashing 100 MiB), and `execArgv: ['--import', tsx]` does not apply to a worker's entry
 * on Node 20 (measured on 20.20). So the worker is bundled once per process with esbuild
 * (which tsx itself runs on, so it is always installed beside it) into plain CommonJS and
 * started from that text: a worker is then ready in ~20 ms, under tsx, plain node and vitest.
 */
let workerSource: Promise<string> | undefined;
/**
 * The worker bundled ahead of time, when this module runs from the CLI bundle: scripts/build.mjs
 * writes dist/hash-worker.cjs and defines this name as its path. Then no esbuild runs at all
 * (starting its service cost ~40 ms of CPU per `swarmcast create`, measured with perf, and a
 * process that lived as long as ours). Under tsx and vitest the name is not defined.
 */
declare const __SWARMCAST_HASH_WORKER__: string | undefined;
function bundleWorker(): Promise<string> {
  workerSource ??= (async () => {
    if (typeof __SWARMCAST_HASH_WORKER__ === 'string') return readFile(__SWARMCAST_HASH_WORKER__, 'utf8');
    const require = createRequire(import.meta.url);
    const esbuild = require(require.resolve('esbuild', { paths: [require.resolve('tsx/package.json')] })) as {
      build(options: object): Promise<{ outputFiles: { text: string }[] }>;
    };
    const out = await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./hash-worker.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  })();
  return workerSource;
}

/**
 * Hash workers kept between torrents. Starting a worker costs ~0.1 s of CPU (Node bootstraps a
 * new isolate; measured 70-110 ms in `--cpu-prof`) and more wall time than hashing 100 MiB,
 * and a node that publishes makes one torrent per episode: so a worker that has finished a
 * torrent waits here for the next, unref'd so that it never keeps the process alive.
 */
const idle: Worker[] = [];

function startWorker(source: string): Worker {
  const w = new Worker(source, { eval: true });
  // an idle worker that fails or exits is no longer one to hand out
  const forget = () => {
    const at = idle.indexOf(w);
    if (at >= 0) idle.splice(at, 1);
  };
  w.on('error', forget);
  w.on('exit', forget);
  return w;
}

/** Back to the idle list (its files are closed once it finds no chunk left); past `max` idle workers it is ended. */
function release(w: Worker, max: number): void {
  w.removeAllListeners('message');
  if (idle.length >= max) {
    void w.terminate();
    return;
  }
  w.unref();
  idle.push(w);
}

/**
 * Hashes every piece of a plan on `threads` threads: the calling thread starts at once, and
 * `threads - 1` worker threads join (idle ones from an earlier torrent at once, new ones as
 * soon as they have loaded). Every thread takes the next chunk from one shared counter
 * (Atomics), so none waits for another to hand it work, and writes the hashes into shared
 * arrays by piece index, so nothing is copied back and the order of completion does not matter.
 */
export async function hashPlan(
  plan: TorrentPlan,
  paths: readonly (string | null)[],
  options: HashPoolOptions = {},
): Promise<PieceHashes[]> {
  const piecesPerChunk = Math.max(1, Math.floor((options.chunkBytes ?? 16 * 1024 * 1024) / plan.pieceLength));
  const chunkCount = Math.ceil(plan.pieceCount / piecesPerChunk);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), chunkCount));
  const shared = (n: number) => new Uint8Array(new SharedArrayBuffer(n));
  const out: PlanHashes = {
    v1: shared(plan.version === 'v2' ? 0 : plan.pieceCount * 20),
    v2: shared(plan.version === 'v1' ? 0 : plan.pieceCount * 32),
    hasV2: shared(plan.version === 'v1' ? 0 : plan.pieceCount),
  };
  const next = new Int32Array(new SharedArrayBuffer(4));
  const request: WorkerRequest = { plan, paths, out, next, chunkCount, piecesPerChunk };
  const workers: Worker[] = [];
  let doneChunks = 0;
  let hashedBytes = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const take = (): number => (failure ? chunkCount : Atomics.add(next, 0, 1));
  const record = (first: number, count: number) => {
    hashedBytes += Math.min(plan.length, (first + count) * plan.pieceLength) - first * plan.pieceLength;
    doneChunks++;
    options.onProgress?.({ hashedBytes, totalBytes: plan.length });
    wake?.();
  };
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    // no thread takes another chunk
    Atomics.store(next, 0, chunkCount);
    wake?.();
  };
  const onAbort = () =>
    fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const onError = (err: Error) => fail(err);
  const onExit = (code: number) => fail(new Error(`hash worker exited with code ${code}`));
  const use = (w: Worker) => {
    workers.push(w);
    w.ref();
    w.on('error', onError);
    w.on('exit', onExit);
    w.on('message', (reply: WorkerReply) => {
      if ('error' in reply) fail(new Error(reply.error));
      else record(reply.first, reply.count);
    });
    w.postMessage(request);
  };
  const wanted = threads - 1;
  const left = () => !failure && Atomics.load(next, 0) < chunkCount;
  while (workers.length < wanted && idle.length > 0) use(idle.pop()!);
  // new workers: their code loads while this thread already hashes
  const starting =
    workers.length < wanted
      ? bundleWorker().then((source) => {
          while (workers.length < wanted && left()) use(startWorker(source));
        }, fail)
      : Promise.resolve();
  const local = new ChunkHasher(plan, paths, out);
  try {
    // the calling thread hashes too, yielding between chunks so workers' replies are handled
    for (let c = take(); c < chunkCount; c = take()) {
      const job = chunkJob(c, piecesPerChunk, plan.pieceCount);
      await local.hashChunk(job);
      record(job.first, job.count);
      await new Promise((r) => setImmediate(r));
    }
    while (!failure && doneChunks < chunkCount) await new Promise<void>((r) => (wake = r));
  } catch (err) {
    fail(err);
  } finally {
    wake = null;
    options.signal?.removeEventListener('abort', onAbort);
    local.close();
    await starting;
    for (const w of workers) {
      w.off('error', onError);
      w.off('exit', onExit);
    }
    // after a failure a worker may still be reading a chunk of this torrent: end it
    if (failure) await Promise.all(workers.map((w) => w.terminate()));
    else for (const w of workers) release(w, Math.max(0, availableParallelism() - 1));
  }
  if (failure) throw failure;
  const hashes: PieceHashes[] = new Array(plan.pieceCount);
  for (let i = 0; i < plan.pieceCount; i++) {
    const v1 = out.v1.length > 0 ? out.v1.slice(i * 20, i * 20 + 20) : undefined;
    const v2 = out.hasV2[i] ? out.v2.slice(i * 32, i * 32 + 32) : undefined;
    hashes[i] = { ...(v1 ? { v1 } : {}), ...(v2 ? { v2 } : {}) };
  }
  return hashes;
}
