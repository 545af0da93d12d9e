/**
 * Bytes per second over a sliding window, on the caller's clock (virtual in the simulation).
 * The one rate meter of the engine: the connection counts each peer's bytes with it, and the
 * choker, the request depth and the session's stats read those same meters. Buckets of
 * `bucketMs` keep it O(1) per sample, bounded in memory and free of allocation after
 * construction.
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private head = 0;
  private headStart = 0;
  private firstMs = 0;
  private started = false;
  private total = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly bucketMs = 500,
  ) {
    this.buckets = new Float64Array(Math.max(1, Math.ceil(windowMs / bucketMs)));
  }

  /** Every byte ever counted. */
  get bytes(): number {
    return this.total;
  }

  add(bytes: number, now: number): void {
    this.roll(now);
    this.buckets[this.head]! += bytes;
    this.total += bytes;
  }

  /**
   * Bytes per second over the window; while the meter is younger than the window, over its
   * age plus one bucket (a new peer's rate is not diluted by seconds it did not exist, and a
   * first sample does not read as a burst).
   */
  rate(now: number): number {
    this.roll(now);
    if (!this.started) return 0;
    let sum = 0;
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]!;
    const span = Math.min(this.windowMs, Math.max(this.bucketMs, now - this.firstMs + this.bucketMs));
    return (sum * 1000) / span;
  }

  private roll(now: number): void {
    if (!this.started) {
      this.started = true;
      this.headStart = now;
      this.firstMs = now;
      return;
    }
    const elapsed = Math.floor((now - this.headStart) / this.bucketMs);
    if (elapsed <= 0) return;
    const steps = Math.min(elapsed, this.buckets.length);
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length;
      this.buckets[this.head] = 0;
    }
    this.headStart += elapsed * this.bucketMs;
  }
}
