import { describe, expect, it } from 'vitest';
import { ReadCache } from '../src/portal/read-cache.ts';

describe('portal read cache', () => {
  it('loads a key once for concurrent and repeated reads within the TTL, then again after it', async () => {
    let now = 0;
    const cache = new ReadCache({ ttlMs: 1000, maxEntries: 10, now: () => now });
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('a', load), cache.get('a', load), cache.get('a', load)])).toEqual([
      1, 1, 1,
    ]);
    now = 999;
    expect(await cache.get('a', load)).toBe(1);
    now = 1000;
    expect(await cache.get('a', load)).toBe(2);
  });

  it('drops everything on invalidate, including a load that was still running', async () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 10 });
    let release: (v: string) => void = () => {};
    const slow = cache.get('k', () => new Promise<string>((r) => (release = r)));
    cache.invalidate();
    expect(cache.size).toBe(0);
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
    release('stale');
    expect(await slow).toBe('stale');
    expect(await cache.get('k', async () => 'other')).toBe('fresh');
  });

  it('does not remember a failed load', async () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 10 });
    await expect(cache.get('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('k', async () => 'ok')).toBe('ok');
  });

  it('stays within maxEntries whatever is asked (oldest goes first)', async () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 50; i++) await cache.get(`q${i}`, async () => i);
    expect(cache.size).toBe(3);
    expect(await cache.get('q49', async () => -1)).toBe(49);
    expect(await cache.get('q0', async () => -1)).toBe(-1);
  });
});
