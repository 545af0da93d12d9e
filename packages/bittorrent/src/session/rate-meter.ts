/**
 * Bytes per second over a sliding window, on the caller's clock (virtual in the simulation).
 * Buckets of `bucketMs` keep it O(1) per sample and bounded in memory.
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private head = 0;
  private headStart = 0;
  private started = false;
  /** Every byte ever counted. */
  total = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly bucketMs = 500,
  ) {
    this.buckets = new Float64Array(Math.max(1, Math.ceil(windowMs / bucketMs)));
  }

  add(bytes: number, now: number): void {
    this.roll(now);
    this.buckets[this.head]! += bytes;
    this.total += bytes;
  }

  /** Bytes per second over the window (over the elapsed time while the window is young). */
  rate(now: number): number {
    this.roll(now);
    if (!this.started) return 0;
    let sum = 0;
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]!;
    const span = Math.min(this.windowMs, Math.max(this.bucketMs, now - this.firstMs + this.bucketMs));
    return (sum * 1000) / span;
  }

  private firstMs = 0;

  private roll(now: number): void {
    if (!this.started) {
      this.started = true;
      this.headStart = now;
      this.firstMs = now;
      return;
    }
    let steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    if (steps > this.buckets.length) steps = this.buckets.length;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.buckets.length;
      this.buckets[this.head] = 0;
    }
    this.headStart += Math.floor((now - this.headStart) / this.bucketMs) * this.bucketMs;
  }
}
