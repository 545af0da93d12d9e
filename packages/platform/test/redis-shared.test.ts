import { randomBytes } from 'node:crypto';
import { requireServices, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFailureCounter, redisRateLimiter, redisSignal } from '../src/index.ts';

/** Shared state of N processes in the real Redis: two connections stand for two processes. */
const services = await requireServices('shared state in Redis', 'redis');
const prefix = `sc-rs-${randomBytes(4).toString('hex')}:`;

describe.skipIf(services.skip)('shared state in Redis', () => {
  let one: Redis;
  let two: Redis;
  beforeAll(() => {
    one = new Redis(serviceUrl('redis'));
    two = new Redis(serviceUrl('redis'));
  });
  afterAll(async () => {
    const keys = await one.keys(`${prefix}*`);
    if (keys.length > 0) await one.del(...keys);
    one.disconnect();
    two.disconnect();
  });

  it('a token bucket raced by two processes gives out exactly its burst, refills with time, and expires', async () => {
    const rule = { perSecond: 2, burst: 10 };
    const [x, y] = [one, two].map((r) => redisRateLimiter(r, { prefix, name: 'race', rule }));
    const now = 1_000_000;
    const got = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? x! : y!).allow('10.0.0.1', now)),
    );
    expect(got.filter(Boolean)).toHaveLength(10);
    // Another key has its own bucket; 0.5 s later one more token (2/s) for the first.
    expect(await x!.allow('10.0.0.2', now)).toBe(true);
    expect(await y!.allow('10.0.0.1', now + 500)).toBe(true);
    expect(await x!.allow('10.0.0.1', now + 500)).toBe(false);
    // The key names a hash, not the address, and lives until the bucket would be full.
    const keys = await one.keys(`${prefix}rl:race:*`);
    expect(keys).toHaveLength(2);
    expect(keys.join()).not.toContain('10.0.0');
    const ttl = await one.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 * 500 + 1000);
  });

  it('failures counted by two processes at once are all counted, and decay', async () => {
    const [x, y] = [one, two].map((r) => redisFailureCounter(r, { prefix, name: 'login', decayMs: 60_000 }));
    const now = 5_000_000;
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? x! : y!).fail('ada@example.org', now)));
    expect(await x!.count('ada@example.org', now)).toBe(20);
    expect(await y!.count('ada@example.org', now + 3 * 60_000)).toBe(17);
    expect(await y!.count('bob@example.org', now)).toBe(0);
    expect((await one.keys(`${prefix}fail:*`)).join()).not.toContain('ada');
    await y!.clear('ada@example.org');
    expect(await x!.count('ada@example.org', now)).toBe(0);
  });

  it('a signal reaches the other process and not the sender', async () => {
    const heard: string[] = [];
    const subA = one.duplicate();
    const subB = two.duplicate();
    const sa = await redisSignal(one, subA, { prefix, name: 'cache', onSignal: () => heard.push('a') });
    const sb = await redisSignal(two, subB, { prefix, name: 'cache', onSignal: () => heard.push('b') });
    const got = new Promise<void>((resolve) => subB.once('message', () => setImmediate(resolve)));
    sa.send();
    await got;
    expect(heard).toEqual(['b']);
    await sa.close();
    await sb.close();
    subA.disconnect();
    subB.disconnect();
  });
});
