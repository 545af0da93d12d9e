import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '../errors.ts';
import type { StreamEvent } from './event-stream.ts';
import { decodeRecord, encodeRecord, parseSegmentName, segmentName } from './wal-format.ts';

export interface WalLogOptions {
  /** Start a new segment once the current one exceeds this (default 16 MiB). */
  segmentBytes?: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The append-only, segmented write-ahead log under one directory. Appends are group
 * committed: while one write+fsync runs, later appends queue up and share the next one.
 * `end` is the number of events durable on disk; readers never look past it.
 */
export class WalLog {
  /** Bases of the segments on disk, oldest first; the last one is being appended to. */
  readonly segments: number[] = [];
  /** Committed byte length of each segment (final for all but the last). */
  readonly committedBytes = new Map<number, number>();
  /** Number of events durable so far (the next event's sequence number). */
  end = 0;
  private fh: FileHandle | undefined;
  private queue: Buffer[] = [];
  private queuedCount = 0;
  private waiters: Waiter[] = [];
  private flushing = false;
  private readonly segmentBytes: number;
  private readonly listeners = new Set<() => void>();
  private failed: unknown;

  private constructor(
    private readonly dir: string,
    options: WalLogOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 16 << 20;
  }

  /** Opens the log, truncating a torn record at the tail of the newest segment. */
  static async open(dir: string, options: WalLogOptions = {}): Promise<WalLog> {
    const log = new WalLog(dir, options);
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map(parseSegmentName)
      .filter((b): b is number => b !== null)
      .sort((a, b) => a - b);
    for (const base of bases.slice(0, -1)) {
      log.segments.push(base);
      log.committedBytes.set(base, (await stat(join(dir, segmentName(base)))).size);
    }
    const last = bases.at(-1) ?? 0;
    const { count, bytes } = await recoverTail(join(dir, segmentName(last)));
    log.segments.push(last);
    log.committedBytes.set(last, bytes);
    log.end = last + count;
    log.fh = await open(join(dir, segmentName(last)), 'a');
    return log;
  }

  path(base: number): string {
    return join(this.dir, segmentName(base));
  }

  /** Resolves once every event is fsynced; the events get consecutive sequence numbers. */
  append(events: readonly StreamEvent[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    for (const e of events) this.queue.push(encodeRecord(e));
    this.queuedCount += events.length;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) void this.flushLoop();
    return done;
  }

  /** Called after each commit (readers wait on it for new events). */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const bufs = this.queue;
        const count = this.queuedCount;
        const waiters = this.waiters;
        this.queue = [];
        this.queuedCount = 0;
        this.waiters = [];
        try {
          await this.maybeRoll();
          const fh = this.fh!;
          const data = Buffer.concat(bufs);
          let written = 0;
          while (written < data.length) {
            const { bytesWritten } = await fh.write(data, written, data.length - written);
            written += bytesWritten;
          }
          await fh.datasync();
          const active = this.segments.at(-1)!;
          this.committedBytes.set(active, (this.committedBytes.get(active) ?? 0) + data.length);
          this.end += count;
          for (const w of waiters) w.resolve();
          for (const l of this.listeners) l();
        } catch (err) {
          // A failed write leaves the file in an unknown state: refuse further appends
          // rather than acknowledge events after a hole.
          this.failed = err;
          for (const w of [...waiters, ...this.waiters]) w.reject(err);
          this.waiters = [];
          this.queue = [];
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async maybeRoll(): Promise<void> {
    const active = this.segments.at(-1)!;
    if ((this.committedBytes.get(active) ?? 0) < this.segmentBytes) return;
    await this.fh!.close();
    this.fh = await open(this.path(this.end), 'a');
    this.segments.push(this.end);
    this.committedBytes.set(this.end, 0);
    await syncDir(this.dir);
  }

  /** Deletes whole segments whose every event is below `floor`; never the active one. */
  async dropBelow(floor: number): Promise<number> {
    let dropped = 0;
    while (this.segments.length > 1 && this.segments[1]! <= floor) {
      const base = this.segments.shift()!;
      this.committedBytes.delete(base);
      await unlink(this.path(base)).catch(() => {});
      dropped++;
    }
    return dropped;
  }

  /** Waits until the queue is written (used by close). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    await this.fh?.close();
    this.fh = undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Counts the whole records of a segment and truncates anything after the last one. */
async function recoverTail(path: string): Promise<{ count: number; bytes: number }> {
  const fh = await open(path, 'a+');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(size);
    if (size > 0) await fh.read(buf, 0, size, 0);
    let pos = 0;
    let count = 0;
    for (;;) {
      const step = decodeRecord(buf, pos);
      if (step.kind !== 'record') break;
      pos += step.bytes;
      count++;
    }
    if (pos < size) {
      await fh.truncate(pos);
      await fh.sync();
    }
    return { count, bytes: pos };
  } finally {
    await fh.close();
  }
}

/**
 * Reads events forward from a sequence number, segment by segment, in bounded chunks.
 * Used by one group at a time (the group serialises its reads).
 */
export class WalReader {
  private base: number;
  private pos = 0;
  private fh: FileHandle | undefined;
  private fhBase = -1;
  /** The sequence number of the next event this reader returns. */
  seq: number;
  private buffer = Buffer.alloc(0);
  private bufferAt = 0;

