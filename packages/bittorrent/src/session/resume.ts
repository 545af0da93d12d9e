import { type StorageLayout, spansOf } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { VerifyPiece } from './piece-verification.ts';

/**
 * Finds the pieces already on disk: every wanted piece whose bytes are all present is read and
 * verified; the verified ones are returned as a have-list. This is how a restart resumes
 * without downloading again, and how `seed` checks the data it is given. Pieces touching a
 * missing or short file are not read at all.
 */
export async function findVerifiedPieces(
  layout: StorageLayout,
  storage: Storage,
  verify: VerifyPiece,
  options: {
    wanted?: (index: number) => boolean;
    signal?: AbortSignal;
    onPiece?: (index: number, ok: boolean) => void;
    /** Take a piece whose bytes are all present as verified, without reading it. */
    trustPresent?: boolean;
  } = {},
): Promise<number[]> {
  const present = await storage.presentLengths();
  const found: number[] = [];
  for (let i = 0; i < layout.pieceCount; i++) {
    if (options.signal?.aborted) break;
    if (options.wanted && !options.wanted(i)) continue;
    const start = i * layout.pieceLength;
    const length = Math.min(layout.pieceLength, layout.totalLength - start);
    const onDisk = spansOf(layout, start, length).every(
      (s) => layout.files[s.file]!.pad || present[s.file]! >= s.fileOffset + s.length,
    );
    if (!onDisk) continue;
    const ok = options.trustPresent || (await verify(i, await storage.read(start, length)));
    options.onPiece?.(i, ok);
    if (ok) found.push(i);
  }
  return found;
}
