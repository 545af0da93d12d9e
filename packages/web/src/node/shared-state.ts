import { redisSharedDelivery, type SharedDelivery } from '@swarmcast/ads';
import {
  redisFailureCounter,
  redisRateLimiter,
  redisSignal,
  type SharedFailureCounter,
  type SharedRateLimiter,
  type SharedSignal,
} from '@swarmcast/platform';
import { AddressRateLimiter, type RateRule } from '@swarmcast/tracker';
import { memoryFailureCounter } from '../dashboard/slow-down.ts';

type Redis = Parameters<typeof redisRateLimiter>[0];

/**
 * What the web role's processes must agree on when it runs N times: rate limits, log-in
 * failure counts and "drop your cache" signals. With REDIS_URL they live in Redis (every
 * process sees one bucket per address, one count per account, every other process's
 * writes); without it, in this process (a single-process node loses nothing by that).
 */
export interface SharedState {
  readonly where: 'redis' | 'process';
  rateLimiter(name: string, rule: RateRule, maxKeys?: number): SharedRateLimiter;
  failures(name: string, decayMs: number, maxKeys?: number): SharedFailureCounter;
  /** `onSignal` runs when another process sends on `name`; `send()` tells the others. */
  signal(name: string, onSignal: () => void): Promise<SharedSignal>;
  /**
   * The ad server's frequency caps and line-item delivery (pacing, goals) counted once for
   * every process; undefined in one process, where the ad server's own store counts them.
   */
  adsDelivery(o: Parameters<typeof redisSharedDelivery>[2]): SharedDelivery | undefined;
  close(): Promise<void>;
}

export function processSharedState(): SharedState {
  return {
    where: 'process',
    rateLimiter(_name, rule, maxKeys = 100_000) {
      const limiter = new AddressRateLimiter(rule, maxKeys);
      return { allow: async (key, now) => limiter.allow(key, now) };
    },
    failures: (_name, decayMs, maxKeys = 50_000) => memoryFailureCounter(decayMs, maxKeys),
    // Nobody else to tell.
    signal: async () => ({ send() {}, close: async () => {} }),
    adsDelivery: () => undefined,
    close: async () => {},
  };
}

/**
 * State in Redis under `prefix` (the network's SWARMCAST_REDIS_PREFIX). `redis` is the
 * node's connection (not closed here); signals subscribe on a duplicate, closed by `close()`.
 */
export function redisSharedState(
  redis: Redis,
  prefix: string,
  onError: (err: unknown) => void = () => {},
): SharedState {
  const open =
    <T>(value: T) =>
    (err: unknown): T => {
      onError(err);
      return value;
    };
  let subscriber: Redis | undefined;
  const signals: SharedSignal[] = [];
  return {
    where: 'redis',
    // Redis down: limits open and failures go uncounted (logged) rather than every log-in or
    // ad request failing with a 5xx; the swarms and salts in the same Redis fail louder.
    rateLimiter(name, rule) {
      const limiter = redisRateLimiter(redis, { prefix, name, rule });
      return { allow: (key, now) => limiter.allow(key, now).catch(open(true)) };
    },
    failures(name, decayMs) {
      const f = redisFailureCounter(redis, { prefix, name, decayMs });
      return {
        count: (key, now) => f.count(key, now).catch(open(0)),
        fail: (key, now) => f.fail(key, now).catch(open(0)),
        clear: (key) => f.clear(key).catch(open(undefined)),
      };
    },
    async signal(name, onSignal) {
      subscriber ??= redis.duplicate();
      const s = await redisSignal(redis, subscriber, { prefix, name, onSignal, onError });
      signals.push(s);
      return s;
    },
    // Unlike the limits above, a Redis failure here fails the ad request (the player gets no
    // ad): serving past a cap or a budget is a wrong charge, not a degraded page.
    adsDelivery: (o) => redisSharedDelivery(redis, `${prefix}ads:`, o),
    async close() {
      for (const s of signals.splice(0)) await s.close();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
