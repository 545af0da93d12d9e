/**
 * Reads a VAST response with @dailymotion/vast-client into the linear ads the player plays.
 * Total: a malformed document or an ad without a playable linear creative gives fewer ads
 * (with the VAST error code to report), never a throw: an ad must not block content.
 */
import { VASTParser } from '@dailymotion/vast-client';
import type { AdTrackers, LinearEvent } from './ad-tracking.ts';
import { linearEvents } from './ad-tracking.ts';
import { type VastErrorCode, vastErrors } from './vast-errors.ts';

export interface MediaFileChoice {
  url: string;
  mimeType: string;
  width: number;
  height: number;
  bitrateKbps: number;
}

/**
 * A companion shown beside the ad while it plays. Only an image (StaticResource image/*) or
 * plain text (AltText, else the HTMLResource's text) is kept: the player never renders the ad
 * server's HTML or iframes, so a companion can run no script in the page.
 */
export interface CompanionChoice {
  width: number;
  height: number;
  imageUrl: string | null;
  text: string | null;
  clickThrough: string | null;
  clickTracking: string[];
}

/** One linear ad of a pod, in pod order. */
export interface LinearAd {
  adId: string;
  adServingId: string | null;
  /** VAST Ad@sequence; null for a stand-alone ad. */
  sequence: number | null;
  durationMs: number;
  skipOffsetMs: number | null;
  mediaFiles: MediaFileChoice[];
  trackers: AdTrackers;
  /** VideoClicks/ClickThrough (http/https only, else null) and its ClickTracking URLs. */
  clickThrough: string | null;
  clickTracking: string[];
  companions: CompanionChoice[];
}

export interface VastReadResult {
  ads: LinearAd[];
  /** Error URLs to fire when the response has no ad (VAST error 303). */
  noAdErrorUrls: string[];
  /** Set when the document could not be read at all or held no playable ad. */
  error: VastErrorCode | null;
}

