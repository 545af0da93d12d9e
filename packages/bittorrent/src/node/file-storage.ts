import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { LayoutFile, StorageLayout } from '../storage/layout.ts';
import { spansOf } from '../storage/layout.ts';
import { checkRange } from '../storage/memory-storage.ts';
import { type Storage, StorageError } from '../storage/storage.ts';

export interface FileStorageOptions {
  /** Folder the torrent's paths are relative to (for a multi-file torrent, the parent of its root folder). */
  dir: string;
  /** Never create or write files (seeding someone's data). */
  readOnly?: boolean;
  /** Overrides where one file lives (seeding a single file given by its own path). */
  pathOf?: (file: LayoutFile, index: number) => string;
  /** Open file handles kept at most (least recently used closed first). */
  maxOpenFiles?: number;
}

/**
 * Files on disk. A file is created on its first write, at its full length as a sparse file,
 * so a torrent whose files are mostly unselected costs no disk. Each piece arrives verified
 * and whole, so writes are large and sequential within a file. Pad files are never created.
 */
export class FileStorage implements Storage {
  private readonly handles = new Map<number, Promise<FileHandle | null>>();
  private readonly paths: string[];
  private readonly maxOpen: number;

  constructor(
    readonly layout: StorageLayout,
    private readonly options: FileStorageOptions,
  ) {
    const root = resolve(options.dir);
    this.paths = layout.files.map((f, i) => {
      if (options.pathOf) return options.pathOf(f, i);
      for (const seg of f.path) {
        if (
          seg === '' ||
          seg === '.' ||
          seg === '..' ||
          seg.includes('/') ||
          seg.includes('\\') ||
          seg.includes('\0')
        ) {
          throw new StorageError('BT_STORAGE_IO', `unsafe path segment ${JSON.stringify(seg)} in torrent`);
        }
      }
      const p = join(root, ...f.path);
      if (!p.startsWith(root + sep)) throw new StorageError('BT_STORAGE_IO', `path escapes ${root}: ${p}`);
      return p;
    });
    this.maxOpen = options.maxOpenFiles ?? 64;
  }

  /** Absolute path of file `index` on disk. */
  pathOf(index: number): string {
    return this.paths[index]!;
  }

  async open(): Promise<void> {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.layout, offset, length);
    const out = new Uint8Array(length);
    await Promise.all(
      spansOf(this.layout, offset, length).map(async (s) => {
        if (this.layout.files[s.file]!.pad) return;
        const h = await this.handle(s.file, false);
        if (!h) return;
        let done = 0;
        while (done < s.length) {
          const { bytesRead } = await h.read(
            out,
            s.bufferOffset + done,
            s.length - done,
            s.fileOffset + done,
          );
          if (bytesRead === 0) break; // short file: the rest stays zero
          done += bytesRead;
        }
      }),
    ).catch(ioError('read'));
    return out;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this.layout, offset, data.length);
    if (this.options.readOnly) throw new StorageError('BT_STORAGE_IO', 'storage is read-only');
    await Promise.all(
      spansOf(this.layout, offset, data.length).map(async (s) => {
        if (this.layout.files[s.file]!.pad) return;
        const h = (await this.handle(s.file, true))!;
        let done = 0;
        while (done < s.length) {
          const { bytesWritten } = await h.write(
            data,
            s.bufferOffset + done,
            s.length - done,
            s.fileOffset + done,
          );
          done += bytesWritten;
        }
      }),
    ).catch(ioError('write'));
  }

  async presentLengths(): Promise<number[]> {
    return Promise.all(
      this.layout.files.map(async (f, i) => {
        if (f.pad || f.length === 0) return f.length;
        try {
          return Math.min(f.length, (await stat(this.paths[i]!)).size);
        } catch {
          return 0;
        }
      }),
    );
  }

  async flush(): Promise<void> {
    for (const p of this.handles.values()) {
      const h = await p.catch(() => null);
      await h?.datasync().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const p of all) {
      const h = await p.catch(() => null);
      await h?.close().catch(() => {});
    }
  }

  /** Creates the empty files of the torrent (they are never written otherwise). */
  async createEmptyFiles(): Promise<void> {
    if (this.options.readOnly) return;
    for (let i = 0; i < this.layout.files.length; i++) {
      const f = this.layout.files[i]!;
      if (f.length === 0 && !f.pad) {
        await mkdir(dirname(this.paths[i]!), { recursive: true });
        await (await open(this.paths[i]!, 'a')).close();
      }
    }
  }

  private handle(index: number, forWrite: boolean): Promise<FileHandle | null> {
    let p = this.handles.get(index);
    if (p) {
      // Most recently used goes last.
      this.handles.delete(index);
      this.handles.set(index, p);
      return p.then((h) => h ?? (forWrite ? this.reopen(index) : null));
    }
    p = this.openFile(index, forWrite);
    this.handles.set(index, p);
    this.evict();
    return p;
  }

  private reopen(index: number): Promise<FileHandle | null> {
    const p = this.openFile(index, true);
    this.handles.set(index, p);
    return p;
  }

  private async openFile(index: number, create: boolean): Promise<FileHandle | null> {
    const path = this.paths[index]!;
    const length = this.layout.files[index]!.length;
    const ro = this.options.readOnly === true;
    try {
      return await open(path, ro ? constants.O_RDONLY : constants.O_RDWR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create || ro) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    }
    await mkdir(dirname(path), { recursive: true });
    const h = await open(path, constants.O_RDWR | constants.O_CREAT);
    // Full length at once, as a sparse file: later writes never extend it piecemeal.
    if ((await h.stat()).size < length) await h.truncate(length);
    return h;
  }

  private evict(): void {
    while (this.handles.size > this.maxOpen) {
      const [oldest, p] = this.handles.entries().next().value!;
      this.handles.delete(oldest);
      p.then((h) => h?.close()).catch(() => {});
    }
  }
}

function ioError(op: string) {
  return (err: unknown): never => {
    if (err instanceof StorageError) throw err;
    throw new StorageError('BT_STORAGE_IO', `${op} failed: ${(err as Error).message}`, { cause: err });
  };
}
