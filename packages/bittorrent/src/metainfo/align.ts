import { asByteCount } from '../types.ts';
import type { TorrentFile } from './model.ts';

/** A file to place in a byte space. */
export interface Placeable {
  readonly path: readonly string[];
  readonly length: number;
  readonly attr?: string;
  readonly piecesRoot?: Uint8Array;
}

/**
 * Places files one after another; after file `i` (when `padAfter(i, count)` and it does not
 * end on a piece boundary) a BEP 47 pad file `.pad/<size>` brings the next to a boundary.
 * Shared by the creator (hybrid, v2) and the parser (v2-only layout) so both agree.
 */
export function alignFiles(
  entries: readonly Placeable[],
  pieceLength: number,
  padAfter: (index: number, count: number) => boolean,
): TorrentFile[] {
  const files: TorrentFile[] = [];
  let offset = 0;
  entries.forEach((f, i) => {
    files.push({
      path: f.path,
      length: asByteCount(f.length),
      offset: asByteCount(offset),
      pad: false,
      attr: f.attr ?? '',
      ...(f.piecesRoot ? { piecesRoot: f.piecesRoot } : {}),
    });
    offset += f.length;
    const gap = (pieceLength - (f.length % pieceLength)) % pieceLength;
    if (gap > 0 && padAfter(i, entries.length)) {
      files.push({
        path: ['.pad', String(gap)],
        length: asByteCount(gap),
        offset: asByteCount(offset),
        pad: true,
        attr: 'p',
      });
      offset += gap;
    }
  });
  return files;
}
