import { close, open, read } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

/**
 * A body assembled from parts in order: literal bytes (a rewritten header) or a slice of a
 * file on disk, `[start, end)` in that file. The stitched enclosure is such a body: content
 * frames from the episode file, ad frames from a prepared ad file, a new header in bytes.
 */
export type BodyPart =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; path: string; start: number; end: number };

export function partLength(p: BodyPart): number {
  return p.kind === 'bytes' ? p.bytes.length : p.end - p.start;
}

export function bodySize(parts: readonly BodyPart[]): number {
  let n = 0;
  for (const p of parts) n += partLength(p);
  return n;
}

/**
 * The same body in fewer, larger parts, for a body served many times (a stitched plan):
 * contiguous slices of one file become one slice, slices under `inlineBelow` bytes (the
 * frames around a cut, a tag) are read once into memory, and runs of small literal parts
 * are joined. Every file slice left costs a read per request, and each read has a fixed
 * cost well above copying a few kilobytes.
 */
export async function compactParts(
  parts: readonly BodyPart[],
  o: { inlineBelow?: number } = {},
): Promise<BodyPart[]> {
  const inlineBelow = o.inlineBelow ?? 4096;
  const merged: BodyPart[] = [];
  for (const p of parts) {
    if (partLength(p) === 0) continue;
    const last = merged.at(-1);
    if (p.kind === 'file' && last?.kind === 'file' && last.path === p.path && last.end === p.start) {
      merged[merged.length - 1] = { ...last, end: p.end };
    } else merged.push(p);
  }
  const inlined: BodyPart[] = [];
  for (const p of merged) {
    if (p.kind === 'file' && p.end - p.start < inlineBelow) {
      const bytes = Buffer.alloc(p.end - p.start);
      const h = await openFile(p.path, 'r');
      try {
        const { bytesRead } = await h.read(bytes, 0, bytes.length, p.start);
        if (bytesRead !== bytes.length) throw new Error(`${p.path} is shorter than its part`);
      } finally {
        await h.close();
      }
      inlined.push({ kind: 'bytes', bytes });
    } else inlined.push(p);
  }
  const out: BodyPart[] = [];
  for (const p of inlined) {
    const last = out.at(-1);
    if (
      p.kind === 'bytes' &&
      last?.kind === 'bytes' &&
      p.bytes.length < inlineBelow &&
      last.bytes.length < inlineBelow
    ) {
      out[out.length - 1] = { kind: 'bytes', bytes: Buffer.concat([last.bytes, p.bytes]) };
    } else out.push(p);
  }
  return out;
}

interface OpenFile {
  fd: Promise<number>;
  refs: number;
  openedAt: number;
  retired: boolean;
}

export interface SharedFilesOptions {
  /** Files held open at most (default 64); the least recently used idle one is closed first. */
  max?: number;
  /** A file held longer than this is reopened for new readers (default 60 s): a replaced file is seen. */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Open files shared by every body that reads them: a stitched enclosure reads its episode
 * file in two or three slices per request, and opening and closing it for each slice of
 * each request cost more than the reads (profile of the DAI bench at 200 connections).
 * Reads are positional (`pread`), so one descriptor serves any number of readers; a file is
 * closed only when no reader holds it.
 */
export class SharedFiles {
  private readonly files = new Map<string, OpenFile>();
  private readonly max: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(o: SharedFilesOptions = {}) {
    this.max = o.max ?? 64;
    this.maxAgeMs = o.maxAgeMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  /** Files currently open (tests). */
  get size(): number {
    return this.files.size;
  }

  acquire(path: string): { fd: Promise<number>; release: () => void } {
    let f = this.files.get(path);
    if (f && this.now() - f.openedAt > this.maxAgeMs) {
      this.retire(path, f);
      f = undefined;
    }
    if (f) {
      // Most recently used last: eviction takes from the front.
      this.files.delete(path);
      this.files.set(path, f);
    } else {
      const fd = new Promise<number>((resolve, reject) =>
        open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))),
      );
      f = { fd, refs: 0, openedAt: this.now(), retired: false };
      const entry = f;
      // A file that cannot be opened is not kept: the next reader tries again.
      fd.catch(() => {
        if (this.files.get(path) === entry) this.files.delete(path);
      });
      this.files.set(path, f);
      this.evict();
    }
    f.refs++;
    const entry = f;
    let released = false;
    return {
      fd: f.fd,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.retired && entry.refs === 0) closeFd(entry);
      },
    };
  }

  /** Closes every idle file (held ones close when their last reader releases them). */
  closeAll(): void {
    for (const [path, f] of [...this.files]) this.retire(path, f);
  }

  private retire(path: string, f: OpenFile): void {
    if (this.files.get(path) === f) this.files.delete(path);
    f.retired = true;
    if (f.refs === 0) closeFd(f);
  }

  private evict(): void {
    if (this.files.size <= this.max) return;
    for (const [path, f] of this.files) {
      if (this.files.size <= this.max) return;
      if (f.refs === 0) this.retire(path, f);
    }
  }
}

