import type { CatalogContext, EpisodeForAds } from '@swarmcast/catalog';
import { ManualClock } from '@swarmcast/platform';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { cachedAdsEpisodes } from '../src/ads-episodes.ts';

const episode = (id: string, maxAds: number): EpisodeForAds => ({
  id,
  showId: 'show',
  creatorId: 'creator',
  title: id,
  durationMs: 600_000,
  language: 'en',
  categories: [],
  mediaKind: 'audio',
  adBreaks: [{ id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 30_000, maxAds }],
});

async function setup(onFeedChange?: (slug: string) => void) {
  const app = Fastify();
  const clock = new ManualClock(1_000_000);
  // The catalog as the loader sees it: a break edited through the API below.
  let maxAds = 1;
  let loads = 0;
  const catalog = (onFeedChange ? { onFeedChange } : {}) as CatalogContext;
  const lookup = cachedAdsEpisodes({
    app,
    clock,
    catalog,
    load: async (id) => {
      loads++;
      return id === 'gone' ? null : episode(id, maxAds);
    },
  });
  app.put('/api/episodes/:id', async () => {
    maxAds++;
    return { ok: true };
  });
  app.put('/api/refused', async (_req, reply) => reply.code(403).send({}));
  app.get('/api/episodes/:id', async () => ({}));
  await app.ready();
  return { app, clock, catalog, lookup, loads: () => loads, maxAds: () => maxAds };
}

describe('cachedAdsEpisodes', () => {
  it('loads an episode once for concurrent and later requests, nulls included', async () => {
    const t = await setup();
    const [a, b] = await Promise.all([t.lookup('ep-1'), t.lookup('ep-1')]);
    expect(a).toEqual(b);
    expect(await t.lookup('ep-1')).toEqual(a);
    expect(await t.lookup('gone')).toBeNull();
    expect(await t.lookup('gone')).toBeNull();
    expect(t.loads()).toBe(2);
  });

  it('a successful write through the API is seen by the next lookup; reads and refused writes keep the cache', async () => {
    const t = await setup();
    expect((await t.lookup('ep-1'))!.adBreaks[0]!.maxAds).toBe(1);
    await t.app.inject({ method: 'GET', url: '/api/episodes/ep-1' });
    await t.app.inject({ method: 'PUT', url: '/api/refused' });
    expect(t.loads()).toBe(1);
    await t.app.inject({ method: 'PUT', url: '/api/episodes/ep-1' });
    expect((await t.lookup('ep-1'))!.adBreaks[0]!.maxAds).toBe(2);
    expect(t.loads()).toBe(2);
  });

  it('a feed change drops the cache and still reaches the listener set before', async () => {
    const changed: string[] = [];
    const t = await setup((slug) => changed.push(slug));
    await t.lookup('ep-1');
    t.catalog.onFeedChange?.('show');
    await t.lookup('ep-1');
    expect(t.loads()).toBe(2);
    expect(changed).toEqual(['show']);
  });

  it('a write made elsewhere is seen after the TTL (2 s)', async () => {
    const t = await setup();
    await t.lookup('ep-1');
    t.clock.advance(1_999);
    await t.lookup('ep-1');
    expect(t.loads()).toBe(1);
    t.clock.advance(1);
    await t.lookup('ep-1');
    expect(t.loads()).toBe(2);
  });
});
