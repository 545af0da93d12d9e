/**
 * The read window of a media URL marked for the swarm: how a browser player starts on the
 * origin at once and moves its reads to the swarm without changing the element's source.
 *
 * The player marks the origin URL with `?sc-p2p=<stream key>`. An origin that sees the mark
 * answers an open-ended Range (`bytes=N-`) with at most `p2pWindowBytes` bytes (a 206 whose
 * Content-Range ends early, as RFC 9110 section 14.1.2 lets a client expect fewer bytes than
 * it asked for); the browser follows with a request for the rest, which the player's Service
 * Worker can answer from the swarm once it runs. A closed range is answered as asked.
 * Shared by the player (browser) and the origin (Node), so both agree on the name and size.
 */

/** The query parameter that marks a media request the swarm may answer (value: the stream key). */
export const p2pParam = 'sc-p2p';

/** Largest answer to an open-ended range of a marked URL: 512 KiB, well past the first frame. */
export const p2pWindowBytes = 512 * 1024;

/**
 * The last byte to send for a range [start, end] of a request whose Range header was
 * `rangeHeader`: `end`, or the end of the window when the range was open-ended and the URL
 * carries the mark.
 */
export function windowedEnd(
  marked: boolean,
  rangeHeader: string | null | undefined,
  start: number,
  end: number,
): number {
  if (!marked || !/^\s*bytes\s*=\s*\d+\s*-\s*$/i.test(rangeHeader ?? '')) return end;
  return Math.min(end, start + p2pWindowBytes - 1);
}
