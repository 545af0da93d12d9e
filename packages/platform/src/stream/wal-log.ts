import { constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '../errors.ts';
import type { StreamEvent } from './event-stream.ts';
import { decodeRecord, encodeRecords, parseSegmentName, segmentName } from './wal-format.ts';

export interface WalLogOptions {
  /** Start a new segment once the current one exceeds this (default 16 MiB). */
  segmentBytes?: number;
  /** Commits (write + fdatasync) in flight at once (default 4). */
  maxInFlight?: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** One group commit: the records queued while the previous commits ran. */
interface Commit {
  segment: number;
  bytes: number;
  count: number;
  waiters: Waiter[];
  done: boolean;
}

/**
 * Segments are opened O_DSYNC where the platform has it: a write returns once its bytes (and
 * the file size that makes them readable) are on disk, as write + fdatasync would, in one
 * call to the thread pool instead of two. Each call costs the event loop a hand-over to a
 * pool thread; at ~65 beacons a commit the second one was ~3 us a beacon of the collector
 * (profile of the beacons bench). Elsewhere (Windows) the commit still ends with fdatasync.
 */
const synchronousWrites = fsConstants.O_DSYNC !== undefined;
const segmentFlags = fsConstants.O_WRONLY | fsConstants.O_CREAT | (fsConstants.O_DSYNC ?? 0);

/**
 * The append-only, segmented write-ahead log under one directory. Appends are group
 * committed: everything queued is written with one positional, synchronous (O_DSYNC) write,
 * and while up to `maxInFlight` such commits run, later appends queue up and share the
 * next one. So the commit grows with the load: one beacon per fsync when idle, thousands
 * when busy, with several fsyncs overlapping (a virtual disk serves concurrent flushes
 * far faster than back-to-back ones).
 *
 * Commits finish in any order but are acknowledged in log order: a commit's waiters
 * resolve only when it and every earlier commit are durable, and `end` (what readers may
 * see) moves the same way. A crash can therefore leave a hole (an earlier commit not on
 * disk, a later one on disk); the later one was never acknowledged, and recovery, which
 * truncates at the first damaged record, drops it.
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
  /** Commits started and not yet acknowledged, in log order. */
  private readonly commits: Commit[] = [];
  /** Where the next commit is written in the active segment, and its sequence number. */
  private writeOffset = 0;
  private writeSeq = 0;
  private rolling = false;
  private readonly segmentBytes: number;
  private readonly maxInFlight: number;
  private readonly listeners = new Set<() => void>();
  private failed: unknown;

  private constructor(
    private readonly dir: string,
    options: WalLogOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 16 << 20;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
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
    log.writeSeq = log.end;
    log.writeOffset = bytes;
    // Positional writes (not O_APPEND): commits in flight each know their own offset.
    log.fh = await open(join(dir, segmentName(last)), segmentFlags);
    return log;
  }

  path(base: number): string {
    return join(this.dir, segmentName(base));
  }

  /** Resolves once every event is fsynced; the events get consecutive sequence numbers. */
  append(events: readonly StreamEvent[]): Promise<void> {
    return this.appendEncoded(events.length > 0 ? encodeRecords(events) : null, events.length);
  }

  /** `append` of `count` records already laid out by encodeRecords (checked by the caller). */
  appendEncoded(records: Buffer | null, count: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (records && count > 0) this.queue.push(records);
    this.queuedCount += count;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.pump();
    return done;
  }

  /** Called after each commit (readers wait on it for new events). */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts commits while there is work and room; rolls the segment when it is full. */
  private pump(): void {
    while (this.queue.length > 0 && !this.failed && !this.rolling && this.commits.length < this.maxInFlight) {
      if (this.writeOffset >= this.segmentBytes) {
        // A new segment starts at a known sequence number: wait for the commits in flight.
        if (this.commits.length === 0) void this.roll();
        return;
      }
      const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
      const commit: Commit = {
        segment: this.segments.at(-1)!,
        bytes: data.length,
        count: this.queuedCount,
        waiters: this.waiters,
        done: false,
      };
      this.queue = [];
      this.queuedCount = 0;
      this.waiters = [];
      this.commits.push(commit);
      const offset = this.writeOffset;
      this.writeOffset += data.length;
      this.writeSeq += commit.count;
      this.write(this.fh!, data, offset).then(
        () => {
          commit.done = true;
          this.settle();
        },
        (err) => this.fail(err),
      );
    }
  }

  private async write(fh: FileHandle, data: Buffer, offset: number): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await fh.write(data, written, data.length - written, offset + written);
      written += bytesWritten;
    }
    if (!synchronousWrites) await fh.datasync();
  }

  /** Acknowledges the finished commits at the head of the log order. */
  private settle(): void {
    let moved = false;
    while (this.commits[0]?.done) {
      const c = this.commits.shift()!;
      this.committedBytes.set(c.segment, (this.committedBytes.get(c.segment) ?? 0) + c.bytes);
      this.end += c.count;
      for (const w of c.waiters) w.resolve();
      moved = true;
    }
    if (moved) for (const l of this.listeners) l();
    this.pump();
  }

  /**
   * A failed write leaves the file in an unknown state: refuse further appends rather than
   * acknowledge events after a hole. Commits still in flight are refused too.
   */
  private fail(err: unknown): void {
    if (!this.failed) this.failed = err;
    for (const c of this.commits.splice(0)) for (const w of c.waiters) w.reject(err);
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    this.queue = [];
    this.queuedCount = 0;
  }

  private async roll(): Promise<void> {
    this.rolling = true;
    try {
      await this.fh!.close();
      this.fh = await open(this.path(this.writeSeq), segmentFlags);
      this.segments.push(this.writeSeq);
      this.committedBytes.set(this.writeSeq, 0);
      this.writeOffset = 0;
      await syncDir(this.dir);
    } catch (err) {
      this.fail(err);
    } finally {
      this.rolling = false;
    }
    this.pump();
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
    while (!this.failed && (this.commits.length > 0 || this.queue.length > 0 || this.rolling)) {
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

  /**
   * Up to `max` committed records from the cursor (fewer at the end of the log); with
   * `wanted`, those of other subjects are passed over unparsed and not returned (they still
   * count toward `max`), so a read can return nothing while the cursor moves on.
   */
  async read(
    max: number,
    chunkBytes = 1 << 20,
    wanted?: (subject: string) => boolean,
  ): Promise<{ seq: number; event: StreamEvent }[]> {
    const out: { seq: number; event: StreamEvent }[] = [];
    let scanned = 0;
    while (scanned < max && this.seq < this.log.end) {
      if (!this.log.segments.includes(this.base)) {
        // Retention drops a segment once every group's floor is past it, and a reader that
        // has just read a segment's last event has its floor at the next segment's first one
        // while its cursor still names the old segment: move on. Only a segment dropped with
        // events still unread is corruption.
        if (!this.log.segments.includes(this.seq)) {
          throw new PlatformError('PLT_WAL_CORRUPT', `segment ${this.base} was removed under a reader`);
        }
        this.base = this.seq;
        this.pos = 0;
        this.buffer = Buffer.alloc(0);
        this.bufferAt = 0;
        continue;
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
      let step = decodeRecord(this.buffer, this.pos - this.bufferAt, wanted);
      if (step.kind === 'short') {
        await this.fill(Math.min(committed - this.pos, Math.max(chunkBytes, step.need)));
        step = decodeRecord(this.buffer, this.pos - this.bufferAt, wanted);
      }
      if (step.kind === 'skipped') {
        this.pos += step.bytes;
        if (this.seq++ >= this.target) scanned++;
        continue;
      }
      if (step.kind !== 'record') {
        throw new PlatformError(
          'PLT_WAL_CORRUPT',
          `${this.log.path(this.base)} at byte ${this.pos}: ${step.kind === 'corrupt' ? step.why : 'truncated'}`,
        );
      }
      this.pos += step.bytes;
      const seq = this.seq++;
      if (seq >= this.target) {
        out.push({ seq, event: step.event });
        scanned++;
      }
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
