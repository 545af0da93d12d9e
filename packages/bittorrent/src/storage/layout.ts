/**
 * Where each byte of a torrent lives. The engine addresses data in one linear "piece space":
 * piece `i` starts at byte `i * pieceLength`. Files sit in that space one after another; a
 * BEP 47 pad file occupies space but is never stored (it reads as zeros). In a v2-only torrent
 * every file starts on a piece boundary (BEP 52) and the gap after a file's last byte belongs to
 * no file: that piece is simply shorter on the wire.
 */
export interface LayoutFile {
  /** Path segments below the torrent's root folder, already checked by the metainfo parser. */
  readonly path: readonly string[];
  /** Bytes of data (for a pad file: bytes of padding). */
  readonly length: number;
  /** Offset of the file's first byte in piece space. */
  readonly offset: number;
  /** BEP 47 pad file: not stored, reads as zeros. */
  readonly pad: boolean;
}

export interface StorageLayout {
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Bytes of piece space, padding included. */
  readonly totalLength: number;
  /** True when every file starts on a piece boundary (v2-only torrents). */
  readonly aligned: boolean;
  /**
   * The piece space ends on a piece boundary as far as peers are concerned: libtorrent 2.0
   * pads the last file of a v2-only torrent too, so it asks for whole last pieces.
   */
  readonly paddedTail?: boolean;
  readonly files: readonly LayoutFile[];
}

/** A file as the metainfo lists it. */
export interface FileEntry {
  readonly path: readonly string[];
  readonly length: number;
  readonly pad?: boolean;
}

/**
 * Builds the layout of a torrent. `aligned` is for v2-only torrents: each non-empty file then
 * starts at the next piece boundary. Throws on a programmer error (bad piece length).
 */
export function makeLayout(
  pieceLength: number,
  entries: readonly FileEntry[],
  aligned = false,
  paddedTail = false,
): StorageLayout {
  if (!Number.isSafeInteger(pieceLength) || pieceLength < 1) {
    throw new RangeError(`piece length must be a positive integer, got ${pieceLength}`);
  }
  const files: LayoutFile[] = [];
  let offset = 0;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.length) || e.length < 0) throw new RangeError(`bad file length ${e.length}`);
    if (aligned && e.length > 0 && offset % pieceLength !== 0) offset += pieceLength - (offset % pieceLength);
    files.push({ path: e.path, length: e.length, offset, pad: e.pad === true });
    offset += e.length;
  }
  const pieceCount = Math.ceil(offset / pieceLength);
  return {
    pieceLength,
    pieceCount,
    totalLength: offset,
    aligned,
    ...(paddedTail ? { paddedTail } : {}),
    files,
  };
}

/** Index of the file holding piece-space byte `offset`, or -1 (a v2 gap or past the end). */
export function fileAt(layout: StorageLayout, offset: number): number {
  const files = layout.files;
  let lo = 0;
  let hi = files.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid]!;
    if (f.offset <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // Skip empty files that share this offset with the file that really holds the byte.
  while (found >= 0 && found < files.length) {
    const f = files[found]!;
    if (offset < f.offset + f.length) return found;
    if (f.length > 0 || found + 1 >= files.length || files[found + 1]!.offset > offset) return -1;
    found++;
  }
  return -1;
}

/** Bytes of piece `index` as sent on the wire (the last piece, and v2 file tails, are shorter). */
export function pieceSize(layout: StorageLayout, index: number): number {
  const start = index * layout.pieceLength;
  let end = Math.min(start + layout.pieceLength, layout.totalLength);
  if (layout.aligned) {
    const f = fileAt(layout, start);
    if (f >= 0) {
      const file = layout.files[f]!;
      end = Math.min(end, file.offset + file.length);
    }
  }
  return Math.max(0, end - start);
}

/**
 * Bytes of piece `index` a peer may request (0 for no such piece). In a v2-only torrent
 * libtorrent 2.0 pads every file to the next piece boundary, the last file included, so it
 * asks for whole pieces; the bytes past a file's end are served as zeros (what padding reads as).
 */
export function requestablePieceSize(layout: StorageLayout, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) return 0;
  return layout.aligned || layout.paddedTail ? layout.pieceLength : pieceSize(layout, index);
}

/** One contiguous run of bytes inside one file. */
export interface FileSpan {
  readonly file: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
  readonly length: number;
  /** Offset inside the caller's buffer. */
  readonly bufferOffset: number;
}

/**
 * The file runs covering `[offset, offset + length)` of piece space, in order. Bytes that
 * belong to no file (v2 gaps) are left out; pad files are included (callers skip them).
 */
export function spansOf(layout: StorageLayout, offset: number, length: number): FileSpan[] {
  const out: FileSpan[] = [];
  const end = offset + length;
  let i = fileAt(layout, offset);
  if (i < 0) {
    // Start in a gap: find the first file after it.
    i = layout.files.findIndex((f) => f.length > 0 && f.offset > offset);
    if (i < 0) return out;
  }
  for (; i < layout.files.length; i++) {
    const f = layout.files[i]!;
    if (f.offset >= end) break;
    if (f.length === 0) continue;
    const from = Math.max(offset, f.offset);
    const to = Math.min(end, f.offset + f.length);
    if (to > from)
      out.push({ file: i, fileOffset: from - f.offset, length: to - from, bufferOffset: from - offset });
  }
  return out;
}

/** Pieces `[first, end)` that hold any byte of file `index` (empty range for empty or pad files). */
export function piecesOfFile(layout: StorageLayout, index: number): { first: number; end: number } {
  const f = layout.files[index];
  if (!f || f.length === 0) return { first: 0, end: 0 };
  return {
    first: Math.floor(f.offset / layout.pieceLength),
    end: Math.ceil((f.offset + f.length) / layout.pieceLength),
  };
}
