/**
 * A token bucket per source address. `takeToken` is the pure policy; `AddressRateLimiter`
 * keeps buckets in a Map bounded to `maxAddresses` (the least recently seen address is
 * forgotten first, which at worst gives a flooder a fresh bucket: never unbounded memory).
 */

export interface RateRule {
  /** Sustained requests per second per address. 0 disables the limit. */
  perSecond: number;
  /** Requests allowed in a burst. */
  burst: number;
}

export interface Bucket {
  tokens: number;
  updated: number;
}

/** Refills `bucket` for the time elapsed and takes one token if there is one. */
export function takeToken(
  bucket: Bucket | undefined,
  now: number,
  rule: RateRule,
): { bucket: Bucket; allowed: boolean } {
  const elapsed = bucket ? Math.max(0, now - bucket.updated) : 0;
  const tokens = bucket
    ? Math.min(rule.burst, bucket.tokens + (elapsed * rule.perSecond) / 1000)
    : rule.burst;
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, updated: now }, allowed: true };
  return { bucket: { tokens, updated: now }, allowed: false };
}

export class AddressRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rule: RateRule,
    private readonly maxAddresses = 100_000,
  ) {}

  allow(address: string, now: number): boolean {
    if (this.rule.perSecond <= 0) return true;
    const previous = this.buckets.get(address);
    const { bucket, allowed } = takeToken(previous, now, this.rule);
    if (previous) this.buckets.delete(address);
    else if (this.buckets.size >= this.maxAddresses) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    this.buckets.set(address, bucket);
    return allowed;
  }

  get size(): number {
    return this.buckets.size;
  }
}
