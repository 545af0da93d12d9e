import { createHash } from 'node:crypto';
import type { EpisodeDetail } from './episodes.ts';
import { channelTags, itemTags } from './feed/tags.ts';
import type { Show } from './shows.ts';
import type { Transcript } from './transcripts/transcripts.ts';

/** Where the feed's links point; the web layer owns the URL scheme. */
export interface FeedUrls {
  feed: string;
  showPage: string;
  episodePage(id: string): string;
  media(path: string): string;
  torrent(id: string): string;
  chapters(id: string): string;
  /** A WebSub hub for this feed (atom:link rel="hub"): apps subscribe there for pushes. */
  hub?: string;
  /** The show's Ed25519 public key (hex): its BEP 46 mutable torrent on the DHT. */
  showKey?: string;
  /**
   * The enclosure URL of an episode when it is not the plain file (the node's stitched
   * enclosure with dynamic ad insertion); null or absent: the plain media URL.
   */
  enclosure?(e: EpisodeDetail): string | null;
  /** The chapters URL when it differs per listener (shifted by the inserted ads). */
  chaptersFor?(e: EpisodeDetail): string | null;
  /**
   * A transcript's URL when it differs per listener (cues shifted by the inserted ads), in
   * its own format or, for `captions`, as WebVTT; null or absent: the published file.
   */
  transcriptFor?(e: EpisodeDetail, t: Transcript, captions: boolean): string | null;
}

