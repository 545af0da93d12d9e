import {
  cacheBuster,
  fillMacros,
  type LinearAd,
  type LinearEvent,
  newPlaySession,
  type PlayBeacon,
  type PlaySession,
  playStep,
  readVast,
  readVmap,
} from '@swarmcast/player';
import { DOMParser } from '@xmldom/xmldom';

/**
 * A podcast app as the multi-process proof drives it: it reads the VMAP and the VAST with the
 * Swarmcast player's own readers (@dailymotion/vmap and vast-client), fills each tracking
 * URL's VAST 4.x macros with the player's `fillMacros` ([TIMESTAMP], [ADPLAYHEAD],
 * [CACHEBUSTING] as 8 random digits...), and retries a request it got no acknowledgement for
 * with the very same URL or body, as apps with a retry queue do.
 */
export type Headers = Record<string, string>;

/** The listener `i`'s address (X-Forwarded-For, believed from the trusted proxy) and app. */
export const listenerHeaders = (i: number): Headers => ({
  'x-forwarded-for': `10.9.${i}.7`,
  'user-agent': `AntennaPod/3.${i}.0`,
});

const parseXml = (text: string) => new DOMParser().parseFromString(text, 'text/xml');

export interface PreRoll {
  ad: LinearAd;
  headers: Headers;
}

/** Asks `base` for the pre-roll of `episodeId` as ad listener `i` (VMAP, then its VAST tag). */
export async function preRoll(base: string, episodeId: string, i: number): Promise<PreRoll> {
  const headers = {
    'x-forwarded-for': `10.8.${i}.9`,
    'user-agent': `SwarmcastPlayer/1.0 (listener ${i})`,
  };
  const vmap = await (
    await fetch(`${base}/ads/vmap?episode=${episodeId}&lid=ad-listener-${i}`, { headers })
  ).text();
  const pre = readVmap(parseXml(vmap)).find((b) => b.timeOffset === 'start');
  if (!pre?.adTagUri.startsWith(`${base}/ads/vast?`)) throw new Error(`no pre-roll tag on ${base}: ${vmap}`);
  const vast = await (await fetch(pre.adTagUri, { headers })).text();
  const read = await readVast(parseXml(vast));
  const ad = read.ads[0];
  if (ad?.trackers.impression.length !== 1) throw new Error(`no linear ad: ${vast}`);
  return { ad, headers };
}

/** The ad's one URL for `event` (the impression, or a linear tracking event). */
export function trackerOf(ad: LinearAd, event: 'impression' | LinearEvent): string {
  const urls = event === 'impression' ? ad.trackers.impression : (ad.trackers.events[event] ?? []);
  if (urls.length !== 1) throw new Error(`${urls.length} ${event} URLs`);
  return urls[0]!;
}

/** A tracking URL with its macros filled as the player fills them for a pre-roll. */
export function filled(url: string, adPlayheadMs: number, cacheBusting = cacheBuster(Math.random)): string {
  return fillMacros(url, {
    nowMs: Date.now(),
    adPlayheadMs,
    mediaPlayheadMs: 0,
    cacheBusting,
    errorCode: null,
    breakPosition: 1,
  });
}

/**
 * Sends one request; retried (the same URL and body) when the connection breaks or the
 * answer is not 2xx, at most three times. Every status is pushed on `statuses`. True once
 * acknowledged.
 */
export async function send(
  url: string,
  init: { headers: Headers; method?: string; body?: string },
  statuses: number[],
): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const r = await fetch(url, init);
      statuses.push(r.status);
      await r.arrayBuffer();
      if (r.status >= 200 && r.status < 300) return true;
    } catch {
      // Broken mid-answer (its process was killed): retried through the proxy.
    }
  }
  return false;
}

/**
 * The play beacons of a listener who plays the first `listenMs` of an episode and leaves,
 * made by the player's own session machine (`playStep`): start, then stop.
 */
export function playBeacons(
  sessionId: string,
  episodeId: string,
  durationMs: number,
  listenMs: number,
): PlayBeacon[] {
  const out: PlayBeacon[] = [];
  let s: PlaySession = newPlaySession(sessionId, episodeId, `play-listener-${sessionId}`);
  const step = (sig: Parameters<typeof playStep>[1]) => {
    const r = playStep(s, sig);
    s = r.session;
    if (r.beacon) out.push(r.beacon);
  };
  const t0 = Date.now();
  step({ type: 'timeupdate', nowMs: t0, positionMs: 0, durationMs });
  step({ type: 'playing', nowMs: t0 });
  for (let at = 1000; at <= listenMs; at += 1000)
    step({ type: 'timeupdate', nowMs: t0, positionMs: at, durationMs });
  step({ type: 'bytes', fromPeers: 0, fromWebSeed: 65_536 });
  step({ type: 'leave' });
  return out;
}
