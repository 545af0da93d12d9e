import { compareBytes } from '../bytes.ts';
import { alignFiles } from '../metainfo/align.ts';
import type { TorrentFile, TorrentVersion } from '../metainfo/model.ts';

/** A file to put in a torrent: its path under the torrent's name, and its size. */
export interface SourceFile {
  readonly path: readonly string[];
  readonly length: number;
}

/**
 * The layout of a torrent to be made: files in their final order, pad files included, in one
 * byte space cut into pieces. Pure: the Node adapter hashes it with worker threads, the core
 * with any Hasher.
 */
export interface TorrentPlan {
  readonly version: TorrentVersion;
  readonly name: string;
  readonly pieceLength: number;
  /** One file given as the torrent itself (v1 `length` form; v2 tree with one entry). */
  readonly singleFile: boolean;
  /** The byte space: real files and pad files, in order. */
  readonly files: readonly TorrentFile[];
  readonly length: number;
  readonly pieceCount: number;
}

const encoder = new TextEncoder();

/** mktorrent's order: the whole relative path compared as bytes ("a.txt" before "a/b"). */
function byFullPath(a: SourceFile, b: SourceFile): number {
  return compareBytes(encoder.encode(a.path.join('/')), encoder.encode(b.path.join('/')));
}

/** BEP 52 file tree order: component by component ("a/b" before "a.txt"). */
function byComponents(a: SourceFile, b: SourceFile): number {
  const n = Math.min(a.path.length, b.path.length);
  for (let i = 0; i < n; i++) {
    const c = compareBytes(encoder.encode(a.path[i]!), encoder.encode(b.path[i]!));
    if (c !== 0) return c;
  }
  return a.path.length - b.path.length;
}

/**
 * Orders the files and lays out the byte space:
 * - v1: mktorrent's order, no padding (so the info dict equals mktorrent's).
 * - hybrid: file-tree order; after every non-empty file whose end is not on a piece boundary,
 *   a BEP 47 pad file `.pad/<size>` (libtorrent 2.0 pads the last file too).
 * - v2: file-tree order; files start on piece boundaries (implicit padding, none after the last).
 */
export function planTorrent(
  name: string,
  sources: readonly SourceFile[],
  version: TorrentVersion,
  pieceLength: number,
  singleFile: boolean,
): TorrentPlan {
  const sorted = [...sources].sort(version === 'v1' ? byFullPath : byComponents);
  const padAfter =
    version === 'hybrid'
      ? () => !singleFile
      : version === 'v2'
        ? (i: number, n: number) => i < n - 1
        : () => false;
  const files = alignFiles(sorted, pieceLength, padAfter);
  const last = files[files.length - 1];
  const length = last ? last.offset + last.length : 0;
  return {
    version,
    name,
    pieceLength,
    singleFile,
    files,
    length,
    pieceCount: Math.ceil(length / pieceLength),
  };
}
