import type { Hasher } from '../hasher.ts';
import { rootOfSmallFile, v2PieceHash } from '../merkle.ts';
import { slicesOf } from '../metainfo/model.ts';
import type { TorrentPlan } from './plan.ts';

/** The hashes of one piece: v1 SHA-1, and for v2 the piece-layer hash (or a small file's root). */
export interface PieceHashes {
  readonly v1?: Uint8Array;
  /** Absent when the piece holds no byte of a v2 file (only pads). */
  readonly v2?: Uint8Array;
}

/** Byte offset and size of piece `index` in the plan's byte space. */
export function pieceRange(
  plan: Pick<TorrentPlan, 'pieceLength' | 'length'>,
  index: number,
): { start: number; length: number } {
  const start = index * plan.pieceLength;
  return { start, length: Math.min(plan.pieceLength, plan.length - start) };
}

/**
 * Hashes one piece of a plan. `data` is the piece's bytes in the byte space (pad bytes zero).
 * A v2 piece covers one file only (the plan aligns files), so its hash is that file's part.
 */
export async function hashPiece(
  plan: TorrentPlan,
  index: number,
  data: Uint8Array,
  hasher: Hasher,
): Promise<PieceHashes> {
  const v1 = plan.version === 'v2' ? undefined : await hasher.sha1(data);
  if (plan.version === 'v1') return { v1: v1! };
  const { start } = pieceRange(plan, index);
  const slice = slicesOf(plan.files, start, data.length).find((s) => !plan.files[s.fileIndex]!.pad);
  if (!slice) return v1 ? { v1 } : {};
  const file = plan.files[slice.fileIndex]!;
  const bytes = data.subarray(slice.pieceOffset, slice.pieceOffset + slice.length);
  const v2 =
    file.length <= plan.pieceLength
      ? await rootOfSmallFile(bytes, hasher)
      : await v2PieceHash(bytes, plan.pieceLength, hasher);
  return v1 ? { v1, v2 } : { v2 };
}
