// Worker thread of the hash pool: hashes the chunks of pieces it is sent, in order. A worker
// outlives one torrent: each `plan` message starts the next torrent (see hash-pool.ts).
import { parentPort } from 'node:worker_threads';
import type { TorrentPlan } from '../create/plan.ts';
import { ChunkHasher, type ChunkHashes, type ChunkJob } from './hash-chunk.ts';

/** What the pool sends a worker: the torrent whose chunks follow (null: done, close files), or a chunk. */
export type WorkerRequest =
  | {
      readonly kind: 'plan';
      readonly plan: TorrentPlan | null;
      /** Absolute path of each plan file (null for pad files). */
      readonly paths: readonly (string | null)[];
    }
  | ({ readonly kind: 'chunk' } & ChunkJob);
export type WorkerReply = ChunkHashes | { readonly error: string };

let hasher: ChunkHasher | null = null;

// messages run one at a time, in order (the hasher reuses its buffers); the pool keeps two
// chunks queued so this thread never waits for the calling thread to hand out the next one
const queue: WorkerRequest[] = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const req = queue.shift()!;
    if (req.kind === 'plan') {
      hasher?.close();
      hasher = req.plan ? new ChunkHasher(req.plan, req.paths) : null;
      continue;
    }
    try {
      const reply = await hasher!.hashChunk(req);
      parentPort!.postMessage(reply, [reply.v1.buffer, reply.v2.buffer, reply.hasV2.buffer] as never);
    } catch (err) {
      parentPort!.postMessage({ error: (err as Error).message } satisfies WorkerReply);
    }
  }
  busy = false;
}

parentPort!.on('message', (req: WorkerRequest) => {
  queue.push(req);
  void drain();
});
