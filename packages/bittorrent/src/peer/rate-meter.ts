/**
 * Bytes per second over a sliding window of fixed buckets (default 5 x 1 s), driven by the
 * caller's clock. O(1) per sample, no allocation after construction.
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private head = 0;
  private headStart: number | undefined;
  private total = 0;

  constructor(
    private readonly bucketMs = 1000,
    bucketCount = 5,
  ) {
    this.buckets = new Float64Array(bucketCount);
  }

  /** Total bytes ever added. */
  get bytes(): number {
    return this.total;
  }

  add(bytes: number, now: number): void {
    this.advance(now);
    this.buckets[this.head] = (this.buckets[this.head] as number) + bytes;
    this.total += bytes;
  }

  /** Bytes per second over the window ending at `now`. */
  rate(now: number): number {
    this.advance(now);
    if (this.headStart === undefined) return 0;
    let sum = 0;
    for (const b of this.buckets) sum += b;
    // The newest bucket is partly filled: count the elapsed part of it only.
    const span = (this.buckets.length - 1) * this.bucketMs + Math.max(1, now - this.headStart);
    return (sum * 1000) / span;
  }

  private advance(now: number): void {
    if (this.headStart === undefined) {
      this.headStart = now;
      return;
    }
    const steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    const n = this.buckets.length;
    for (let i = 0; i < Math.min(steps, n); i++) {
      this.head = (this.head + 1) % n;
      this.buckets[this.head] = 0;
    }
    this.headStart += steps * this.bucketMs;
  }
}
