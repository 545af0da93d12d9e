import type { TrackingEvent } from '@swarmcast/ads';
import type { AudienceKey } from '@swarmcast/platform';

/** One judged ad beacon joined with its decision's claims, as the reports read it. */
export interface AdEventRow {
  eventId: string;
  decisionId: string;
  event: TrackingEvent;
  /** Why the beacon was filtered, or null when valid. */
  reason: string | null;
  receivedAt: number;
  audienceKey: AudienceKey;
  listenerId: string | null;
  campaignId: string;
  lineItemId: string;
  adId: string;
  breakId: string;
  episodeId: string;
  /** The decision was judged invalid after the fact (its impression refunded). */
  decisionInvalid: boolean;
}

export interface AdDelivery {
  impressions: number;
  starts: number;
  firstQuartile: number;
  midpoint: number;
  thirdQuartile: number;
  complete: number;
  /** complete / impressions (0 when there are none). */
  completionRate: number;
  clicks: number;
  /** Distinct listeners reached (listener id, else audience key). */
  reach: number;
  /** impressions / reach. */
  frequency: number;
  /** Beacons kept as invalid, by reason. */
  invalidByReason: Record<string, number>;
  /** invalid beacons / all beacons. */
  ivtShare: number;
}

const counted = (r: AdEventRow) => r.reason === null && !r.decisionInvalid;

/**
 * Delivery figures over a set of beacons (group them first for per-campaign figures).
 * Impressions count once per decision (the pipeline keeps repeats as `duplicate`), and
 * only for decisions still valid; quartiles likewise.
 */
export function adDelivery(rows: readonly AdEventRow[]): AdDelivery {
  const n = (e: TrackingEvent) => rows.filter((r) => r.event === e && counted(r)).length;
  const impressions = n('impression');
  const reachSet = new Set(
    rows
      .filter((r) => r.event === 'impression' && counted(r))
      .map((r) => (r.listenerId ? `l:${r.listenerId}` : `k:${r.audienceKey}`)),
  );
  const invalidByReason: Record<string, number> = {};
  let invalid = 0;
  for (const r of rows) {
    const reason = r.reason ?? (r.decisionInvalid ? 'decision-invalid' : null);
    if (reason) {
      invalidByReason[reason] = (invalidByReason[reason] ?? 0) + 1;
      invalid++;
    }
  }
  const complete = n('complete');
  return {
    impressions,
    starts: n('start'),
    firstQuartile: n('firstQuartile'),
    midpoint: n('midpoint'),
    thirdQuartile: n('thirdQuartile'),
    complete,
    completionRate: impressions === 0 ? 0 : complete / impressions,
    clicks: n('click'),
    reach: reachSet.size,
    frequency: reachSet.size === 0 ? 0 : impressions / reachSet.size,
    invalidByReason,
    ivtShare: rows.length === 0 ? 0 : invalid / rows.length,
  };
}

export interface OpportunityRow {
  breakId: string;
  episodeId: string;
  slots: number;
  filled: number;
}

export interface BreakFill {
  breakId: string;
  slots: number;
  filled: number;
  /** filled / slots: how often the ad server had an ad for a place. */
  fillRate: number;
  /** counted impressions / slots: how often a place became a counted impression. */
  deliveredRate: number;
}

/** Fill rate per break from the ad server's opportunities and the counted impressions. */
export function fillRates(
  opportunities: readonly OpportunityRow[],
  rows: readonly AdEventRow[],
): BreakFill[] {
  const by = new Map<string, BreakFill>();
  for (const o of opportunities) {
    const b = by.get(o.breakId) ?? { breakId: o.breakId, slots: 0, filled: 0, fillRate: 0, deliveredRate: 0 };
    b.slots += o.slots;
    b.filled += o.filled;
    by.set(o.breakId, b);
  }
  const impressions = new Map<string, number>();
  for (const r of rows) {
    if (r.event === 'impression' && counted(r))
      impressions.set(r.breakId, (impressions.get(r.breakId) ?? 0) + 1);
  }
  return [...by.values()]
    .map((b) => ({
      ...b,
      fillRate: b.slots === 0 ? 0 : b.filled / b.slots,
      deliveredRate: b.slots === 0 ? 0 : (impressions.get(b.breakId) ?? 0) / b.slots,
    }))
    .sort((a, b) => (a.breakId < b.breakId ? -1 : 1));
}
