import type { FeedUrls } from '@swarmcast/catalog';

/** The node's URL scheme in one place: pages, feeds and torrents all build links here. */
export interface SiteUrls {
  base(): string;
  feed(slug: string): string;
  media(path: string): string;
  forFeed(slug: string): FeedUrls;
}

/** Media paths are "<slug>/<file>", both made by us; each segment is still encoded. */
export function siteUrls(base: () => string, mediaPrefix = '/media/'): SiteUrls {
  const media = (path: string) =>
    `${base()}${mediaPrefix}${path.split('/').map(encodeURIComponent).join('/')}`;
  return {
    base,
    feed: (slug) => `${base()}/shows/${encodeURIComponent(slug)}/feed.xml`,
    media,
    forFeed: (slug) => ({
      feed: `${base()}/shows/${encodeURIComponent(slug)}/feed.xml`,
      showPage: `${base()}/shows/${encodeURIComponent(slug)}`,
      episodePage: (id) => `${base()}/episodes/${encodeURIComponent(id)}`,
      media,
      torrent: (id) => `${base()}/episodes/${encodeURIComponent(id)}.torrent`,
      chapters: (id) => `${base()}/episodes/${encodeURIComponent(id)}/chapters.json`,
    }),
  };
}
