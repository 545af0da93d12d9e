import type { StorageLayout } from './layout.ts';
import { spansOf } from './layout.ts';
import { type Storage, StorageError } from './storage.ts';

/**
 * Keeps every file in memory (browser tabs, tests, the simulation). Each file gets its own
 * buffer, allocated on first write, so that a file that is never selected costs nothing.
 */
export class MemoryStorage implements Storage {
  private readonly buffers: (Uint8Array | undefined)[];
  private readonly written: number[];

  constructor(readonly layout: StorageLayout) {
    this.buffers = layout.files.map(() => undefined);
    this.written = layout.files.map((f) => (f.pad ? f.length : 0));
  }

  async open(): Promise<void> {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.layout, offset, length);
    const out = new Uint8Array(length);
    for (const s of spansOf(this.layout, offset, length)) {
      const buf = this.buffers[s.file];
      if (!buf || this.layout.files[s.file]!.pad) continue;
      out.set(buf.subarray(s.fileOffset, s.fileOffset + s.length), s.bufferOffset);
    }
    return out;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this.layout, offset, data.length);
    for (const s of spansOf(this.layout, offset, data.length)) {
      const file = this.layout.files[s.file]!;
      if (file.pad) continue;
      let buf = this.buffers[s.file];
      if (!buf) {
        buf = new Uint8Array(file.length);
        this.buffers[s.file] = buf;
      }
      buf.set(data.subarray(s.bufferOffset, s.bufferOffset + s.length), s.fileOffset);
      this.written[s.file] = Math.max(this.written[s.file]!, s.fileOffset + s.length);
    }
  }

  async presentLengths(): Promise<number[]> {
    return this.written.slice();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  /** The bytes of one file (a copy of the data, zeros where nothing was written). */
  fileBytes(index: number): Uint8Array {
    const f = this.layout.files[index];
    if (!f) throw new RangeError(`no file ${index}`);
    return this.buffers[index]?.slice() ?? new Uint8Array(f.length);
  }
}

/** Rejects reads and writes outside piece space (a programmer error in the session). */
export function checkRange(layout: StorageLayout, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StorageError('BT_STORAGE_RANGE', `bad range ${offset}+${length}`);
  }
  if (offset + length > layout.totalLength) {
    throw new StorageError('BT_STORAGE_RANGE', `range ${offset}+${length} beyond ${layout.totalLength}`);
  }
}
