import type { SiteUrls } from '../urls.ts';
import type { WebSubHub } from './hub.ts';
import { type PodpingConfig, sendPodping } from './podping.ts';

/**
 * Instant notice of a feed change: WebSub pushes and (when configured) a Podping, once per
 * show per burst: changes within `debounceMs` (a publish, then its artwork and transcript;
 * an import of many episodes) become one notice with the final feed.
 */
export function feedNotifier(o: {
  hub: WebSubHub;
  urls: SiteUrls;
  podping: PodpingConfig | null;
  /** BEP 46: publish the show's feed under its key on the DHT (when the node runs one). */
  mutable?: ((slug: string) => Promise<unknown>) | null;
  debounceMs?: number;
  onSent?: (
    slug: string,
    r: { websub: { delivered: number; failed: number }; podping: boolean | null },
  ) => void;
  onError?: (err: unknown) => void;
}): { changed(slug: string): void; close(): void } {
  const timers = new Map<string, NodeJS.Timeout>();
  const send = async (slug: string) => {
    timers.delete(slug);
    const websub = await o.hub.publish(slug);
    const podping = o.podping ? await sendPodping(o.podping, o.urls.feed(slug)) : null;
    if (o.mutable) await o.mutable(slug).catch((err: unknown) => o.onError?.(err));
    o.onSent?.(slug, { websub, podping });
  };
  return {
    changed(slug) {
      clearTimeout(timers.get(slug));
      const t = setTimeout(
        () => void send(slug).catch((err: unknown) => o.onError?.(err)),
        o.debounceMs ?? 500,
      );
      t.unref();
      timers.set(slug, t);
    },
    close() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
