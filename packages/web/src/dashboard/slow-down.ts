import type { SharedFailureCounter } from '@swarmcast/platform';

export interface SlowDownOptions {
  /** Wrong passwords before any delay (default 3). */
  free?: number;
  /** Delay after the first counted failure, doubling per further failure (default 500 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One failure is forgotten per this much time without failures (default 5 min). */
  decayMs?: number;
  /** Emails remembered in memory (the least recently failed forgotten first). */
  maxAccounts?: number;
}

/**
 * Progressive slow-down of log-ins per account: after a few wrong passwords for an email,
 * every attempt for it waits longer (doubling, at most `maxDelayMs`), and the count decays
 * with time. Never a refusal: an attacker guessing someone's password cannot lock her out,
 * she only waits a few seconds more; a guesser gets a handful of tries per minute.
 * The failures are counted in `failures` (Redis, shared by every web process, when the node
 * has REDIS_URL: a guesser spreading attempts over N processes is not given N times the
 * tries), else in this process.
 */
export class AccountSlowDown {
  private readonly failures: SharedFailureCounter;

  constructor(
    private readonly o: SlowDownOptions = {},
    failures?: SharedFailureCounter,
  ) {
    this.failures = failures ?? memoryFailureCounter(o.decayMs ?? 300_000, o.maxAccounts ?? 50_000);
  }

  /** How long the next attempt for `key` waits, in ms. */
  async delayMs(key: string, now: number): Promise<number> {
    const count = await this.failures.count(key, now);
    const free = this.o.free ?? 3;
    if (count < free) return 0;
    return Math.min(this.o.maxDelayMs ?? 8000, (this.o.baseDelayMs ?? 500) * 2 ** (count - free));
  }

  async failed(key: string, now: number): Promise<void> {
    await this.failures.fail(key, now);
  }

  async succeeded(key: string): Promise<void> {
    await this.failures.clear(key);
  }
}

/** Failure counts in this process, bounded to `maxKeys` (the least recently failed forgotten first). */
export function memoryFailureCounter(decayMs: number, maxKeys: number): SharedFailureCounter {
  const failures = new Map<string, { count: number; at: number }>();
  const current = (key: string, now: number) => {
    const f = failures.get(key);
    if (!f) return 0;
    return Math.max(0, f.count - Math.floor(Math.max(0, now - f.at) / decayMs));
  };
  return {
    count: async (key, now) => current(key, now),
    async fail(key, now) {
      const count = current(key, now) + 1;
      failures.delete(key);
      if (failures.size >= maxKeys) {
        const oldest = failures.keys().next();
        if (!oldest.done) failures.delete(oldest.value);
      }
      failures.set(key, { count, at: now });
      return count;
    },
    async clear(key) {
      failures.delete(key);
    },
  };
}
