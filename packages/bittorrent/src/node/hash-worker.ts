// Worker thread of the hash pool: hashes the chunks of pieces it is sent, in order.
import { parentPort, workerData } from 'node:worker_threads';
import type { TorrentPlan } from '../create/plan.ts';
import { ChunkHasher, type ChunkHashes, type ChunkJob } from './hash-chunk.ts';

export interface WorkerInput {
  readonly plan: TorrentPlan;
  /** Absolute path of each plan file (null for pad files). */
  readonly paths: readonly (string | null)[];
}
export type WorkerReply = ChunkHashes | { readonly error: string };

const { plan, paths } = workerData as WorkerInput;
const hasher = new ChunkHasher(plan, paths);

// jobs run one at a time (the hasher reuses one buffer); the pool keeps two queued so this
// thread never waits for the calling thread to hand out the next chunk
const queue: ChunkJob[] = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const job = queue.shift()!;
    try {
      const reply = await hasher.hashChunk(job);
      parentPort!.postMessage(reply, [reply.v1.buffer, reply.v2.buffer, reply.hasV2.buffer] as never);
    } catch (err) {
      parentPort!.postMessage({ error: (err as Error).message } satisfies WorkerReply);
    }
  }
  busy = false;
}

parentPort!.on('message', (job: ChunkJob) => {
  queue.push(job);
  void drain();
});
