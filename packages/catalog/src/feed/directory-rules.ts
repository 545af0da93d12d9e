import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { appleCategory } from './apple-categories.ts';

/**
 * What the big directories publish as feed requirements, as checks over a feed's XML:
 * Apple Podcasts ("Podcast RSS feed requirements", podcasters.apple.com/support/823), the
 * strictest; Spotify's delivery spec and Podcast Index agree on the subset used here.
 * Returns human-readable problems; an empty list means the feed passes. The artwork's
 * pixel size needs the image itself: {@link artworkProblems} checks that.
 */

/** Enclosure types Apple accepts (Spotify accepts a subset of these for audio and video). */
export const directoryEnclosureTypes = [
  'audio/mpeg',
  'audio/x-m4a',
  'audio/mp4',
  'video/mp4',
  'video/quicktime',
  'video/x-m4v',
] as const;

type Node = Record<string, unknown>;
const list = (v: unknown): Node[] => (v === undefined ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const textOf = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number'
    ? String(v)
    : v && typeof v === 'object'
      ? textOf((v as Node)['#text'])
      : '';

const rfc822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$/;

export function directoryProblems(xml: string): string[] {
  const problems: string[] = [];
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return [`not well-formed XML: ${valid.err.msg}`];
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
  }).parse(xml);
  const rss = doc.rss as Node | undefined;
  if (rss?.['@version'] !== '2.0') return ['the root is not <rss version="2.0">'];
  if (rss['@xmlns:itunes'] !== 'http://www.itunes.com/dtds/podcast-1.0.dtd')
    problems.push('the itunes namespace is missing');
  const ch = rss.channel as Node;
  for (const tag of ['title', 'description', 'language', 'link'])
    if (!textOf(ch[tag])) problems.push(`channel: <${tag}> missing`);
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/i.test(textOf(ch.language)))
    problems.push('channel: language is not ISO 639');
  const image = ch['itunes:image'] as Node | undefined;
  if (!image?.['@href']) problems.push('channel: <itunes:image href> missing');
  else if (!/\.(png|jpe?g)(\?|$)/i.test(String(image['@href'])))
    problems.push('channel: artwork must be .png or .jpg');
  if (!['true', 'false'].includes(textOf(ch['itunes:explicit'])))
    problems.push('channel: itunes:explicit must be true or false');
  const cats = list(ch['itunes:category']);
  if (cats.length === 0) problems.push('channel: no itunes:category');
  for (const c of cats) {
    const top = String(c['@text'] ?? '');
    if (!appleCategory(top) || appleCategory(top)?.subcategory)
      problems.push(`channel: "${top}" is not an Apple category`);
    for (const sub of list(c['itunes:category'])) {
      const s = appleCategory(`${top} > ${String(sub['@text'] ?? '')}`);
      if (!s) problems.push(`channel: "${String(sub['@text'])}" is not a sub-category of ${top}`);
    }
  }
  if (!textOf(ch['itunes:author'])) problems.push('channel: itunes:author missing');
  const owner = ch['itunes:owner'] as Node | undefined;
  if (!owner || !textOf(owner['itunes:email'])) problems.push('channel: itunes:owner e-mail missing');
  const type = textOf(ch['itunes:type']);
  if (type && !['episodic', 'serial'].includes(type))
    problems.push('channel: itunes:type must be episodic or serial');
  const locked = ch['podcast:locked'];
  if (locked !== undefined && !['yes', 'no'].includes(textOf(locked)))
    problems.push('channel: podcast:locked must be yes or no');
  const items = list(ch.item);
  const guids = new Set<string>();
  for (const [i, it] of items.entries()) {
    const where = `item ${i + 1}`;
    if (!textOf(it.title)) problems.push(`${where}: <title> missing`);
    const enc = it.enclosure as Node | undefined;
    if (!enc) problems.push(`${where}: <enclosure> missing`);
    else {
      if (!/^https?:\/\//.test(String(enc['@url'] ?? '')))
        problems.push(`${where}: enclosure url must be http(s)`);
      if (!/^\d+$/.test(String(enc['@length'] ?? '')) || Number(enc['@length']) <= 0)
        problems.push(`${where}: enclosure length must be the byte count`);
      if (!(directoryEnclosureTypes as readonly string[]).includes(String(enc['@type'])))
        problems.push(`${where}: enclosure type ${String(enc['@type'])} is not accepted`);
    }
    const guid = textOf(it.guid);
    if (!guid) problems.push(`${where}: <guid> missing`);
    else if (guids.has(guid)) problems.push(`${where}: guid ${guid} repeats`);
    guids.add(guid);
    if (!rfc822.test(textOf(it.pubDate))) problems.push(`${where}: pubDate is not RFC 2822`);
    const d = textOf(it['itunes:duration']);
    if (d && !/^(\d+|\d{1,2}:\d{2}(:\d{2})?)$/.test(d)) problems.push(`${where}: itunes:duration malformed`);
    for (const tag of ['itunes:season', 'itunes:episode']) {
      const v = it[tag];
      if (v !== undefined && !/^\d+$/.test(textOf(v)))
        problems.push(`${where}: ${tag} must be a whole number`);
    }
    const et = it['itunes:episodeType'];
    if (et !== undefined && !['full', 'trailer', 'bonus'].includes(textOf(et)))
      problems.push(`${where}: itunes:episodeType must be full, trailer or bonus`);
    const ex = it['itunes:explicit'];
    if (ex !== undefined && !['true', 'false'].includes(textOf(ex)))
      problems.push(`${where}: itunes:explicit must be true or false`);
  }
  return problems;
}

/** Apple: square, 1400 to 3000 pixels a side, PNG or JPEG (the type comes from sniffImage). */
export function artworkProblems(image: { type: string; width: number; height: number } | null): string[] {
  if (!image) return ['artwork is not a PNG or JPEG'];
  const out: string[] = [];
  if (image.width !== image.height) out.push(`artwork is ${image.width}x${image.height}, not square`);
  if (image.width < 1400 || image.width > 3000)
    out.push(`artwork is ${image.width} px wide, not 1400 to 3000`);
  return out;
}