type Raw = Record<string, unknown>;
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const templateUrls = (v: unknown): string[] =>
  Array.isArray(v)
    ? v
        .map((t) => (typeof t === 'string' ? t : (t as Raw | null)?.url))
        .filter((u): u is string => typeof u === 'string' && u !== '')
    : [];
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
/** A URL the page may open or load: absolute http(s) only (no javascript:, data:, relative). */
export function webUrl(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (!/^https?:\/\//i.test(s)) return null;
  try {
    return new URL(s).href;
  } catch {
    return null;
  }
}
const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };
/** The text of an HTMLResource: tags dropped, the common entities decoded, spaces folded. */
function textOfHtml(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|apos|#39);/g, (_m, e: string) => entities[e] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

function companionsOf(creatives: Raw[]): CompanionChoice[] {
  const out: CompanionChoice[] = [];
  for (const c of creatives) {
    if (c?.type !== 'companion' || !Array.isArray(c.variations)) continue;
    for (const v of c.variations as Raw[]) {
      const statics = Array.isArray(v.staticResources) ? (v.staticResources as Raw[]) : [];
      const image = statics.find(
        (r) => typeof r.creativeType === 'string' && /^image\//i.test(r.creativeType) && webUrl(r.url),
      );
      const html = strings(v.htmlResources)[0];
      const alt = typeof v.altText === 'string' && v.altText.trim() !== '' ? v.altText.trim() : null;
      const text = alt ?? (html ? textOfHtml(html) || null : null);
      const imageUrl = image ? webUrl(image.url) : null;
      if (!imageUrl && !text) continue;
      out.push({
        width: num(Number(v.width)),
        height: num(Number(v.height)),
        imageUrl,
        text: text === null ? null : text.slice(0, 500),
        clickThrough: webUrl(v.companionClickThroughURLTemplate),
        clickTracking: templateUrls(v.companionClickTrackingURLTemplates),
      });
    }
  }
  return out;
}

function trackersOf(ad: Raw, creative: Raw, durationMs: number): AdTrackers {
  const te = (creative.trackingEvents ?? {}) as Record<string, unknown>;
  const events: Partial<Record<LinearEvent, string[]>> = {};
  for (const e of linearEvents) {
    const urls = strings(te[e]);
    if (urls.length > 0) events[e] = urls;
  }
  // vast-client keys progress trackers `progress-<seconds>` or `progress-<n>%`.
  const progress: { offsetMs: number; urls: string[] }[] = [];
  for (const [key, v] of Object.entries(te)) {
    const m = /^progress-(\d+(?:\.\d+)?)(%?)$/.exec(key);
    if (!m) continue;
    const n = Number(m[1]);
    const offsetMs = m[2] === '%' ? Math.round((n / 100) * durationMs) : Math.round(n * 1000);
    progress.push({ offsetMs, urls: strings(v) });
  }
  progress.sort((a, b) => a.offsetMs - b.offsetMs);
  return {
    impression: templateUrls(ad.impressionURLTemplates),
    error: strings(ad.errorURLTemplates),
    events,
    progress,
  };
}

/** Turns vast-client's parsed response into linear ads, pod order first. */
export function linearAdsOf(response: unknown): VastReadResult {
  const r = (response ?? {}) as Raw;
  const ads: LinearAd[] = [];
  for (const rawAd of Array.isArray(r.ads) ? r.ads : []) {
    const ad = rawAd as Raw;
    const creatives = Array.isArray(ad.creatives) ? (ad.creatives as Raw[]) : [];
    const linear = creatives.find((c) => c?.type === 'linear');
    if (!linear) continue;
    const durationMs = Math.round(num(linear.duration) * 1000);
    const skip = linear.skipDelay;
    const mediaFiles = (Array.isArray(linear.mediaFiles) ? (linear.mediaFiles as Raw[]) : [])
      .filter((f) => typeof f.fileURL === 'string' && f.fileURL !== '')
      .map((f) => ({
        url: String(f.fileURL).trim(),
        mimeType: typeof f.mimeType === 'string' ? f.mimeType : '',
        width: num(f.width),
        height: num(f.height),
        bitrateKbps: num(f.bitrate),
      }));
    ads.push({
      adId: typeof ad.id === 'string' ? ad.id : '',
      adServingId: typeof ad.adServingId === 'string' ? ad.adServingId : null,
      sequence: typeof ad.sequence === 'number' ? ad.sequence : Number(ad.sequence) || null,
      durationMs,
      skipOffsetMs: typeof skip === 'number' && skip >= 0 ? Math.round(skip * 1000) : null,
      mediaFiles,
      trackers: trackersOf(ad, linear, durationMs),
      clickThrough: webUrl((linear.videoClickThroughURLTemplate as Raw | null)?.url),
      clickTracking: templateUrls(linear.videoClickTrackingURLTemplates),
      companions: companionsOf(creatives),
    });
  }
  const pod = ads.filter((a) => a.sequence !== null).sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0));
  const ordered = pod.length > 0 ? pod : ads.slice(0, 1);
  return {
    ads: ordered,
    noAdErrorUrls: strings(r.errorURLTemplates),
    error: ordered.length === 0 ? vastErrors.noAd : null,
  };
}

/** Parses a VAST XML document (DOMParser output) with vast-client. */
export async function readVast(doc: unknown): Promise<VastReadResult> {
  try {
    return linearAdsOf(await new VASTParser().parseVAST(doc));
  } catch {
    return { ads: [], noAdErrorUrls: [], error: vastErrors.xmlParse };
  }
}

/**
 * The media file to play: the first whose type the element can play (`canPlay`, e.g.
 * `el.canPlayType(mime) !== ''`), preferring the bitrate closest to `targetKbps`. null -> 403.
 */
export function pickMediaFile(
  files: readonly MediaFileChoice[],
  canPlay: (mimeType: string) => boolean,
  targetKbps = 128,
): MediaFileChoice | null {
  const ok = files.filter((f) => canPlay(f.mimeType));
  if (ok.length === 0) return null;
  return ok.reduce((best, f) =>
    Math.abs((f.bitrateKbps || targetKbps) - targetKbps) <
    Math.abs((best.bitrateKbps || targetKbps) - targetKbps)
      ? f
      : best,
  );
}
