/** Smallest and largest piece lengths the automatic rule picks. */
export const MIN_AUTO_PIECE_LENGTH = 16 * 1024;
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;

/**
 * The automatic piece length: about 10 * sqrt(total bytes), as a power of two in
 * [16 KiB, 16 MiB] — a piece length p doubles while total > round(p^2 / 100). This is
 * libtorrent 2.0's choice to the byte (breakpoints measured with `lt.create_torrent(fs, 0)`:
 * 2,684,356 B -> 32 KiB, 655 MiB -> 512 KiB, 2.5 GiB -> 1 MiB, ...), used for v1, v2 and
 * hybrid alike, so a torrent made without `pieceLength` matches libtorrent's. mktorrent
 * always uses 256 KiB unless told: pass `pieceLength: 262144` to match it.
 */
export function autoPieceLength(totalBytes: number): number {
  let p = MIN_AUTO_PIECE_LENGTH;
  while (p < MAX_AUTO_PIECE_LENGTH && totalBytes > Math.round((p * p) / 100)) p *= 2;
  return p;
}

/** True when `n` is a piece length a torrent of `version` may use. */
export function validPieceLength(n: number, version: 'v1' | 'v2' | 'hybrid'): boolean {
  if (!Number.isSafeInteger(n) || n < MIN_AUTO_PIECE_LENGTH || n > 256 * 1024 * 1024) return false;
  return version === 'v1' ? n % MIN_AUTO_PIECE_LENGTH === 0 : (n & (n - 1)) === 0;
}
