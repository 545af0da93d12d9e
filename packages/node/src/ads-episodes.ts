/**
 * The catalog's episodes as the ad server reads them (`EpisodeLookup`), cached in memory.
 * Every `/ads/vast` request needs its episode's breaks, show, language and categories; on
 * the embedded database that was one query per ad request, 2 ms of CPU and 10-13 ms of wall
 * time each on a running demo node (load ~23), queued behind every other statement of the
 * process, where the decision itself costs ~0.25 ms. Players ask for the same few episodes,
 * so a lookup is made once per episode and reused (concurrent misses share one query,
 * `ReadCache`).
 *
 * Freshness: a successful write through this process's API or dashboard (where creators and
 * admins change breaks, publish or take down) drops the cache before its answer leaves, as
 * the portal's does, and so does a feed change (scheduled episode going live, an import);
 * a write made through another process is seen within `ttlMs` (2 s by default).
 */
import type { EpisodeLookup } from '@swarmcast/ads';
import type { CatalogContext, EpisodeForAds } from '@swarmcast/catalog';
import type { Clock } from '@swarmcast/platform';
import { ReadCache } from '@swarmcast/web';
import type { FastifyInstance } from 'fastify';

export function cachedAdsEpisodes(o: {
  app: FastifyInstance;
  /** The uncached lookup (the node passes `episodeForAds` on its database). */
  load: (episodeId: string) => Promise<EpisodeForAds | null>;
  catalog: CatalogContext;
  clock: Clock;
  ttlMs?: number;
}): EpisodeLookup & { invalidate(): void } {
  const cache = new ReadCache({ ttlMs: o.ttlMs ?? 2000, maxEntries: 10_000, now: () => o.clock.now() });
  o.app.addHook('onSend', async (req, reply, payload) => {
    const write = req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400;
    if (write && (req.url.startsWith('/api/') || req.url.startsWith('/dashboard/'))) cache.invalidate();
    return payload;
  });
  const before = o.catalog.onFeedChange;
  o.catalog.onFeedChange = (slug) => {
    cache.invalidate();
    before?.(slug);
  };
  const lookup = (id: string) => cache.get(id, () => o.load(id));
  return Object.assign(lookup, { invalidate: () => cache.invalidate() });
}
