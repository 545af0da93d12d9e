import type { TorrentSession } from './torrent-session.ts';

export interface ReadRangeOptions {
  /** Ends the read (the HTTP client went away, the user seeked). */
  readonly signal?: AbortSignal;
  /** Pieces ahead of the one being read that get deadlines too (default 8). */
  readonly readahead?: number;
  /** Milliseconds between the deadlines of consecutive pieces (default 250). */
  readonly spacingMs?: number;
  /** The session's clock: deadlines are compared with the deadlines of other readers. */
  readonly now: () => number;
}

/**
 * The verified bytes [start, end) of a torrent's piece space, piece by piece as they arrive:
 * streaming on top of the session's deadline mode. The piece being read and the next
 * `readahead` ones get deadlines, soonest first, so the picker fetches them before anything
 * else; each chunk is yielded only once its piece is verified and stored. Deadlines this read
 * set on pieces it did not reach are cleared when it ends early (a seek).
 */
export async function* readVerifiedRange(
  session: TorrentSession,
  start: number,
  end: number,
  o: ReadRangeOptions,
): AsyncGenerator<Uint8Array> {
  const { pieceLength, totalLength } = session.layout;
  if (
    !(
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      0 <= start &&
      start <= end &&
      end <= totalLength
    )
  )
    throw new RangeError(`range ${start}-${end} is outside the torrent's ${totalLength} bytes`);
  if (start === end) return;
  const first = Math.floor(start / pieceLength);
  const last = Math.floor((end - 1) / pieceLength);
  const readahead = o.readahead ?? 8;
  const spacing = o.spacingMs ?? 250;
  const marked = new Set<number>();
  try {
    for (let p = first; p <= last; p++) {
      const now = o.now();
      for (let q = p; q <= Math.min(last, p + readahead); q++) {
        if (session.hasPiece(q)) continue;
        session.setDeadline(q, now + (q - p) * spacing);
        marked.add(q);
      }
      await whenVerified(session, p, o.signal);
      marked.delete(p);
      const from = Math.max(start, p * pieceLength);
      const to = Math.min(end, (p + 1) * pieceLength);
      yield await session.storage.read(from, to - from);
    }
  } finally {
    for (const q of marked) if (!session.hasPiece(q)) session.setDeadline(q, undefined);
  }
}

function whenVerified(session: TorrentSession, piece: number, signal?: AbortSignal): Promise<void> {
  if (session.hasPiece(piece)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = () => {
      off();
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      stop();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const off = session.on('piece', (index) => {
      if (index !== piece) return;
      stop();
      resolve();
    });
    if (signal?.aborted) aborted();
    else signal?.addEventListener('abort', aborted, { once: true });
  });
}
