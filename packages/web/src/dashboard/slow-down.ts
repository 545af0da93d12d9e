/**
 * Progressive slow-down of log-ins per account: after a few wrong passwords for an email,
 * every attempt for it waits longer (doubling, at most `maxDelayMs`), and the count decays
 * with time. Never a refusal: an attacker guessing someone's password cannot lock her out,
 * she only waits a few seconds more; a guesser gets a handful of tries per minute.
 */
export class AccountSlowDown {
  private readonly failures = new Map<string, { count: number; at: number }>();

  constructor(
    private readonly o: {
      /** Wrong passwords before any delay (default 3). */
      free?: number;
      /** Delay after the first counted failure, doubling per further failure (default 500 ms). */
      baseDelayMs?: number;
      maxDelayMs?: number;
      /** One failure is forgotten per this much time without failures (default 5 min). */
      decayMs?: number;
      /** Emails remembered (the least recently failed forgotten first). */
      maxAccounts?: number;
    } = {},
  ) {}

  /** How long the next attempt for `key` waits, in ms. */
  delayMs(key: string, now: number): number {
    const count = this.current(key, now);
    const free = this.o.free ?? 3;
    if (count < free) return 0;
    return Math.min(this.o.maxDelayMs ?? 8000, (this.o.baseDelayMs ?? 500) * 2 ** (count - free));
  }

  failed(key: string, now: number): void {
    const count = this.current(key, now) + 1;
    this.failures.delete(key);
    if (this.failures.size >= (this.o.maxAccounts ?? 50_000)) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
    this.failures.set(key, { count, at: now });
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }

  private current(key: string, now: number): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    const decayed = Math.floor(Math.max(0, now - f.at) / (this.o.decayMs ?? 300_000));
    return Math.max(0, f.count - decayed);
  }
}
