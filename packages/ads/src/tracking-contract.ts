/**
 * The contract between the ad server (which signs decisions and writes tracking URLs into
 * VAST) and measurement (which verifies the beacons those URLs produce).
 *
 * A break's answer (a pod of 1..n ads) is signed once (v2). Each ad's token is
 * `body.sig.hashes`: body = base64url(JSON array of that ad's DecisionClaims in a fixed field
 * order), hashes = base64url of the 16-byte SHA-256 prefix of every ad body of the pod in pod
 * order, sig = base64url(Ed25519 over "swarmcast-pod-v2:" + hashes) with the key named by
 * `keyId`. The verifier checks that the body's hash sits at its podSequence and the
 * signature, and returns that ad's DecisionClaims. Every tracking URL carries the token as
 * the `t` query parameter.
 *
 * Under load the ad server signs the pods it decided in one event-loop turn together (v3):
 * the token adds a fourth part, the pod's inclusion proof in that batch, and the signature
 * covers the batch's root (decision-token.ts). A pod signed alone stays v2.
 *
 * Version 1 tokens (`base64url(JSON(claims)).base64url(Ed25519 over part 1)`, one signature
 * per ad) still verify, so beacons of decisions made before an upgrade are not lost.
 */

/** One ad's decision as measurement sees it (from a v1 token, or one ad of a v2 pod token). */
export interface DecisionClaims {
  /** 1: signed per ad; 2: one ad of a pod signed once; 3: one pod of a batch of pods signed once. */
  v: 1 | 2 | 3;
  /** Unique per ad decision; sent as the VAST AdServingId. One impression per decision. */
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

/**
 * Measured delivery, the feedback from measurement to the ad server (and to anything else
 * that spends or paces on delivery). The ad server runs budgets, pacing and caps on these,
 * not on its own decisions: a decision only reserves its price until its token expires.
 *
 * Published on the measurement stream with subject {@link measuredDeliverySubject} and the
 * event id `${kind}:${decisionId}` (so a redelivery is recognisable) by whoever charged or
 * refunded the delivery in the ledger:
 * - `source: 'vast'`: measurement, for a verified client-side impression (VAST beacon);
 * - `source: 'dai'`: a server-side delivery (an ad stitched into the enclosure and delivered
 *   by the download rules), published the same way by the DAI counting.
 * `kind: 'refunded'` undoes an earlier `delivered` of the same decision (fraud found later).
 * Consumers must be idempotent by (kind, decisionId): delivery is at least once.
 */
export interface MeasuredDelivery {
  kind: 'delivered' | 'refunded';
  source: 'vast' | 'dai';
  decisionId: string;
  lineItemId: string;
  campaignId: string;
  advertiserId: string;
  /** The listener id the decision was made for (caps), or null. */
  listenerId: string | null;
  /** When the decision was made (its reservation is found by it). */
  issuedAt: number;
  /** When the impression (or refund) happened, by the counting process's clock. */
  time: number;
  cpmMicros: number;
  /** What the ledger charged (or refunded) for it, in micro-units: the billed amount. */
  chargedMicros: number;
}

export const measuredDeliverySubject = 'delivery.measured';

/** The stream event id of a measured delivery. */
export function measuredDeliveryId(d: Pick<MeasuredDelivery, 'kind' | 'decisionId'>): string {
  return `${d.kind}:${d.decisionId}`;
}
