// Worker thread of the hash pool: reads chunks of pieces with large sequential reads and
// hashes them (v1 SHA-1 and/or v2 merkle) while the next chunk is being read.
import { type FileHandle, open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { hashPiece, pieceRange } from '../create/hash-piece.ts';
import type { TorrentPlan } from '../create/plan.ts';
import { slicesOf } from '../metainfo/model.ts';
import { nodeHasher } from './hasher.ts';

export interface WorkerInput {
  readonly plan: TorrentPlan;
  /** Absolute path of each plan file (null for pad files). */
  readonly paths: readonly (string | null)[];
}
export interface ChunkJob {
  readonly first: number;
  readonly count: number;
}
export type WorkerReply =
  | {
      readonly first: number;
      readonly count: number;
      readonly v1: Uint8Array;
      readonly v2: Uint8Array;
      readonly hasV2: Uint8Array;
    }
  | { readonly error: string };

const { plan, paths } = workerData as WorkerInput;
const handles = new Map<number, Promise<FileHandle>>();

function handle(i: number): Promise<FileHandle> {
  let h = handles.get(i);
  if (!h) {
    h = open(paths[i]!, 'r');
    handles.set(i, h);
  }
  return h;
}

async function read(job: ChunkJob): Promise<{ job: ChunkJob; buf: Uint8Array }> {
  const start = job.first * plan.pieceLength;
  const end = Math.min(plan.length, (job.first + job.count) * plan.pieceLength);
  const buf = new Uint8Array(end - start);
  for (const s of slicesOf(plan.files, start, end - start)) {
    if (plan.files[s.fileIndex]!.pad) continue;
    const fh = await handle(s.fileIndex);
    let done = 0;
    while (done < s.length) {
      const { bytesRead } = await fh.read(buf, s.pieceOffset + done, s.length - done, s.fileOffset + done);
      if (bytesRead === 0) throw new Error(`${paths[s.fileIndex]} is shorter than when it was listed`);
      done += bytesRead;
    }
  }
  return { job, buf };
}

async function hash({ job, buf }: { job: ChunkJob; buf: Uint8Array }): Promise<WorkerReply> {
  const v1 = new Uint8Array(plan.version === 'v2' ? 0 : job.count * 20);
  const v2 = new Uint8Array(plan.version === 'v1' ? 0 : job.count * 32);
  const hasV2 = new Uint8Array(job.count);
  const base = job.first * plan.pieceLength;
  for (let k = 0; k < job.count; k++) {
    const { start, length } = pieceRange(plan, job.first + k);
    const h = await hashPiece(
      plan,
      job.first + k,
      buf.subarray(start - base, start - base + length),
      nodeHasher,
    );
    if (h.v1) v1.set(h.v1, k * 20);
    if (h.v2) {
      v2.set(h.v2, k * 32);
      hasV2[k] = 1;
    }
  }
  return { first: job.first, count: job.count, v1, v2, hasV2 };
}

const queue: Promise<{ job: ChunkJob; buf: Uint8Array }>[] = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    while (queue.length > 0) {
      const reply = await hash(await queue.shift()!);
      if ('v1' in reply)
        parentPort!.postMessage(reply, [reply.v1.buffer, reply.v2.buffer, reply.hasV2.buffer] as never);
    }
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message } satisfies WorkerReply);
  } finally {
    busy = false;
  }
}

parentPort!.on('message', (job: ChunkJob) => {
  const reading = read(job);
  reading.catch(() => {}); // reported when its turn comes in drain()
  queue.push(reading);
  void drain();
});
