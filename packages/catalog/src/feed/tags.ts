import type { EpisodeDetail } from '../episodes.ts';
import type { Show } from '../shows.ts';
import { transcriptTypes } from '../transcripts/parse-transcript.ts';
import type { Transcript } from '../transcripts/transcripts.ts';
import { appleCategory, categoryTree } from './apple-categories.ts';
import type { Person } from './settings.ts';

/**
 * The feed tags of issue 16, each a pure function of stored values, kept apart from
 * feed.ts so the enclosure code there and these tags change independently. `x` is the one
 * XML escaper (feed.ts `escapeXml`), passed in to keep a single owner.
 */
type Escape = (text: string) => string;

function person(p: Person, x: Escape): string {
  const attrs = [
    p.role ? ` role="${x(p.role)}"` : '',
    p.group ? ` group="${x(p.group)}"` : '',
    p.img ? ` img="${x(p.img)}"` : '',
    p.href ? ` href="${x(p.href)}"` : '',
  ].join('');
  return `<podcast:person${attrs}>${x(p.name)}</podcast:person>`;
}

/** Channel tags from the show's settings and categories (Apple's spelling, nested subs). */
export function channelTags(show: Show, x: Escape, ownerFallback: string): string[] {
  const s = show.settings ?? {};
  const out: string[] = [];
  out.push(
    `<itunes:owner><itunes:name>${x(s.ownerName || show.author || ownerFallback)}</itunes:name>${s.ownerEmail ? `<itunes:email>${x(s.ownerEmail)}</itunes:email>` : ''}</itunes:owner>`,
  );
  for (const c of categoryTree(show.categories)) {
    out.push(
      c.subcategories.length
        ? `<itunes:category text="${x(c.category)}">${c.subcategories.map((sub) => `<itunes:category text="${x(sub)}"/>`).join('')}</itunes:category>`
        : `<itunes:category text="${x(c.category)}"/>`,
    );
  }
  // A creator's own category words that Apple does not list stay as plain RSS categories.
  for (const c of show.categories) if (!appleCategory(c)) out.push(`<category>${x(c)}</category>`);
  out.push(
    `<podcast:locked${s.ownerEmail ? ` owner="${x(s.ownerEmail)}"` : ''}>${s.locked ? 'yes' : 'no'}</podcast:locked>`,
  );
  if (s.newFeedUrl) out.push(`<itunes:new-feed-url>${x(s.newFeedUrl)}</itunes:new-feed-url>`);
  for (const p of s.persons ?? []) out.push(person(p, x));
  if (s.location) {
    const l = s.location;
    out.push(
      `<podcast:location${l.geo ? ` geo="${x(l.geo)}"` : ''}${l.osm ? ` osm="${x(l.osm)}"` : ''}>${x(l.name)}</podcast:location>`,
    );
  }
  for (const f of s.funding ?? [])
    out.push(`<podcast:funding url="${x(f.url)}">${x(f.text)}</podcast:funding>`);
  if (s.license) {
    out.push(
      `<podcast:license${s.license.url ? ` url="${x(s.license.url)}"` : ''}>${x(s.license.identifier)}</podcast:license>`,
    );
  }
  return out;
}

/** Item tags: season, number, type, explicit, artwork, persons. */
export function itemTags(
  e: EpisodeDetail,
  x: Escape,
  media: (path: string) => string,
  transcriptFor?: (e: EpisodeDetail, t: Transcript, captions: boolean) => string | null,
): string[] {
  const transcriptUrl = (t: Transcript, captions: boolean) =>
    transcriptFor?.(e, t, captions) ?? media(captions ? t.vttPath : t.path);
  const out: string[] = [];
  if (e.season !== null) out.push(`<itunes:season>${e.season}</itunes:season>`);
  if (e.episodeNumber !== null) out.push(`<itunes:episode>${e.episodeNumber}</itunes:episode>`);
  if (e.explicit !== null) out.push(`<itunes:explicit>${e.explicit ? 'true' : 'false'}</itunes:explicit>`);
  if (e.artwork) out.push(`<itunes:image href="${x(media(e.artwork))}"/>`);
  for (const p of e.persons) out.push(person(p, x));
  for (const t of e.transcripts ?? []) {
    out.push(
      `<podcast:transcript url="${x(transcriptUrl(t, t.format === 'vtt'))}" type="${transcriptTypes[t.format]}" language="${x(t.language)}"${t.format === 'vtt' ? ' rel="captions"' : ''}/>`,
    );
    if (t.vttPath !== t.path)
      out.push(
        `<podcast:transcript url="${x(transcriptUrl(t, true))}" type="text/vtt" language="${x(t.language)}" rel="captions"/>`,
      );
  }
  return out;
}
