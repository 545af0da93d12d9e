import { closeSync, openSync, readSync } from 'node:fs';
import { hashPiece, pieceRange } from '../create/hash-piece.ts';
import type { TorrentPlan } from '../create/plan.ts';
import { slicesOf } from '../metainfo/model.ts';
import { nodeHasher } from './hasher.ts';

/** A run of consecutive pieces, hashed as one unit of work. */
export interface ChunkJob {
  readonly first: number;
  readonly count: number;
}

/** Hashes of a chunk: 20 bytes per piece for v1, 32 per piece for v2 (`hasV2[k]` = 1 when set). */
export interface ChunkHashes {
  readonly first: number;
  readonly count: number;
  readonly v1: Uint8Array;
  readonly v2: Uint8Array;
  readonly hasV2: Uint8Array;
}

/** Bytes read at once: large sequential reads, yet small enough to stay in the CPU cache for hashing. */
const READ_BYTES = 2 * 1024 * 1024;

/**
 * Reads and hashes chunks of one plan (in a worker or on the calling thread). Each read of
 * a few MiB lands in one reused buffer and is hashed while it is still in the CPU cache:
 * hashing a 16 MiB buffer after reading it runs ~40% slower (measured: 1.16 vs 1.95 GiB/s
 * for node's SHA-1), which is also how mktorrent reads. Keeps file descriptors until `close()`.
 */
export class ChunkHasher {
  private readonly fds = new Map<number, number>();
  private readonly buf: Uint8Array;
  private readonly piecesPerRead: number;

  constructor(
    private readonly plan: TorrentPlan,
    private readonly paths: readonly (string | null)[],
  ) {
    this.piecesPerRead = Math.max(1, Math.floor(READ_BYTES / plan.pieceLength));
    this.buf = new Uint8Array(this.piecesPerRead * plan.pieceLength);
  }

  private fd(i: number): number {
    let fd = this.fds.get(i);
    if (fd === undefined) {
      fd = openSync(this.paths[i]!, 'r');
      this.fds.set(i, fd);
    }
    return fd;
  }

  /** Reads bytes [start, start + length) of the byte space into the front of the buffer. */
  private read(start: number, length: number): Uint8Array {
    const out = this.buf.subarray(0, length);
    for (const s of slicesOf(this.plan.files, start, length)) {
      if (this.plan.files[s.fileIndex]!.pad) {
        out.fill(0, s.pieceOffset, s.pieceOffset + s.length);
        continue;
      }
      const fd = this.fd(s.fileIndex);
      let done = 0;
      while (done < s.length) {
        const n = readSync(fd, out, s.pieceOffset + done, s.length - done, s.fileOffset + done);
        if (n === 0) throw new Error(`${this.paths[s.fileIndex]} is shorter than when it was listed`);
        done += n;
      }
    }
    return out;
  }

  /** Reads and hashes every piece of a chunk. */
  async hashChunk(job: ChunkJob): Promise<ChunkHashes> {
    const { plan } = this;
    const v1 = new Uint8Array(plan.version === 'v2' ? 0 : job.count * 20);
    const v2 = new Uint8Array(plan.version === 'v1' ? 0 : job.count * 32);
    const hasV2 = new Uint8Array(job.count);
    for (let k = 0; k < job.count; k += this.piecesPerRead) {
      const n = Math.min(this.piecesPerRead, job.count - k);
      const start = (job.first + k) * plan.pieceLength;
      const end = Math.min(plan.length, (job.first + k + n) * plan.pieceLength);
      const data = this.read(start, end - start);
      for (let j = 0; j < n; j++) {
        const index = job.first + k + j;
        const range = pieceRange(plan, index);
        const h = await hashPiece(
          plan,
          index,
          data.subarray(range.start - start, range.start - start + range.length),
          nodeHasher,
        );
        if (h.v1) v1.set(h.v1, (k + j) * 20);
        if (h.v2) {
          v2.set(h.v2, (k + j) * 32);
          hasV2[k + j] = 1;
        }
      }
    }
    return { first: job.first, count: job.count, v1, v2, hasV2 };
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
