/**
 * The pure layer of in-browser delivery (groundwork for the Service Worker that will answer
 * the media element's range requests from the swarm engine): HTTP Range parsing (RFC 9110
 * section 14), the pieces a byte range needs, and which source should fetch each piece.
 */

export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range of a resource of `length` bytes (media elements send one range).
 * `bytes=a-b`, `bytes=a-`, `bytes=-n` (last n); end clamped to length-1. No header, another
 * unit or several ranges -> the full resource (RFC 9110 allows ignoring Range); a start at
 * or past the end -> unsatisfiable (416).
 */
export function parseRange(header: string | null, length: number): RangeRequest {
  if (header === null) return { kind: 'full' };
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (length <= 0) return { kind: 'unsatisfiable' };
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (start >= length || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

/**
 * Pieces covering bytes [start, end] of a file that begins at `fileOffset` in the torrent's
 * piece space, in playback order.
 */
export function piecesForRange(
  fileOffset: number,
  start: number,
  end: number,
  pieceLength: number,
): number[] {
  if (pieceLength <= 0 || end < start) return [];
  const first = Math.floor((fileOffset + start) / pieceLength);
  const last = Math.floor((fileOffset + end) / pieceLength);
  const out: number[] = [];
  for (let p = first; p <= last; p++) out.push(p);
  return out;
}

export type PieceSource = 'have' | 'web-seed' | 'peers';

/**
 * Where each needed piece should come from ("urgent bytes from HTTP, the rest from peers"):
 * a piece already verified is read locally; a piece starting within `urgentBytes` of the
 * read position (the first seconds, or just after a seek) comes from the web seed; so does
 * every piece when no peer has it or no peer is connected; the rest are left to the swarm
 * by deadline. Pure: `has`/`peersHave` are the engine's read-only view.
 */
export function pieceSources(
  pieces: readonly number[],
  readPieceStartByte: (piece: number) => number,
  readPositionByte: number,
  urgentBytes: number,
  has: (piece: number) => boolean,
  peersHave: (piece: number) => number,
): PieceSource[] {
  return pieces.map((p) => {
    if (has(p)) return 'have';
    if (readPieceStartByte(p) - readPositionByte < urgentBytes) return 'web-seed';
    return peersHave(p) > 0 ? 'peers' : 'web-seed';
  });
}
