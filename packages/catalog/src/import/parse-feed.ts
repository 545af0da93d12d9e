import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fail, ok, type Result } from '../errors.ts';
import type { EpisodeType } from '../feed/episode-features.ts';
import {
  type FeedSettings,
  httpUrl,
  type Person,
  validateFeedSettings,
  validatePersons,
} from '../feed/settings.ts';
import { cleanText } from '../slug.ts';
import { notesText, sanitizeNotes } from './sanitize.ts';

/** A feed is refused above this size (the largest public feeds are a few MiB). */
export const maxFeedBytes = 16 * 1024 * 1024;

export interface FeedTranscript {
  url: string;
  type: string;
  language: string | null;
}

export interface FeedEpisode {
  guid: string;
  title: string;
  /** Sanitised HTML show notes (content:encoded, else description), and as plain text. */
  notesHtml: string;
  description: string;
  publishedAt: Date;
  enclosure: { url: string; length: number | null; type: string };
  season: number | null;
  episodeNumber: number | null;
  episodeType: EpisodeType;
  explicit: boolean | null;
  artworkUrl: string | null;
  chaptersUrl: string | null;
  transcripts: FeedTranscript[];
  persons: Person[];
  /**
   * BitTorrent magnet links of the same file (the default podcast:alternateEnclosure's
   * magnet sources, as Swarmcast feeds list them): how `swarmcast subscribe` fetches the
   * episode without HTTP. Only links with a BitTorrent hash (btih/btmh) are kept.
   */
  magnets: string[];
}

export interface ParsedFeed {
  title: string;
  description: string;
  author: string;
  language: string;
  categories: string[];
  explicit: boolean;
  artworkUrl: string | null;
  settings: FeedSettings;
  /** podcast:locked yes: the e-mail allowed to move the show (its owner= attribute, else itunes:email). */
  lockedTo: string | null;
  episodes: FeedEpisode[];
  /** Items left out, with why (no enclosure, no GUID and no URL to make one from, ...). */
  skipped: Array<{ title: string; reason: string }>;
}

type Node = Record<string, unknown>;
const list = (v: unknown): Node[] =>
  v === undefined || v === null
    ? []
    : (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'object' ? x : { '#text': x }) as Node);
function textOf(v: unknown): string {
  if (Array.isArray(v)) return textOf(v[0]);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object') return textOf((v as Node)['#text']);
  return '';
}
const attr = (v: unknown, name: string): string => {
  const n = Array.isArray(v) ? v[0] : v;
  return n && typeof n === 'object' ? textOf((n as Node)[`@${name}`]) : '';
};

function yes(v: unknown): boolean | null {
  const t = textOf(v).trim().toLowerCase();
  if (['yes', 'true', 'explicit'].includes(t)) return true;
  if (['no', 'false', 'clean'].includes(t)) return false;
  return null;
}

function whole(v: unknown, max: number): number | null {
  const t = textOf(v).trim();
  if (!/^\d{1,7}$/.test(t)) return null;
  const n = Number(t);
  return n <= max ? n : null;
}

/** itunes:category trees as our category words ("parent > sub" for sub-categories). */
function categoriesOf(ch: Node): string[] {
  const out: string[] = [];
  for (const c of list(ch['itunes:category'])) {
    const top = cleanText(c['@text']);
    if (!top) continue;
    const subs = list(c['itunes:category'])
      .map((s) => cleanText(s['@text']))
      .filter(Boolean);
    if (subs.length === 0) out.push(top.toLowerCase());
    for (const s of subs) out.push(`${top} > ${s}`.toLowerCase());
  }
  return [...new Set(out)].filter((c) => c.length <= 60).slice(0, 5);
}

function personsOf(v: unknown): Person[] {
  const raw = list(v).map((p) => ({
    name: textOf(p),
    role: attr(p, 'role'),
    group: attr(p, 'group'),
    img: attr(p, 'img'),
    href: attr(p, 'href'),
  }));
  // One malformed person must not cost the episode: keep those that pass one by one.
  return raw
    .flatMap((p) => {
      const r = validatePersons([p]);
      return r.ok ? r.value : [];
    })
    .slice(0, 20);
}

