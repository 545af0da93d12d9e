/**
 * The contract between the ad server (which signs decisions and writes tracking URLs into
 * VAST) and measurement (which verifies the beacons those URLs produce).
 *
 * A decision token is `base64url(JSON(DecisionClaims)) + "." + base64url(Ed25519 signature)`,
 * the signature made over the first part's ASCII bytes with the key named by `keyId`.
 * Every tracking URL carries it as the `t` query parameter.
 */
export interface DecisionClaims {
  v: 1;
  /** Unique per decision; sent as the VAST AdServingId. One impression per decision. */
  decisionId: string;
  /** The creative (VAST Ad@id / UniversalAdId). */
  adId: string;
  lineItemId: string;
  campaignId: string;
  advertiserId: string;
  episodeId: string;
  showId: string;
  /** Account credited with the creator share. */
  creatorId: string;
  breakId: string;
  position: 'pre' | 'mid' | 'post';
  /** 1-based place of this ad in its pod. */
  podSequence: number;
  creativeDurationMs: number;
  /** Price per thousand impressions, in micro-units of the campaign currency. */
  cpmMicros: number;
  /** The player's random rotating listener id, or null when withheld (DNT / GPC). */
  listenerId: string | null;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
  /** Which signing key made the signature (keys rotate; old public keys stay for verification). */
  keyId: string;
}

/** VAST 4.3 tracking events Swarmcast puts in its responses, plus impression, click and error. */
export const trackingEvents = [
  'impression',
  'loaded',
  'start',
  'firstQuartile',
  'midpoint',
  'thirdQuartile',
  'complete',
  'skip',
  'pause',
  'resume',
  'mute',
  'unmute',
  'progress',
  'closeLinear',
  'click',
  'error',
] as const;

export type TrackingEvent = (typeof trackingEvents)[number];

/**
 * Tracking URL layout: `${collector}/beacon/ad/${event}?t=${token}` followed by VAST macros
 * the player fills in: `&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]`; progress adds
 * `&o=<offset ms>`; error adds `&code=[ERRORCODE]`. The collector answers 204 (or a 1x1 GIF
 * for `impression`) whatever it decides, so a player never learns what was filtered.
 */
export const trackingPathPrefix = '/beacon/ad/';
