import type { StorageLayout } from './layout.ts';

/**
 * Where a torrent's verified bytes live. The session only ever hands a storage whole pieces
 * that passed verification, so a file on disk never holds a byte the torrent did not promise
 * (partial pieces are kept in memory until they verify). Offsets are in piece space (see
 * layout.ts); the storage maps them to files and never stores pad files.
 *
 * Failures (disk full, permission denied) reject with a `StorageError` carrying a `BT_` code.
 */
export interface Storage {
  readonly layout: StorageLayout;
  /** Opens or creates what is needed. Called once before anything else. */
  open(): Promise<void>;
  /** Reads piece-space bytes; pad files and bytes never written read as zeros. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: as `read`, into `out` (bytes [offset, offset + out.length)), every byte of it
   * set, so a caller can reuse its buffers (the uploader does).
   */
  readInto?(offset: number, out: Uint8Array): Promise<void>;
  /**
   * Writes piece-space bytes (one verified piece at a time, in practice). The storage must not
   * keep `data` once the returned promise settles: the session reuses the buffer.
   */
  write(offset: number, data: Uint8Array): Promise<void>;
  /**
   * Bytes present for each file now (its size on disk, 0 when missing). A restart uses it
   * to decide which pieces are worth re-verifying.
   */
  presentLengths(): Promise<number[]>;
  /** Makes written data durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Makes a storage for a layout; lets a session open its storage only once metadata is known. */
export type StorageFactory = (layout: StorageLayout) => Storage;

/** A storage failure, reported as a value or event by the session. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly code: 'BT_STORAGE_IO' | 'BT_STORAGE_RANGE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