// XML 1.0 forbids most control characters even when escaped; a title carrying one would
// make the whole feed unreadable to strict parsers, so they are dropped.
const invalidXml = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const xmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(invalidXml, '').replace(/[&<>"']/g, (c) => xmlEntities[c] as string);
}

/**
 * podcast:guid: a UUIDv5 of the feed URL without scheme and trailing slashes, in the
 * namespace the Podcasting 2.0 spec fixes (ead4c236-bf58-58c6-a2c6-a6b28d128cb6).
 */
export function podcastGuid(feedUrl: string): string {
  const name = feedUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
  const ns = Buffer.from('ead4c236bf5858c6a2c6a6b28d128cb6', 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function hms(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(h)}:${pad(m)}:${pad(s % 60)}`;
}

function item(e: EpisodeDetail, urls: FeedUrls): string {
  const x = escapeXml;
  const lines = [
    '<item>',
    `<title>${x(e.title)}</title>`,
    `<link>${x(urls.episodePage(e.id))}</link>`,
    // Imported HTML show notes (sanitised) where apps look for them; else the plain text.
    `<description>${x(e.notesHtml || e.description || e.title)}</description>`,
    `<guid isPermaLink="false">${x(e.guid)}</guid>`,
    `<pubDate>${e.publishedAt.toUTCString()}</pubDate>`,
    `<itunes:title>${x(e.title)}</itunes:title>`,
    `<itunes:duration>${hms(e.durationMs)}</itunes:duration>`,
    `<itunes:episodeType>${e.episodeType}</itunes:episodeType>`,
    ...itemTags(e, x, urls.media, urls.transcriptFor),
  ];
  if (e.media) {
    const url = urls.media(e.media.path);
    // A stitched enclosure's length differs per listener; RSS's length is advisory, and the
    // plain file's is the honest lower bound.
    const enclosure = urls.enclosure?.(e) ?? url;
    lines.push(`<enclosure url="${x(enclosure)}" length="${e.media.size}" type="${x(e.media.mime)}"/>`);
    const attrs = [`type="${x(e.media.mime)}"`, `length="${e.media.size}"`];
    if (e.media.bitrate) attrs.push(`bitrate="${e.media.bitrate}"`);
    if (e.media.codecs.length) attrs.push(`codecs="${x(e.media.codecs.join(', '))}"`);
    lines.push(
      `<podcast:alternateEnclosure ${attrs.join(' ')} default="true" title="${e.torrent ? 'HTTP and BitTorrent' : 'HTTP'}">`,
    );
    lines.push(`<podcast:source uri="${x(url)}"/>`);
    if (e.torrent) {
      lines.push(`<podcast:source uri="${x(urls.torrent(e.id))}" contentType="application/x-bittorrent"/>`);
      lines.push(`<podcast:source uri="${x(e.torrent.magnet)}"/>`);
      // The v1-only companion's magnet last: for clients that mishandle hybrids (aria2 1.36).
      if (e.torrent.legacy) lines.push(`<podcast:source uri="${x(e.torrent.legacy.magnet)}"/>`);
    }
    lines.push('</podcast:alternateEnclosure>');
  }
  if (e.chapters.length > 0) {
    const chapters = urls.chaptersFor?.(e) ?? urls.chapters(e.id);
    lines.push(`<podcast:chapters url="${x(chapters)}" type="application/json+chapters"/>`);
  }
  lines.push('</item>');
  return lines.join('\n');
}

/**
 * One show as RSS 2.0 with the iTunes and Podcasting 2.0 namespaces. The enclosure is the
 * origin URL (what every podcast app plays); the same file over BitTorrent is offered as
 * podcast:alternateEnclosure sources (.torrent and magnet). Chapters link to a JSON
 * chapters file. Ad breaks have no tag in either namespace, so they stay out of the feed.
 */
export function renderFeed(show: Show, episodes: readonly EpisodeDetail[], urls: FeedUrls): string {
  const x = escapeXml;
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:atom="http://www.w3.org/2005/Atom">',
    '<channel>',
    `<title>${x(show.title)}</title>`,
    `<link>${x(urls.showPage)}</link>`,
    `<description>${x(show.description || show.title)}</description>`,
    `<language>${x(show.language)}</language>`,
    '<generator>Swarmcast</generator>',
    `<atom:link href="${x(urls.feed)}" rel="self" type="application/rss+xml"/>`,
    ...(urls.hub ? [`<atom:link href="${x(urls.hub)}" rel="hub"/>`] : []),
    // No namespace has a tag for a BEP 46 key; podcast:txt with a purpose is the spec's place
    // for such facts. `swarmcast subscribe` and other clients follow the show on the DHT.
    ...(urls.showKey && /^[0-9a-f]{64}$/.test(urls.showKey)
      ? [`<podcast:txt purpose="btpk">magnet:?xs=urn:btpk:${urls.showKey}</podcast:txt>`]
      : []),
    `<itunes:author>${x(show.author)}</itunes:author>`,
    `<itunes:summary>${x(show.description || show.title)}</itunes:summary>`,
    `<itunes:explicit>${show.explicit ? 'true' : 'false'}</itunes:explicit>`,
    `<itunes:type>${show.settings?.showType ?? 'episodic'}</itunes:type>`,
    // Apple and Podcasting 2.0 apps read itunes:image; plain RSS readers read <image>.
    ...(show.artwork
      ? [
          `<itunes:image href="${x(urls.media(show.artwork))}"/>`,
          `<image><url>${x(urls.media(show.artwork))}</url><title>${x(show.title)}</title><link>${x(urls.showPage)}</link></image>`,
        ]
      : []),
    `<podcast:guid>${podcastGuid(urls.feed)}</podcast:guid>`,
    `<podcast:medium>${episodes.some((e) => e.mediaKind === 'video') ? 'video' : 'podcast'}</podcast:medium>`,
    ...channelTags(show, x, 'Swarmcast'),
  ];
  if (episodes[0]) head.push(`<lastBuildDate>${episodes[0].publishedAt.toUTCString()}</lastBuildDate>`);
  return [...head, ...episodes.map((e) => item(e, urls)), '</channel>', '</rss>', ''].join('\n');
}

/** The JSON chapters file (Podcasting 2.0 "application/json+chapters", version 1.2.0). */
export function renderChapters(e: EpisodeDetail): string {
  return JSON.stringify({
    version: '1.2.0',
    chapters: e.chapters.map((c) => ({
      startTime: c.startMs / 1000,
      title: c.title,
      ...(c.url ? { url: c.url } : {}),
      ...(c.img ? { img: c.img } : {}),
    })),
  });
}
