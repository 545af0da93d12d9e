// Worker thread of the hash pool: takes chunks of a plan from the shared counter until none is
// left, writing their hashes into the shared arrays. A worker outlives one torrent: each `plan`
// message is the next torrent (see hash-pool.ts).
import { parentPort } from 'node:worker_threads';
import type { TorrentPlan } from '../create/plan.ts';
import { ChunkHasher, type ChunkJob, chunkJob, type PlanHashes } from './hash-chunk.ts';

/** A torrent to help hash: its chunks are numbered 0..chunkCount-1, taken through `next`. */
export interface WorkerRequest {
  readonly plan: TorrentPlan;
  /** Absolute path of each plan file (null for pad files). */
  readonly paths: readonly (string | null)[];
  readonly out: PlanHashes;
  /** `next[0]`: the next chunk to take (Atomics.add), shared by every thread of this torrent. */
  readonly next: Int32Array;
  readonly chunkCount: number;
  readonly piecesPerChunk: number;
}
/** After each chunk its pieces (now written in `out`), or what went wrong. */
export type WorkerReply = ChunkJob | { readonly error: string };

async function help(req: WorkerRequest): Promise<void> {
  const hasher = new ChunkHasher(req.plan, req.paths, req.out);
  try {
    for (let c = Atomics.add(req.next, 0, 1); c < req.chunkCount; c = Atomics.add(req.next, 0, 1)) {
      const job = chunkJob(c, req.piecesPerChunk, req.plan.pieceCount);
      await hasher.hashChunk(job);
      parentPort!.postMessage(job satisfies WorkerReply);
    }
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message } satisfies WorkerReply);
  } finally {
    hasher.close();
  }
}

parentPort!.on('message', (req: WorkerRequest) => void help(req));
