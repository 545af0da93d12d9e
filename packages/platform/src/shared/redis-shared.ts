/**
 * State that every process of one network must share when it runs N times, kept in Redis
 * (REDIS_URL): per-address rate limits, per-account failure counts (the log-in slow-down) and
 * a broadcast that tells every other process to drop a cache. Each operation is one Redis
 * round trip and atomic there (a Lua script), so two processes racing over one key never
 * both take the last token or lose a failure.
 *
 * The caller passes `now`: the policy stays the caller's clock's (tests drive it); processes
 * on several machines need synchronised clocks (NTP), as the rest of the node does.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Sustained rate and burst, as tracker's `RateRule` (token bucket). */
export interface SharedRateRule {
  perSecond: number;
  burst: number;
}

export interface SharedRateLimiter {
  /** Takes one token from `key`'s bucket; false when it has none (the request is refused). */
  allow(key: string, now: number): Promise<boolean>;
}

// KEYS[1] bucket; ARGV: now, perSecond, burst. The same policy as tracker's takeToken: a new
// bucket starts full; refill by elapsed time up to burst; take one if there is one. The key
// lives until the bucket would be full again (then it is the same as a missing one).
const tokenBucket = `
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = burst
if b[1] then
  local elapsed = math.max(0, now - tonumber(b[2]))
  tokens = math.min(burst, tonumber(b[1]) + elapsed * rate / 1000)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return allowed
`;

/** Keys carry a hash of what they count (an address, an email), never the thing itself. */
function hashed(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

/** A token bucket per key in Redis, shared by every process on `prefix`. */
export function redisRateLimiter(
  redis: Redis,
  o: { prefix: string; name: string; rule: SharedRateRule },
): SharedRateLimiter {
  return {
    async allow(key, now) {
      if (o.rule.perSecond <= 0) return true;
      const r = await redis.eval(
        tokenBucket,
        1,
        `${o.prefix}rl:${o.name}:${hashed(key)}`,
        now,
        o.rule.perSecond,
        o.rule.burst,
      );
      return r === 1;
    },
  };
}

/** Failures per key that decay by one per `decayMs` without a failure (the log-in slow-down). */
export interface SharedFailureCounter {
  /** Failures counted for `key` now (after decay). */
  count(key: string, now: number): Promise<number>;
  /** Counts one more failure; resolves with the count after it. */
  fail(key: string, now: number): Promise<number>;
  clear(key: string): Promise<void>;
}

// KEYS[1]; ARGV: now, decayMs. Decays, adds one, keeps the key until it has decayed to zero.
const failOnce = `
local now = tonumber(ARGV[1])
local decay = tonumber(ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'c', 'a')
local c = 0
if f[1] then c = math.max(0, tonumber(f[1]) - math.floor(math.max(0, now - tonumber(f[2])) / decay)) end
c = c + 1
redis.call('HSET', KEYS[1], 'c', c, 'a', now)
redis.call('PEXPIRE', KEYS[1], c * decay + 1000)
return c
`;

export function redisFailureCounter(
  redis: Redis,
  o: { prefix: string; name: string; decayMs: number },
): SharedFailureCounter {
  const keyOf = (key: string) => `${o.prefix}fail:${o.name}:${hashed(key)}`;
  return {
    async count(key, now) {
      const [c, at] = await redis.hmget(keyOf(key), 'c', 'a');
      if (c === null || at === null) return 0;
      return Math.max(0, Number(c) - Math.floor(Math.max(0, now - Number(at)) / o.decayMs));
    },
    async fail(key, now) {
      return Number(await redis.eval(failOnce, 1, keyOf(key), now, o.decayMs));
    },
    async clear(key) {
      await redis.del(keyOf(key));
    },
  };
}

/** Tells every other process something happened (a cache to drop); at most once, best effort. */
export interface SharedSignal {
  send(): void;
  close(): Promise<void>;
}

/**
 * A signal on a Redis pub/sub channel: `send()` reaches every other process subscribed to
 * `name` under `prefix` (not this one: it acted already). Needs a connection of its own for
 * the subscription (`subscriber`, e.g. `redis.duplicate()`), which `close()` ends.
 */
export async function redisSignal(
  redis: Redis,
  subscriber: Redis,
  o: { prefix: string; name: string; onSignal: () => void; onError?: (err: unknown) => void },
): Promise<SharedSignal> {
  const channel = `${o.prefix}signal:${o.name}`;
  const self = randomUUID();
  subscriber.on('message', (ch: string, from: string) => {
    if (ch === channel && from !== self) o.onSignal();
  });
  await subscriber.subscribe(channel);
  return {
    send() {
      redis.publish(channel, self).catch((err: unknown) => o.onError?.(err));
    },
    async close() {
      await subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
