/**
 * VAST 4.3 documents (element order follows the IAB 4.2 XSD, which 4.3 documents validate
 * against; namespace http://www.iab.com/VAST). An empty `<VAST/>` is the no-ad answer.
 *
 * Each ad carries: Ad@id/@sequence(pods)/@adType, AdSystem, Error, the torrent Extension
 * (only when the creative is published as a torrent), Impression, AdServingId, AdTitle,
 * Advertiser, and Creatives: one Linear (Duration, TrackingEvents with every event and
 * progress offsets, MediaFiles, VideoClicks) and, if any, one CompanionAds; each Creative
 * has its UniversalAdId. Every tracking URL carries the decision token.
 */
import { clockTime } from './macros.ts';
import type { Creative } from './model.ts';
import { trackingEvents } from './tracking-contract.ts';
import { trackingUrl } from './tracking-urls.ts';
import { xmlEscape as x } from './xml.ts';

export interface VastAd {
  creative: Creative;
  /** 1-based place in the pod; the attribute is written only for pods of two or more. */
  sequence: number;
  adServingId: string;
  advertiserName: string;
  token: string;
}

export interface VastOptions {
  /** Base URL of the beacon collector, e.g. "https://node.example". */
  collector: string;
  adSystem: string;
  adSystemVersion: string;
}

/** Progress events at these offsets, when the ad is longer. */
const progressOffsetsMs = [5_000, 15_000, 30_000];

/**
 * The Linear `<Tracking>` events: the contract's events less those VAST carries elsewhere
 * (Impression, ClickTracking, Error) and progress, which is written per offset.
 */
const linearEvents = trackingEvents.filter(
  (e) => e !== 'impression' && e !== 'progress' && e !== 'click' && e !== 'error',
);

export function renderVast(ads: readonly VastAd[], o: VastOptions): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (ads.length === 0) return `${head}<VAST version="4.3" xmlns="http://www.iab.com/VAST"/>\n`;
  const pod = ads.length > 1;
  let body = '';
  for (const a of ads) body += fill(templateOf(a.creative, o), a, pod);
  return `${head}<VAST version="4.3" xmlns="http://www.iab.com/VAST">\n${body}</VAST>\n`;
}

// Rendering an ad is mostly the same text for every decision of one creative: only the
// token, the serving id, the pod sequence and the advertiser name change. So each creative's
// ad is rendered once with placeholders (U+E000 marks, which xmlEscape strips from data)
// and later decisions only fill them in. Creatives are immutable records: a changed
// creative is a new object and gets a new template.
const mark = '\ue000';
const slots = {
  token: `${mark}T${mark}`,
  id: `${mark}I${mark}`,
  seq: `${mark}S${mark}`,
  adv: `${mark}A${mark}`,
};
type Template = { parts: string[]; kinds: string[] };
const templates = new WeakMap<Creative, Map<string, Template>>();

function templateOf(c: Creative, o: VastOptions): Template {
  const key = `${o.collector}\n${o.adSystem}\n${o.adSystemVersion}`;
  let byOpts = templates.get(c);
  if (!byOpts) {
    byOpts = new Map();
    templates.set(c, byOpts);
  }
  let t = byOpts.get(key);
  if (!t) {
    const xml = renderAd(c, slots, o);
    const parts: string[] = [];
    const kinds: string[] = [];
    const re = new RegExp(`${mark}([TISA])${mark}`, 'g');
    let last = 0;
    for (const m of xml.matchAll(re)) {
      parts.push(oneByte(xml.slice(last, m.index)));
      kinds.push(m[1]!);
      last = m.index! + m[0].length;
    }
    parts.push(oneByte(xml.slice(last)));
    t = { parts, kinds };
    byOpts.set(key, t);
  }
  return t;
}

/**
 * The same text as a one-byte string when it has no character above U+00FF. The rendered
 * ad holds the U+E000 marks, so V8 stores it, and every slice of it, two bytes per
 * character even where the slice is plain ASCII; an answer built from such parts is a
 * two-byte string that the socket write has to flatten and transcode to UTF-8 on every
 * request (about 200 us for a 30 KB pod, most of a decision's CPU in the bench profile,
 * where a one-byte answer costs about 30 us). The copy is made once per template.
 */
function oneByte(s: string): string {
  return /[^\u0000-\u00ff]/.test(s) ? s : Buffer.from(s, 'latin1').toString('latin1');
}

function fill(t: Template, a: VastAd, pod: boolean): string {
  const values: Record<string, string> = {
    T: x(a.token),
    I: x(a.adServingId),
    S: pod ? ` sequence="${a.sequence}"` : '',
    A: x(a.advertiserName),
  };
  let out = t.parts[0]!;
  for (let i = 0; i < t.kinds.length; i++) out += values[t.kinds[i]!]! + t.parts[i + 1]!;
  return out;
}

