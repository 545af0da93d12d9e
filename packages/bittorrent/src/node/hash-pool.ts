import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PieceHashes } from '../create/hash-piece.ts';
import type { TorrentPlan } from '../create/plan.ts';
import { ChunkHasher, type ChunkHashes, type ChunkJob } from './hash-chunk.ts';
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

/** Back to the idle list, with its files closed; past `max` idle workers it is ended. */
function release(w: Worker, max: number): void {
  w.removeAllListeners('message');
  if (idle.length >= max) {
    void w.terminate();
    return;
  }
  w.postMessage({ kind: 'plan', plan: null, paths: [] } satisfies WorkerRequest);
  w.unref();
  idle.push(w);
}

/**
 * Hashes every piece of a plan on `threads` threads: the calling thread starts at once, and
 * `threads - 1` worker threads join (idle ones from an earlier torrent at once, new ones as
 * soon as they have loaded). Chunks are handed out one at a time, so a slow thread never holds
 * back the rest; hashes land by piece index, so the order of completion does not matter.
 */
export async function hashPlan(
  plan: TorrentPlan,
  paths: readonly (string | null)[],
  options: HashPoolOptions = {},
): Promise<PieceHashes[]> {
  const perChunk = Math.max(1, Math.floor((options.chunkBytes ?? 16 * 1024 * 1024) / plan.pieceLength));
  const chunks: ChunkJob[] = [];
  for (let first = 0; first < plan.pieceCount; first += perChunk) {
    chunks.push({ first, count: Math.min(perChunk, plan.pieceCount - first) });
  }
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), chunks.length));
  const hashes: PieceHashes[] = new Array(plan.pieceCount);
  const workers: Worker[] = [];
  let next = 0;
  let doneChunks = 0;
  let hashedBytes = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const take = (): ChunkJob | undefined => (failure ? undefined : chunks[next++]);
  const record = (reply: ChunkHashes) => {
    for (let k = 0; k < reply.count; k++) {
      const v1 = reply.v1.length > 0 ? reply.v1.slice(k * 20, k * 20 + 20) : undefined;
      const v2 = reply.hasV2[k] ? reply.v2.slice(k * 32, k * 32 + 32) : undefined;
      hashes[reply.first + k] = { ...(v1 ? { v1 } : {}), ...(v2 ? { v2 } : {}) };
    }
    hashedBytes +=
      Math.min(plan.length, (reply.first + reply.count) * plan.pieceLength) - reply.first * plan.pieceLength;
    doneChunks++;
    options.onProgress?.({ hashedBytes, totalBytes: plan.length });
    wake?.();
  };
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
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
    w.postMessage({ kind: 'plan', plan, paths } satisfies WorkerRequest);
    const feed = () => {
      const job = take();
      if (job) w.postMessage({ kind: 'chunk', ...job } satisfies WorkerRequest);
    };
    w.on('message', (reply: WorkerReply) => {
      if ('error' in reply) return fail(new Error(reply.error));
      record(reply);
      feed();
    });
    feed();
    feed();
  };
  const wanted = threads - 1;
  while (workers.length < wanted && idle.length > 0) use(idle.pop()!);
  // new workers: the bundle builds in esbuild's service while this thread already hashes
  const starting =
    workers.length < wanted
      ? bundleWorker().then((source) => {
          while (workers.length < wanted && !failure && next < chunks.length) use(startWorker(source));
        }, fail)
      : Promise.resolve();
  const local = new ChunkHasher(plan, paths);
  try {
    // the calling thread hashes too, yielding between chunks so workers' replies are handled
    for (let job = take(); job; job = take()) {
      record(await local.hashChunk(job));
      await new Promise((r) => setImmediate(r));
    }
    while (!failure && doneChunks < chunks.length) await new Promise<void>((r) => (wake = r));
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
    // after a failure a worker may still hold queued chunks of this torrent: end it
    if (failure) await Promise.all(workers.map((w) => w.terminate()));
    else for (const w of workers) release(w, Math.max(0, availableParallelism() - 1));
  }
  if (failure) throw failure;
  return hashes;
}