  constructor(
    private readonly log: WalLog,
    start: number,
  ) {
    this.base = log.segments.findLast((b) => b <= start) ?? log.segments[0]!;
    this.seq = this.base;
    this.target = Math.max(start, this.base);
  }

  /** Sequence number to skip forward to before returning anything. */
  private target: number;

  /** Up to `max` committed events from the cursor (fewer at the end of the log). */
  async read(max: number, chunkBytes = 1 << 20): Promise<{ seq: number; event: StreamEvent }[]> {
    const out: { seq: number; event: StreamEvent }[] = [];
    while (out.length < max && this.seq < this.log.end) {
      if (!this.log.segments.includes(this.base)) {
        throw new PlatformError('PLT_WAL_CORRUPT', `segment ${this.base} was removed under a reader`);
      }
      const committed = this.log.committedBytes.get(this.base) ?? 0;
      if (this.pos >= committed) {
        const next = this.log.segments.find((b) => b > this.base);
        if (next === undefined) break;
        if (next !== this.seq) {
          throw new PlatformError(
            'PLT_WAL_CORRUPT',
            `${this.log.path(this.base)} ends at event ${this.seq} but the next segment starts at ${next}`,
          );
        }
        this.base = next;
        this.pos = 0;
        this.buffer = Buffer.alloc(0);
        this.bufferAt = 0;
        continue;
      }
      let step = decodeRecord(this.buffer, this.pos - this.bufferAt);
      if (step.kind === 'short') {
        await this.fill(Math.min(committed - this.pos, Math.max(chunkBytes, step.need)));
        step = decodeRecord(this.buffer, this.pos - this.bufferAt);
      }
      if (step.kind !== 'record') {
        throw new PlatformError(
          'PLT_WAL_CORRUPT',
          `${this.log.path(this.base)} at byte ${this.pos}: ${step.kind === 'corrupt' ? step.why : 'truncated'}`,
        );
      }
      this.pos += step.bytes;
      const seq = this.seq++;
      if (seq >= this.target) out.push({ seq, event: step.event });
    }
    return out;
  }

  private async fill(length: number): Promise<void> {
    if (this.fhBase !== this.base) {
      await this.fh?.close();
      this.fh = await open(this.log.path(this.base), 'r');
      this.fhBase = this.base;
    }
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh!.read(buf, 0, length, this.pos);
    this.buffer = buf.subarray(0, bytesRead);
    this.bufferAt = this.pos;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
