import type { EpisodeDetail, FeedUrls } from '@swarmcast/catalog';

/** The node's URL scheme in one place: pages, feeds and torrents all build links here. */
export interface SiteUrls {
  base(): string;
  feed(slug: string): string;
  media(path: string): string;
  /**
   * `dai`: the show's feed points episodes with ad breaks at the stitched enclosure, but
   * those in `daiOff` (the creator switched them off one by one).
   */
  forFeed(slug: string, dai?: boolean, daiOff?: ReadonlySet<string>): FeedUrls;
}

/**
 * Episodes whose enclosure is the stitched one when DAI is on: audio with ad breaks in MP3
 * (the stitcher's format). Others stay on the plain file; the creator sees why.
 */
export function stitchable(e: EpisodeDetail): boolean {
  return e.adBreaks.length > 0 && e.mediaKind === 'audio' && e.media?.mime === 'audio/mpeg';
}

/** Media paths are "<slug>/<file>", both made by us; each segment is still encoded. */
export function siteUrls(base: () => string, mediaPrefix = '/media/'): SiteUrls {
  const media = (path: string) =>
    `${base()}${mediaPrefix}${path.split('/').map(encodeURIComponent).join('/')}`;
  return {
    base,
    feed: (slug) => `${base()}/shows/${encodeURIComponent(slug)}/feed.xml`,
    media,
    forFeed: (slug, showDai = false, daiOff = new Set()) => {
      const dai = (e: EpisodeDetail) => showDai && !daiOff.has(e.id) && stitchable(e);
      return {
        feed: `${base()}/shows/${encodeURIComponent(slug)}/feed.xml`,
        showPage: `${base()}/shows/${encodeURIComponent(slug)}`,
        episodePage: (id) => `${base()}/episodes/${encodeURIComponent(id)}`,
        media,
        torrent: (id) => `${base()}/episodes/${encodeURIComponent(id)}.torrent`,
        chapters: (id) => `${base()}/episodes/${encodeURIComponent(id)}/chapters.json`,
        hub: `${base()}/websub`,
        enclosure: (e) => (dai(e) ? `${base()}/dai/${encodeURIComponent(e.id)}.mp3` : null),
        // Chapters of a stitched enclosure move with the listener's ads: served per plan.
        chaptersFor: (e) => (dai(e) ? `${base()}/dai/${encodeURIComponent(e.id)}/chapters.json` : null),
        // So are transcripts: `<language>.<format>` of the plan that listener hears.
        transcriptFor: (e, t, captions) =>
          dai(e)
            ? `${base()}/dai/${encodeURIComponent(e.id)}/transcripts/${encodeURIComponent(t.language)}.${captions ? 'vtt' : t.format}`
            : null,
      };
    },
  };
}
