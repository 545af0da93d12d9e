/**
 * Tracking URLs as fixed by tracking-contract.ts:
 * `${collector}/beacon/ad/${event}?t=${token}&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]`,
 * progress adds `&o=<offset ms>`, error adds `&code=[ERRORCODE]`. Impression and error URLs
 * also carry `&mh=[MEDIAPLAYHEAD]&bp=[BREAKPOSITION]` after the contract's parameters.
 */
import { type TrackingEvent, trackingPathPrefix } from './tracking-contract.ts';

export function trackingUrl(
  collector: string,
  event: TrackingEvent,
  token: string,
  extra: { offsetMs?: number } = {},
): string {
  let url = `${collector.replace(/\/+$/, '')}${trackingPathPrefix}${event}?t=${token}&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]`;
  if (event === 'progress') url += `&o=${Math.round(extra.offsetMs ?? 0)}`;
  if (event === 'error') url += '&code=[ERRORCODE]';
  if (event === 'impression' || event === 'error') url += '&mh=[MEDIAPLAYHEAD]&bp=[BREAKPOSITION]';
  return url;
}