/** The ad with placeholder slots for what differs per decision (see `templateOf`). */
function renderAd(c: Creative, s: typeof slots, o: VastOptions): string {
  const a = { token: s.token, adServingId: s.id, advertiserName: s.adv };
  // Slots go in raw (xmlEscape would strip their marks); they are escaped when filled.
  const t = (event: Parameters<typeof trackingUrl>[1], extra?: { offsetMs?: number }) =>
    x(trackingUrl(o.collector, event, 'tokenslot', extra)).replace('?t=tokenslot&amp;', `?t=${a.token}&amp;`);
  const seq = s.seq;
  const uid = `<UniversalAdId idRegistry="${x(c.universalAdId.registry)}">${x(c.universalAdId.value)}</UniversalAdId>`;
  const tracking = [
    ...linearEvents.map((e) => `<Tracking event="${e}">${t(e)}</Tracking>`),
    ...progressOffsetsMs
      .filter((ms) => ms < c.durationMs)
      .map(
        (ms) =>
          `<Tracking event="progress" offset="${clockTime(ms)}">${t('progress', { offsetMs: ms })}</Tracking>`,
      ),
  ];
  const media = [
    { url: c.mediaUrl, mimeType: c.mimeType, bitrateKbps: c.bitrateKbps, width: c.width, height: c.height },
    ...c.alternates,
  ]
    .map(
      (m, i) =>
        `<MediaFile id="${x(c.id)}-${i}" delivery="progressive" type="${x(m.mimeType)}" width="${m.width}" height="${m.height}"${m.bitrateKbps ? ` bitrate="${m.bitrateKbps}"` : ''}${i === 0 ? ` fileSize="${c.bytes}"` : ''}>${x(m.url)}</MediaFile>`,
    )
    .join('\n');
  const clicks = `<VideoClicks><ClickTracking id="${x(c.id)}">${t('click')}</ClickTracking>${c.clickThroughUrl ? `<ClickThrough>${x(c.clickThroughUrl)}</ClickThrough>` : ''}</VideoClicks>`;
  const ext = c.torrent
    ? `<Extensions><Extension type="swarmcast-torrent"><Torrent infoHash="${x(c.torrent.infoHash)}" url="${x(c.torrent.torrentUrl)}">${x(c.torrent.magnetUri)}</Torrent></Extension></Extensions>\n`
    : '';
  const companion = c.companion ? renderCompanion(c, uid) : '';
  const skip =
    c.skipOffsetMs !== undefined && c.skipOffsetMs < c.durationMs
      ? ` skipoffset="${clockTime(c.skipOffsetMs)}"`
      : '';
  return (
    `<Ad id="${x(c.id)}"${seq} adType="${c.mediaKind}">\n<InLine>\n` +
    `<AdSystem version="${x(o.adSystemVersion)}">${x(o.adSystem)}</AdSystem>\n` +
    `<Error>${t('error')}</Error>\n${ext}` +
    `<Impression id="${a.adServingId}">${t('impression')}</Impression>\n` +
    `<AdServingId>${a.adServingId}</AdServingId>\n<AdTitle>${x(c.name)}</AdTitle>\n` +
    `<Advertiser>${a.advertiserName}</Advertiser>\n<Creatives>\n` +
    `<Creative id="${x(c.id)}-linear" adId="${x(c.id)}" sequence="1">\n<Linear${skip}>\n<TrackingEvents>\n${tracking.join('\n')}\n</TrackingEvents>\n` +
    `<Duration>${clockTime(c.durationMs)}</Duration>\n<MediaFiles>\n${media}\n</MediaFiles>\n${clicks}\n</Linear>\n${uid}\n</Creative>\n` +
    `${companion}</Creatives>\n</InLine>\n</Ad>\n`
  );
}

function renderCompanion(c: Creative, uid: string): string {
  const comp = c.companion!;
  const resources: string[] = [];
  if (comp.imageUrl) {
    resources.push(
      `<StaticResource creativeType="${x(comp.imageType ?? 'image/png')}">${x(comp.imageUrl)}</StaticResource>`,
    );
  }
  if (comp.text && !comp.imageUrl) {
    // Text-only companions travel as escaped HTML; the player renders it as text.
    resources.unshift(`<HTMLResource>${x(`<p>${x(comp.text)}</p>`)}</HTMLResource>`);
  }
  const alt = comp.text ? `<AltText>${x(comp.text)}</AltText>` : '';
  const click = c.clickThroughUrl
    ? `<CompanionClickThrough>${x(c.clickThroughUrl)}</CompanionClickThrough>`
    : '';
  return (
    `<Creative id="${x(c.id)}-companion" adId="${x(c.id)}">\n<CompanionAds>\n` +
    `<Companion id="${x(c.id)}-companion" width="${comp.width}" height="${comp.height}">${resources.join('')}${alt}${click}</Companion>\n` +
    `</CompanionAds>\n${uid}\n</Creative>\n`
  );
}
