/**
 * How many block requests to keep outstanding on one peer. Like libtorrent's
 * `request_queue_time`: enough requests to cover `queueSeconds` of the peer's current
 * download rate, so a fast link never idles waiting for the next request (bandwidth-delay
 * product), while a slow peer does not hoard blocks that a fast one could fetch.
 */
export interface RequestDepthSettings {
  /** Seconds of transfer to keep requested (libtorrent default 3). */
  readonly queueSeconds: number;
  /** Floor, for a peer whose rate is not known yet (libtorrent starts at 4, ramps by slow start). */
  readonly min: number;
  /** Ceiling (libtorrent `max_out_request_queue` 500). */
  readonly max: number;
  readonly blockLength: number;
}

/**
 * Half a second of rate, from 4 blocks: a deeper queue on a peer that is slow for us (a busy
 * seed) keeps blocks there that faster peers could send, which is what made the seed of the
 * simulated 1 + 9 swarm upload 2.0-2.3x the content (1.7-1.8x with these). At 100 MB/s half a
 * second is still 3000 blocks, capped by `max`, so fast links are unchanged.
 */
export const defaultRequestDepth: RequestDepthSettings = {
  queueSeconds: 0.5,
  min: 4,
  max: 500,
  blockLength: 16 * 1024,
};

/** Outstanding requests wanted for a peer downloading at `bytesPerSecond`. */
export function requestDepth(
  bytesPerSecond: number,
  settings: RequestDepthSettings = defaultRequestDepth,
): number {
  const want = Math.ceil((bytesPerSecond * settings.queueSeconds) / settings.blockLength);
  return Math.max(settings.min, Math.min(settings.max, Number.isFinite(want) ? want : settings.min));
}
