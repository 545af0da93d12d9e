/** Bounds every codec applies while parsing, so no request can ask for unbounded work. */
export interface CodecLimits {
  /** Peers returned when the client does not say (numwant absent or -1). */
  defaultNumwant: number;
  /** Hard cap on peers returned, whatever numwant asks. */
  maxNumwant: number;
  /** Most info-hashes in one scrape. */
  maxScrapeHashes: number;
}

export const defaultCodecLimits: CodecLimits = { defaultNumwant: 50, maxNumwant: 200, maxScrapeHashes: 74 };

/** numwant as asked, defaulted and capped. */
export function capNumwant(asked: number | null, limits: CodecLimits): number {
  if (asked === null || !Number.isFinite(asked) || asked < 0) return limits.defaultNumwant;
  return Math.min(Math.floor(asked), limits.maxNumwant);
}