/** The BitTorrent magnet sources of an alternate enclosure (bounded: outside text). */
function magnetsOf(alt: Node): string[] {
  return list(alt['podcast:source'])
    .map((src) => attr(src, 'uri').trim())
    .filter((u) => u.length <= 4096 && /^magnet:\?(.*&)?xt=urn:bt(ih|mh):/i.test(u))
    .slice(0, 4);
}

/**
 * Reads an RSS 2.0 feed with the iTunes and Podcasting 2.0 namespaces into what an import
 * needs. Outside bytes: the size is bounded, DOCTYPE declarations are refused (no entity
 * expansion), every text is cleaned and every URL must be http(s). Items without an
 * enclosure are skipped and listed, not fatal.
 */
export function parseFeed(xml: string): Result<ParsedFeed> {
  if (xml.length > maxFeedBytes) return fail('CAT_BAD_FEED', `the feed is larger than ${maxFeedBytes} bytes`);
  // A DOCTYPE can declare entities that expand without bound; no podcast feed needs one.
  if (/<!DOCTYPE/i.test(xml)) return fail('CAT_BAD_FEED', 'the feed declares a DOCTYPE; feeds need none');
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    return fail('CAT_BAD_FEED', `not well-formed XML (line ${valid.err.line}): ${valid.err.msg}`);
  let doc: Node;
  try {
    doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      processEntities: true,
      htmlEntities: false,
    }).parse(xml) as Node;
  } catch (err) {
    return fail('CAT_BAD_FEED', `unreadable feed: ${(err as Error).message}`);
  }
  const ch = (doc.rss as Node | undefined)?.channel as Node | undefined;
  if (!ch || typeof ch !== 'object') return fail('CAT_BAD_FEED', 'not an RSS 2.0 feed (no rss/channel)');
  const title = cleanText(textOf(ch.title)).slice(0, 200);
  if (!title) return fail('CAT_BAD_FEED', 'the feed has no title');
  const channelNotes = sanitizeNotes(textOf(ch.description) || textOf(ch['itunes:summary']));
  const owner = (Array.isArray(ch['itunes:owner']) ? ch['itunes:owner'][0] : ch['itunes:owner']) as
    | Node
    | undefined;
  const settingsInput: Node = {
    ownerName: cleanText(textOf(owner?.['itunes:name'])).slice(0, 200),
    ownerEmail: cleanText(textOf(owner?.['itunes:email'])),
    showType: textOf(ch['itunes:type']) === 'serial' ? 'serial' : undefined,
    locked: textOf(ch['podcast:locked']).trim().toLowerCase() === 'yes',
    persons: personsOf(ch['podcast:person']),
    funding: list(ch['podcast:funding'])
      .map((f) => ({ url: attr(f, 'url'), text: cleanText(textOf(f)).slice(0, 128) }))
      .filter((f) => httpUrl(f.url))
      .slice(0, 5),
  };
  const loc = list(ch['podcast:location'])[0];
  if (loc)
    settingsInput.location = {
      name: cleanText(textOf(loc)).slice(0, 128),
      geo: attr(loc, 'geo'),
      osm: attr(loc, 'osm'),
    };
  const lic = list(ch['podcast:license'])[0];
  if (lic) settingsInput.license = { identifier: cleanText(textOf(lic)), url: attr(lic, 'url') };
  let settings = validateFeedSettings(settingsInput);
  // A malformed optional tag (a bad geo URI, a licence name with spaces) is dropped, not fatal.
  if (!settings.ok)
    settings = validateFeedSettings({ ...settingsInput, location: undefined, license: undefined });
  if (!settings.ok)
    settings = validateFeedSettings({ ownerName: settingsInput.ownerName, locked: settingsInput.locked });
  const language = cleanText(textOf(ch.language)).replace(/_/g, '-');
  const episodes: FeedEpisode[] = [];
  const skipped: ParsedFeed['skipped'] = [];
  const seen = new Set<string>();
  for (const it of list(ch.item)) {
    const itemTitle = cleanText(textOf(it.title) || textOf(it['itunes:title'])).slice(0, 200);
    let enc = list(it.enclosure)[0];
    // A host that inserts ads (ours with DAI on) stitches the enclosure per listener; its
    // default podcast:alternateEnclosure of the same type is the file itself, without ads.
    const alt = list(it['podcast:alternateEnclosure']).find((a) => attr(a, 'default') === 'true');
    const altUrl = alt
      ? list(alt['podcast:source'])
          .filter((src) => !attr(src, 'contentType'))
          .map((src) => httpUrl(attr(src, 'uri')))
          .find((u) => u !== null)
      : undefined;
    if (enc && alt && altUrl && attr(alt, 'type') === attr(enc, 'type'))
      enc = { '@url': altUrl, '@length': attr(alt, 'length'), '@type': attr(alt, 'type') };
    const encUrl = enc ? httpUrl(attr(enc, 'url')) : null;
    if (!encUrl) {
      skipped.push({ title: itemTitle || '(untitled)', reason: 'no http(s) enclosure' });
      continue;
    }
    // The GUID is what apps key downloads on; without one, apps use the enclosure URL.
    const guid = cleanText(textOf(it.guid) || encUrl).slice(0, 1000);
    if (seen.has(guid)) {
      skipped.push({ title: itemTitle, reason: `GUID ${guid} repeats` });
      continue;
    }
    seen.add(guid);
    const html = textOf(it['content:encoded']) || textOf(it.description) || textOf(it['itunes:summary']);
    const notesHtml = sanitizeNotes(html).slice(0, 100_000);
    const date = new Date(textOf(it.pubDate));
    const length = /^\d{1,15}$/.test(attr(enc, 'length')) ? Number(attr(enc, 'length')) : null;
    const type = textOf(it['itunes:episodeType']).trim().toLowerCase();
    episodes.push({
      guid,
      title: itemTitle || '(untitled)',
      notesHtml,
      description: notesText(notesHtml).slice(0, 10_000),
      publishedAt: Number.isNaN(date.getTime()) ? new Date(0) : date,
      enclosure: {
        url: encUrl,
        length: length && length > 0 ? length : null,
        type: cleanText(attr(enc, 'type')).slice(0, 100),
      },
      season: whole(it['itunes:season'], 100_000),
      episodeNumber: whole(it['itunes:episode'], 1_000_000),
      episodeType: type === 'trailer' || type === 'bonus' ? type : 'full',
      explicit: it['itunes:explicit'] === undefined ? null : yes(it['itunes:explicit']),
      artworkUrl: httpUrl(attr(it['itunes:image'], 'href')),
      chaptersUrl: httpUrl(attr(it['podcast:chapters'], 'url')),
      transcripts: list(it['podcast:transcript'])
        .map((t) => ({
          url: httpUrl(attr(t, 'url')) ?? '',
          type: cleanText(attr(t, 'type')).slice(0, 100),
          language: cleanText(attr(t, 'language')).slice(0, 35) || null,
        }))
        .filter((t) => t.url)
        .slice(0, 10),
      persons: personsOf(it['podcast:person']),
      magnets: alt ? magnetsOf(alt) : [],
    });
  }
  return ok({
    title,
    description: notesText(channelNotes).slice(0, 4000),
    author: cleanText(textOf(ch['itunes:author']) || textOf(owner?.['itunes:name'])).slice(0, 200),
    language: /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(language) ? language : 'en',
    categories: categoriesOf(ch),
    explicit: yes(ch['itunes:explicit']) === true,
    artworkUrl: httpUrl(attr(ch['itunes:image'], 'href')) ?? httpUrl(textOf(list(ch.image)[0]?.url)),
    settings: settings.ok ? settings.value : {},
    lockedTo: settingsInput.locked
      ? (cleanText(attr(ch['podcast:locked'], 'owner')) || String(settingsInput.ownerEmail)).toLowerCase()
      : null,
    episodes,
    skipped,
  });
}