function closeFd(f: OpenFile): void {
  f.fd.then(
    (fd) => close(fd, () => {}),
    () => {},
  );
}

/** The files every stitched body of this process reads through. */
export const sharedFiles = new SharedFiles();

const chunkSize = 64 * 1024;

/**
 * The bytes [from, to] (inclusive) of a body of parts, read on demand: literal parts are
 * pushed as they are, file parts in positional 64 KiB reads through shared descriptors.
 */
class PartsReadable extends Readable {
  private index: number;
  /** Absolute position in the body of the next byte to push. */
  private pos: number;
  private partStart: number;
  /** A positional read is in flight: its callback pushes. */
  private reading = false;
  private held: { path: string; fd: Promise<number>; release: () => void } | null = null;

  constructor(
    private readonly parts: readonly BodyPart[],
    from: number,
    private readonly to: number,
    private readonly files: SharedFiles,
  ) {
    super({ highWaterMark: chunkSize });
    this.pos = from;
    let at = 0;
    let i = 0;
    while (i < parts.length && at + partLength(parts[i]!) <= from) at += partLength(parts[i++]!);
    this.index = i;
    this.partStart = at;
  }

  override _read(): void {
    if (this.reading) return;
    for (;;) {
      if (this.pos > this.to || this.index >= this.parts.length) {
        this.releaseFile();
        this.push(null);
        return;
      }
      const p = this.parts[this.index]!;
      const len = partLength(p);
      const partEnd = this.partStart + len; // exclusive
      if (this.pos >= partEnd) {
        this.index++;
        this.partStart = partEnd;
        continue;
      }
      const a = this.pos - this.partStart;
      const b = Math.min(this.to + 1, partEnd) - this.partStart; // exclusive, within the part
      if (p.kind === 'bytes') {
        // One push per _read: a push lets the stream call _read again at once.
        this.pos += b - a;
        this.push(p.bytes.subarray(a, b));
        return;
      }
      const n = Math.min(chunkSize, b - a);
      this.readFile(p.path, p.start + a, n);
      return;
    }
  }

  private readFile(path: string, position: number, n: number): void {
    if (this.held?.path !== path) {
      this.releaseFile();
      this.held = { path, ...this.files.acquire(path) };
    }
    this.reading = true;
    this.held.fd.then(
      (fd) => {
        const buf = Buffer.allocUnsafe(n);
        read(fd, buf, 0, n, position, (err, got) => {
          this.reading = false;
          if (this.destroyed) return;
          if (err) return this.destroy(err);
          if (got === 0) return this.destroy(new Error(`${path} is shorter than its part`));
          this.pos += got;
          this.push(got === n ? buf : buf.subarray(0, got));
        });
      },
      (err: Error) => this.destroy(err),
    );
  }

  private releaseFile(): void {
    this.held?.release();
    this.held = null;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.releaseFile();
    cb(err);
  }
}

/**
 * The bytes [from, to] (inclusive) of the body as a stream. Work is proportional to the
 * parts the range touches plus a skip over the ones before it; files are read in 64 KiB
 * positional reads through `files` (shared descriptors, no open/close per request).
 */
export function readParts(
  parts: readonly BodyPart[],
  from: number,
  to: number,
  files: SharedFiles = sharedFiles,
): Readable {
  return new PartsReadable(parts, from, to, files);
}
