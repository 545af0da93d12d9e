import { XMLParser } from 'fast-xml-parser';
import Parser from 'rss-parser';
import { describe, expect, it } from 'vitest';
import type { EpisodeDetail } from '../src/episodes.ts';
import { appleCategory } from '../src/feed/apple-categories.ts';
import { artworkProblems, directoryProblems } from '../src/feed/directory-rules.ts';
import { validateEpisodeFeatures } from '../src/feed/episode-features.ts';
import { validateFeedSettings } from '../src/feed/settings.ts';
import { renderFeed } from '../src/feed.ts';
import type { Show } from '../src/shows.ts';

const urls = {
  feed: 'https://node.test/shows/s/feed.xml',
  showPage: 'https://node.test/shows/s',
  episodePage: (id: string) => `https://node.test/episodes/${id}`,
  media: (p: string) => `https://node.test/media/${p}`,
  torrent: (id: string) => `https://node.test/episodes/${id}.torrent`,
  chapters: (id: string) => `https://node.test/episodes/${id}/chapters.json`,
};

function show(extra: Partial<Show> = {}): Show {
  return {
    id: 's',
    slug: 's',
    ownerId: 'a',
    title: 'S',
    description: 'About S',
    author: 'Ada',
    language: 'en',
    categories: ['technology', 'society & culture > documentary', 'knitting'],
    explicit: false,
    createdAt: new Date(0),
    artwork: 's/artwork-00000000.png',
    settings: {},
    ...extra,
  };
}

