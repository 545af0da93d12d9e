import { XMLParser, XMLValidator } from 'fast-xml-parser';
import Parser from 'rss-parser';
import { describe, expect, it } from 'vitest';
import type { EpisodeDetail } from '../src/episodes.ts';
import { escapeXml, type FeedUrls, podcastGuid, renderFeed } from '../src/feed.ts';
import type { Show } from '../src/shows.ts';

const hostile = `<script>alert("x")</script> & 'quotes' ]]> \u0001`;

const show: Show = {
  id: 's1',
  slug: 'demo',
  ownerId: 'a1',
  title: `Demo ${hostile}`,
  description: 'A show about <b>things</b> & stuff',
  author: 'Ada & Co',
  language: 'en',
  categories: ['technology', 'society & culture'],
  explicit: false,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  artwork: 'demo/artwork-0a1b2c3d.png',
  settings: {},
};

function episode(n: number, extra: Partial<EpisodeDetail> = {}): EpisodeDetail {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    showId: 's1',
    guid: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`,
    title: `Episode ${n} ${hostile}`,
    description: `Notes ${n}`,
    publishedAt: new Date(Date.UTC(2026, 0, n, 12)),
    durationMs: 3_723_000,
    mediaKind: 'audio',
    adBreaks: [],
    chapters: [],
    views: 0,
    season: null,
    episodeNumber: null,
    episodeType: 'full',
    explicit: null,
    persons: [],
    artwork: null,
    notesHtml: null,
    transcripts: [],
    draft: false,
    show: {
      id: 's1',
      slug: 'demo',
      title: show.title,
      ownerId: 'a1',
      language: 'en',
      categories: [],
      author: '',
    },
    media: {
      path: `demo/ep-${n}.mp3`,
      size: 1234 * n,
      mime: 'audio/mpeg',
      container: 'MPEG',
      codecs: ['MPEG 1 Layer 3'],
      bitrate: 64000,
      fastStart: null,
    },
    torrent: {
      infoHashV1: 'a'.repeat(40),
      infoHashV2: 'b'.repeat(64),
      magnet: `magnet:?xt=urn:btih:${'a'.repeat(40)}&xt=urn:btmh:1220${'b'.repeat(64)}&dn=ep&tr=http%3A%2F%2Fx%2Fannounce`,
      legacy: { infoHashV1: 'c'.repeat(40), magnet: `magnet:?xt=urn:btih:${'c'.repeat(40)}&dn=ep` },
    },
    ...extra,
  };
}

const urls: FeedUrls = {
  feed: 'http://127.0.0.1:8080/shows/demo/feed.xml',
  showPage: 'http://127.0.0.1:8080/shows/demo',
  episodePage: (id) => `http://127.0.0.1:8080/episodes/${id}`,
  media: (p) => `http://127.0.0.1:8080/media/${p}`,
  torrent: (id) => `http://127.0.0.1:8080/episodes/${id}.torrent`,
  chapters: (id) => `http://127.0.0.1:8080/episodes/${id}/chapters.json`,
};

describe('renderFeed', () => {
  const episodes = [episode(2, { chapters: [{ title: 'a', startMs: 0 }] }), episode(1, { torrent: null })];
  const xml = renderFeed(show, episodes, urls);

  it('is well-formed XML whatever the titles hold', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain('\u0001');
  });

  it('reads back in a podcast feed parser with the texts intact', async () => {
    const feed = await new Parser({ customFields: { item: ['itunes:duration'] } }).parseString(xml);
    expect(feed.title).toBe(`Demo <script>alert("x")</script> & 'quotes' ]]> `);
    expect(feed.items).toHaveLength(2);
    const [first, second] = feed.items;
    expect(first?.title).toBe(`Episode 2 <script>alert("x")</script> & 'quotes' ]]> `);
    expect(first?.enclosure).toEqual({
      url: urls.media('demo/ep-2.mp3'),
      length: '2468',
      type: 'audio/mpeg',
    });
    expect(first?.guid).toBe(episodes[0]?.guid);
    expect(first?.['itunes:duration']).toBe('01:02:03');
    expect(new Date(first?.pubDate as string).toISOString()).toBe('2026-01-02T12:00:00.000Z');
    expect(second?.enclosure?.url).toBe(urls.media('demo/ep-1.mp3'));
    expect(feed.itunes?.categories).toEqual(['Technology', 'Society & Culture']);
  });

  it('follows the RSS 2.0, iTunes and Podcasting 2.0 rules we rely on', () => {
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
    }).parse(xml);
    const rss = doc.rss;
    expect(rss['@version']).toBe('2.0');
    expect(rss['@xmlns:itunes']).toBe('http://www.itunes.com/dtds/podcast-1.0.dtd');
    expect(rss['@xmlns:podcast']).toBe('https://podcastindex.org/namespace/1.0');
    const ch = rss.channel;
    for (const required of ['title', 'link', 'description']) expect(ch[required]).toBeTruthy();
    expect(ch['atom:link']['@rel']).toBe('self');
    expect(ch['atom:link']['@href']).toBe(urls.feed);
    expect(ch['itunes:explicit']).toBe('false');
    expect(ch['itunes:image']['@href']).toBe(urls.media('demo/artwork-0a1b2c3d.png'));
    expect(ch.image.url).toBe(urls.media('demo/artwork-0a1b2c3d.png'));
    expect(ch['podcast:guid']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree
    const items = ch.item as Array<Record<string, any>>;
    for (const it of items) {
      // Every item has a title or description, a unique non-permalink guid and one enclosure.
      expect(it.guid['@isPermaLink']).toBe('false');
      expect(Number(it.enclosure['@length'])).toBeGreaterThan(0);
      expect(it.pubDate).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    }
    expect(new Set(items.map((i) => i.guid['#text'])).size).toBe(items.length);
    const alt = items[0]?.['podcast:alternateEnclosure'];
    expect(alt['@type']).toBe('audio/mpeg');
    expect(alt['@default']).toBe('true');
    const sources = alt['podcast:source'].map((s: Record<string, string>) => s['@uri']);
    expect(sources).toEqual([
      urls.media('demo/ep-2.mp3'),
      urls.torrent(episodes[0]!.id),
      episodes[0]!.torrent!.magnet,
      episodes[0]!.torrent!.legacy!.magnet,
    ]);
    expect(alt['podcast:source'][1]['@contentType']).toBe('application/x-bittorrent');
    expect(items[0]?.['podcast:chapters']['@type']).toBe('application/json+chapters');
    // Without a torrent, only the HTTP source; without chapters, no chapters tag.
    expect(items[1]?.['podcast:alternateEnclosure']['podcast:source']['@uri']).toBe(
      urls.media('demo/ep-1.mp3'),
    );
    expect(items[1]?.['podcast:chapters']).toBeUndefined();
  });
});

describe('podcastGuid', () => {
  it('matches the Podcasting 2.0 spec example', () => {
    // From the podcast:guid documentation: podcastindex.org/namespace/1.0#guid
    expect(podcastGuid('https://mp3s.nashownotes.com/pc20rss.xml')).toBe(
      '917393e3-1b1e-5cef-ace4-edaa54e1f810',
    );
  });
});

describe('escapeXml', () => {
  it.each([
    ['a&b', 'a&amp;b'],
    ['<x y="1">', '&lt;x y=&quot;1&quot;&gt;'],
    ["it's", 'it&apos;s'],
    ['bell\u0007 ok\ttab', 'bell ok\ttab'],
  ])('%s', (input, expected) => expect(escapeXml(input)).toBe(expected));
});
