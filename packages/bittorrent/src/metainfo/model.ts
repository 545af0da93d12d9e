import type { ByteCount, InfoHashes, PieceIndex } from '../types.ts';

/** Which hash trees a torrent carries. */
export type TorrentVersion = 'v1' | 'v2' | 'hybrid';

/**
 * One file of a torrent, placed in the torrent's single byte space. Pad files (BEP 47, or
 * synthesised alignment gaps of a v2-only torrent) are listed with `pad: true`: their bytes
 * are zeros and are never written to disk.
 */
export interface TorrentFile {
  /** Path components under the torrent's name (single-file torrents: `[name]`). */
  readonly path: readonly string[];
  readonly length: ByteCount;
  /** Offset of the first byte in the torrent's byte space. */
  readonly offset: ByteCount;
  readonly pad: boolean;
  /** BEP 47 attributes: any of 'x' (executable), 'h' (hidden), 'l' (symlink), 'p' (pad). */
  readonly attr: string;
  /** v2: merkle root of the file (absent for empty files and in v1 torrents). */
  readonly piecesRoot?: Uint8Array;
  /** BEP 47 symlink target, for attr 'l'. */
  readonly symlinkPath?: readonly string[];
}

/**
 * A parsed, validated .torrent (or info dict from BEP 9). Read-only; helpers in this folder
 * answer questions about it (piece sizes, hashes, files of a piece).
 */
export interface Metainfo {
  readonly version: TorrentVersion;
  readonly infoHash: InfoHashes;
  /** The original bytes of the info dict (what BEP 9 sends, what the info-hash covers). */
  readonly infoBytes: Uint8Array;
  readonly name: string;
  readonly pieceLength: ByteCount;
  readonly pieceCount: number;
  /** Size of the byte space, pad files included. */
  readonly length: ByteCount;
  /** True when the torrent is one file (v1 `length` form, or a v2 tree with one file named `name`). */
  readonly singleFile: boolean;
  readonly files: readonly TorrentFile[];
  /** v1: the 20-byte SHA-1 of each piece, concatenated. */
  readonly pieces?: Uint8Array;
  /** v2: piece layers by the hex of their pieces root (may be empty when parsed from an info dict). */
  readonly pieceLayers: ReadonlyMap<string, Uint8Array>;
  /** Announce URLs by tier (BEP 12); a lone `announce` becomes one tier. */
  readonly announce: readonly (readonly string[])[];
  /** Web seeds (BEP 19 `url-list`). */
  readonly urlList: readonly string[];
  /** BEP 27. */
  readonly private: boolean;
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the Unix epoch. */
  readonly creationDate?: number;
  readonly source?: string;
}

/** Size of piece `index` (the last piece may be short). */
export function pieceLengthAt(
  meta: Pick<Metainfo, 'pieceLength' | 'length' | 'pieceCount'>,
  index: PieceIndex,
): number {
  if (index < 0 || index >= meta.pieceCount) throw new RangeError(`piece ${index} out of range`);
  if (index < meta.pieceCount - 1) return meta.pieceLength;
  return meta.length - meta.pieceLength * (meta.pieceCount - 1);
}

/** v1 SHA-1 of piece `index`, if the torrent has v1 hashes. */
export function pieceHashV1(meta: Metainfo, index: PieceIndex): Uint8Array | undefined {
  return meta.pieces?.subarray(index * 20, index * 20 + 20);
}

/** A slice of one file that a piece covers. */
export interface FileSlice {
  readonly fileIndex: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
  /** Offset inside the piece. */
  readonly pieceOffset: number;
  readonly length: number;
}

/** The file slices covered by bytes [start, start + length) of the byte space (pad files included). */
export function slicesOf(files: readonly TorrentFile[], start: number, length: number): FileSlice[] {
  const out: FileSlice[] = [];
  const end = start + length;
  // binary search for the first file that ends after `start`
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid]!;
    if (f.offset + f.length <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < files.length; i++) {
    const f = files[i]!;
    if (f.offset >= end) break;
    if (f.length === 0) continue;
    const from = Math.max(start, f.offset);
    const to = Math.min(end, f.offset + f.length);
    out.push({ fileIndex: i, fileOffset: from - f.offset, pieceOffset: from - start, length: to - from });
  }
  return out;
}

/** The file slices of piece `index`. */
export function pieceSlices(meta: Metainfo, index: PieceIndex): FileSlice[] {
  return slicesOf(meta.files, index * meta.pieceLength, pieceLengthAt(meta, index));
}