function episode(n: number, extra: Partial<EpisodeDetail> = {}): EpisodeDetail {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    showId: 's',
    guid: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`,
    title: `E${n}`,
    description: '',
    publishedAt: new Date(Date.UTC(2026, 0, n)),
    durationMs: 61_000,
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
    show: { id: 's', slug: 's', title: 'S', ownerId: 'a', language: 'en', categories: [], author: '' },
    media: {
      path: `s/e${n}.mp3`,
      size: 100,
      mime: 'audio/mpeg',
      container: 'MPEG',
      codecs: [],
      bitrate: null,
      fastStart: null,
    },
    torrent: null,
    ...extra,
  };
}

const parse = (xml: string) =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false }).parse(xml).rss
    .channel;

describe('feed settings', () => {
  it('accepts a full set and drops unknown keys', () => {
    const r = validateFeedSettings({
      ownerName: 'Ada',
      ownerEmail: 'Ada@Example.org',
      showType: 'serial',
      locked: true,
      newFeedUrl: 'https://new.example/feed.xml',
      redirectFeed: true,
      persons: [{ name: 'Ada', role: 'Host', href: 'https://ada.example/' }],
      location: { name: 'Austin, TX', geo: 'geo:30.2672,-97.7431', osm: 'R113314' },
      funding: [{ url: 'https://pay.example/', text: 'Tip jar' }],
      license: { identifier: 'CC-BY-4.0', url: 'https://creativecommons.org/licenses/by/4.0/' },
      evil: '<script>',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.ownerEmail).toBe('ada@example.org');
    expect(r.value.persons).toEqual([{ name: 'Ada', role: 'host', href: 'https://ada.example/' }]);
    expect('evil' in r.value).toBe(false);
  });

  it.each([
    [{ ownerEmail: 'not an email' }, 'ownerEmail'],
    [{ showType: 'daily' }, 'showType'],
    [{ newFeedUrl: 'javascript:alert(1)' }, 'newFeedUrl'],
    [{ redirectFeed: true }, 'redirectFeed'],
    [{ persons: [{ name: '' }] }, 'persons.name'],
    [{ persons: [{ name: 'x', role: '<b>' }] }, 'persons.role'],
    [{ persons: [{ name: 'x', img: 'file:///etc/passwd' }] }, 'persons.img'],
    [{ persons: Array.from({ length: 21 }, () => ({ name: 'x' })) }, 'persons'],
    [{ location: { name: 'x', geo: 'geo:abc' } }, 'location.geo'],
    [{ location: { name: 'x', osm: 'Q1' } }, 'location.osm'],
    [{ funding: [{ url: 'ftp://x' }] }, 'funding.url'],
    [{ license: { identifier: 'CC BY <4>' } }, 'license.identifier'],
    [{ ownerName: 'x'.repeat(201) }, 'ownerName'],
  ])('refuses %j', (input, field) => {
    const r = validateFeedSettings(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('CAT_BAD_INPUT');
      expect(r.message.startsWith(field)).toBe(true);
    }
  });

  it('episode features: numbers, types and explicit; refuses the rest', () => {
    const r = validateEpisodeFeatures({
      season: '2',
      episodeNumber: 7,
      episodeType: 'bonus',
      explicit: 'true',
    });
    expect(r.ok && r.value).toEqual({
      season: 2,
      episodeNumber: 7,
      episodeType: 'bonus',
      explicit: true,
      persons: [],
    });
    for (const bad of [{ season: '0' }, { season: '1.5' }, { episodeNumber: -1 }, { episodeType: 'teaser' }])
      expect(validateEpisodeFeatures(bad).ok).toBe(false);
    // Fields not sent keep the stored values.
    const kept = validateEpisodeFeatures(
      {},
      { season: 3, episodeNumber: 1, episodeType: 'trailer', explicit: false, persons: [] },
    );
    expect(kept.ok && kept.value.episodeType).toBe('trailer');
  });
});

describe('Apple categories', () => {
  it.each([
    ['technology', { category: 'Technology', subcategory: null }],
    ['DOCUMENTARY', { category: 'Society & Culture', subcategory: 'Documentary' }],
    ['religion & spirituality > religion', { category: 'Religion & Spirituality', subcategory: 'Religion' }],
    ['knitting', null],
    ['technology > documentary', null],
  ])('%s', (text, expected) => expect(appleCategory(text)).toEqual(expected));
});

describe('the feed with every feature', () => {
  const s = show({
    settings: {
      ownerName: 'Ada Owner',
      ownerEmail: 'owner@example.org',
      showType: 'serial',
      locked: true,
      newFeedUrl: 'https://new.example/feed.xml',
      persons: [{ name: 'Ada & Co', role: 'host', img: 'https://x.example/a.png' }],
      location: { name: 'Austin, TX', geo: 'geo:30.2672,-97.7431', osm: 'R113314' },
      funding: [{ url: 'https://pay.example/?a=1&b=2', text: 'Tip <jar>' }],
      license: { identifier: 'CC-BY-4.0', url: 'https://creativecommons.org/licenses/by/4.0/' },
    },
  });
  const episodes = [
    episode(3, {
      season: 2,
      episodeNumber: 1,
      episodeType: 'trailer',
      explicit: true,
      artwork: 's/artwork-11111111.jpg',
      persons: [{ name: 'Grace', role: 'guest' }],
    }),
    episode(1),
  ];
  const xml = renderFeed(s, episodes, urls);

  it('passes the directory rules', () => {
    expect(directoryProblems(xml)).toEqual([]);
  });

  it('writes each tag where apps look for it', () => {
    const ch = parse(xml);
    expect(ch['itunes:owner']).toEqual({ 'itunes:name': 'Ada Owner', 'itunes:email': 'owner@example.org' });
    expect(ch['itunes:type']).toBe('serial');
    expect(ch['podcast:locked']).toEqual({ '#text': 'yes', '@owner': 'owner@example.org' });
    expect(ch['itunes:new-feed-url']).toBe('https://new.example/feed.xml');
    expect(ch['itunes:category']).toEqual([
      { '@text': 'Technology' },
      { '@text': 'Society & Culture', 'itunes:category': { '@text': 'Documentary' } },
    ]);
    expect(ch.category).toBe('knitting');
    expect(ch['podcast:person']).toEqual({
      '#text': 'Ada & Co',
      '@role': 'host',
      '@img': 'https://x.example/a.png',
    });
    expect(ch['podcast:location']).toEqual({
      '#text': 'Austin, TX',
      '@geo': 'geo:30.2672,-97.7431',
      '@osm': 'R113314',
    });
    expect(ch['podcast:funding']['@url']).toBe('https://pay.example/?a=1&b=2');
    expect(ch['podcast:license']['#text']).toBe('CC-BY-4.0');
    const [first, second] = ch.item;
    expect(first['itunes:season']).toBe('2');
    expect(first['itunes:episode']).toBe('1');
    expect(first['itunes:episodeType']).toBe('trailer');
    expect(first['itunes:explicit']).toBe('true');
    expect(first['itunes:image']['@href']).toBe(urls.media('s/artwork-11111111.jpg'));
    expect(first['podcast:person']['#text']).toBe('Grace');
    // An episode without features inherits: no season, no explicit, no own image.
    expect(second['itunes:season']).toBeUndefined();
    expect(second['itunes:explicit']).toBeUndefined();
    expect(second['itunes:image']).toBeUndefined();
    expect(second['itunes:episodeType']).toBe('full');
  });

  it('reads back in rss-parser', async () => {
    const feed = await new Parser({
      customFields: {
        feed: ['itunes:new-feed-url'],
        item: ['itunes:season', 'itunes:episode', 'itunes:episodeType'],
      },
    }).parseString(xml);
    expect(feed.itunes?.owner).toEqual({ name: 'Ada Owner', email: 'owner@example.org' });
    expect(feed.itunes?.categories).toEqual(['Technology', 'Society & Culture']);
    expect((feed as unknown as Record<string, string>)['itunes:new-feed-url']).toBe(
      'https://new.example/feed.xml',
    );
    const it0 = feed.items[0] as unknown as Record<string, unknown>;
    expect([it0['itunes:season'], it0['itunes:episode'], it0['itunes:episodeType']]).toEqual([
      '2',
      '1',
      'trailer',
    ]);
    expect((it0.itunes as { image?: string }).image).toBe(urls.media('s/artwork-11111111.jpg'));
  });

  it('the rules catch what directories refuse', () => {
    const broken = xml
      .replace('<itunes:category text="Technology"/>', '<itunes:category text="Knitting"/>')
      .replace('type="audio/mpeg"', 'type="audio/flac"')
      .replace('<itunes:episode>1</itunes:episode>', '<itunes:episode>one</itunes:episode>')
      .replace(/<itunes:email>[^<]*<\/itunes:email>/, '');
    expect(directoryProblems(broken)).toEqual([
      'channel: "Knitting" is not an Apple category',
      'channel: itunes:owner e-mail missing',
      'item 1: enclosure type audio/flac is not accepted',
      'item 1: itunes:episode must be a whole number',
    ]);
    expect(directoryProblems('<rss><channel>')[0]).toMatch(/^not well-formed XML/);
    expect(artworkProblems({ type: 'png', width: 1400, height: 1400 })).toEqual([]);
    expect(artworkProblems({ type: 'png', width: 600, height: 600 })).toEqual([
      'artwork is 600 px wide, not 1400 to 3000',
    ]);
    expect(artworkProblems({ type: 'png', width: 1400, height: 1500 })).toHaveLength(1);
    expect(artworkProblems(null)).toHaveLength(1);
  });
});
