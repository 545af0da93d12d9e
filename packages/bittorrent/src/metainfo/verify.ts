import { bytesEqual, toHex } from '../bytes.ts';
import type { Hasher } from '../hasher.ts';
import { rootOfSmallFile, v2PieceHash } from '../merkle.ts';
import type { PieceIndex } from '../types.ts';
import { type Metainfo, pieceHashV1, pieceLengthAt, pieceSlices } from './model.ts';

/** What a piece must hash to under v2: a piece-layer entry, or a small file's pieces root. */
export type V2Target =
  | { readonly kind: 'layer'; readonly hash: Uint8Array }
  | { readonly kind: 'root'; readonly root: Uint8Array; readonly fileLength: number }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'padding' };

/** The v2 hash piece `index` must have (v2 pieces never span files). */
export function v2Target(meta: Metainfo, index: PieceIndex): V2Target {
  const slices = pieceSlices(meta, index).filter((s) => !meta.files[s.fileIndex]!.pad);
  const first = slices[0];
  if (!first) return { kind: 'padding' };
  const file = meta.files[first.fileIndex]!;
  if (!file.piecesRoot) return { kind: 'unknown' };
  if (file.length <= meta.pieceLength)
    return { kind: 'root', root: file.piecesRoot, fileLength: file.length };
  const layer = meta.pieceLayers.get(toHex(file.piecesRoot));
  if (!layer) return { kind: 'unknown' };
  const k = Math.floor(first.fileOffset / meta.pieceLength);
  return { kind: 'layer', hash: layer.subarray(k * 32, k * 32 + 32) };
}

/**
 * Checks a whole piece against the torrent's hashes: SHA-1 for v1 and hybrid torrents,
 * the v2 merkle piece hash for v2-only ones (and for hybrids, both must agree).
 * Returns null when the torrent does not hold what is needed (v2 piece layers not yet known).
 */
export async function verifyPiece(
  meta: Metainfo,
  index: PieceIndex,
  data: Uint8Array,
  hasher: Hasher,
): Promise<boolean | null> {
  if (data.length !== pieceLengthAt(meta, index)) return false;
  const expected = pieceHashV1(meta, index);
  if (expected && !bytesEqual(await hasher.sha1(data), expected)) return false;
  if (meta.version === 'v1') return true;
  const target = v2Target(meta, index);
  const slice = pieceSlices(meta, index).find((s) => !meta.files[s.fileIndex]!.pad);
  const fileBytes = slice
    ? data.subarray(slice.pieceOffset, slice.pieceOffset + slice.length)
    : data.subarray(0, 0);
  switch (target.kind) {
    case 'padding':
      return data.every((b) => b === 0);
    case 'unknown':
      return expected ? true : null;
    case 'root':
      return bytesEqual(await rootOfSmallFile(fileBytes, hasher), target.root);
    case 'layer':
      return bytesEqual(await v2PieceHash(fileBytes, meta.pieceLength, hasher), target.hash);
  }
}
