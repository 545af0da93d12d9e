import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PieceHashes } from '../create/hash-piece.ts';
import type { TorrentPlan } from '../create/plan.ts';
import type { ChunkJob, WorkerInput, WorkerReply } from './hash-worker.ts';

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
 * Worker code is TypeScript run through tsx, but a worker does not get the loader its parent
 * got from `tsx` or from the test runner. `execArgv: ['--import', tsx]` does not help on
 * Node 20 (the worker's entry is resolved before the imported hooks apply: measured on
 * 20.20), so the worker starts from a tiny ESM bootstrap that registers tsx's loader through
 * its API and then imports the real worker. Works under tsx, plain node and vitest alike.
 */
function bootstrap(): string {
  const tsxApi = createRequire(import.meta.url)
    .resolve('tsx/package.json')
    .replace(/package\.json$/, 'dist/esm/api/index.mjs');
  const api = JSON.stringify(pathToFileURL(tsxApi).href);
  const worker = JSON.stringify(new URL('./hash-worker.ts', import.meta.url).href);
  return `import(${api}).then((tsx) => { tsx.register(); return import(${worker}); });`;
}

/**
 * Hashes every piece of a plan with worker threads. Each worker reads chunks of pieces with
 * large sequential reads and keeps two chunks in flight, so reading overlaps hashing.
 */
export function hashPlan(
  plan: TorrentPlan,
  paths: readonly (string | null)[],
  options: HashPoolOptions = {},
): Promise<PieceHashes[]> {
  const perChunk = Math.max(1, Math.floor((options.chunkBytes ?? 16 * 1024 * 1024) / plan.pieceLength));
  const chunks: ChunkJob[] = [];
  for (let first = 0; first < plan.pieceCount; first += perChunk)
    chunks.push({ first, count: Math.min(perChunk, plan.pieceCount - first) });
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), chunks.length));
  const hashes: PieceHashes[] = new Array(plan.pieceCount);
  const workers: Worker[] = [];
  let next = 0;
  let doneChunks = 0;
  let hashedBytes = 0;
  return new Promise<PieceHashes[]>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(hashes);
    };
    const onAbort = () =>
      finish(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const input: WorkerInput = { plan, paths };
    for (let t = 0; t < threads; t++) {
      const w = new Worker(bootstrap(), { eval: true, workerData: input });
      workers.push(w);
      const feed = () => {
        if (next < chunks.length) w.postMessage(chunks[next++]);
      };
      w.on('message', (reply: WorkerReply) => {
        if ('error' in reply) return finish(new Error(reply.error));
        for (let k = 0; k < reply.count; k++) {
          const v1 = reply.v1.length > 0 ? reply.v1.slice(k * 20, k * 20 + 20) : undefined;
          const v2 = reply.hasV2[k] ? reply.v2.slice(k * 32, k * 32 + 32) : undefined;
          hashes[reply.first + k] = { ...(v1 ? { v1 } : {}), ...(v2 ? { v2 } : {}) };
        }
        hashedBytes +=
          Math.min(plan.length, (reply.first + reply.count) * plan.pieceLength) -
          reply.first * plan.pieceLength;
        options.onProgress?.({ hashedBytes, totalBytes: plan.length });
        if (++doneChunks === chunks.length) finish(null);
        else feed();
      });
      w.on('error', (err) => finish(err));
      w.on('exit', (code) => {
        if (code !== 0 && !settled) finish(new Error(`hash worker exited with code ${code}`));
      });
      feed();
      feed();
    }
  });
}
