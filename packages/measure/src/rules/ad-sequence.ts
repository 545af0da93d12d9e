import type { DecisionClaims, TrackingEvent } from '@swarmcast/ads';

/**
 * Whether one ad beacon is possible, given what its decision already saw. VAST 4.x
 * semantics (IAB VAST 4.3, section 3.14 "Tracking"): `impression` when the ad begins to
 * play, `start` at the first frame, quartiles at 25/50/75 % of the creative's duration,
 * `complete` at 100 %, `progress` at an offset. Rules (one test each in ad-sequence.test.ts):
 *
 * 1. `decision-invalid`: the decision was already judged invalid; everything after is too.
 * 2. `duplicate`: impression, start, each quartile, complete and click count once per
 *    decision (a replayed URL is kept with this reason).
 * 3. `out-of-order`: a quartile or complete before `start`, or after a later quartile;
 *    click, pause, resume, mute, unmute, skip, closeLinear or progress before the impression.
 *    "Before" and "after" are by receive time (`receivedAt`), not by the order the pipeline
 *    happens to judge them in: several consumers share the stream, so a quartile may be judged
 *    before the start received ahead of it. A beacon whose predecessor has not been judged at
 *    all yet is out of order only so far: the judgement names it in `awaiting`, and the
 *    pipeline holds the beacon and judges it again once that predecessor arrives or its hold
 *    window has passed (rules/hold.ts).
 * 4. `too-fast`: a quartile, complete or progress offset arriving sooner after `start`
 *    than the media allows (fraction x duration, less `timingTolerance` of it and
 *    `timingSlackMs`). It is fabricated: the whole decision becomes invalid (refund).
 * 5. `contradiction`: an ad playhead (ADPLAYHEAD) or progress offset beyond the creative's
 *    duration (plus the slack).
 * The impression counts (and is charged) when it is valid and not invalid traffic.
 */
export type AdRuleReason = 'decision-invalid' | 'duplicate' | 'out-of-order' | 'too-fast' | 'contradiction';

export interface AdTimingRules {
  timingTolerance: number;
  timingSlackMs: number;
}

export const defaultAdTimingRules: AdTimingRules = { timingTolerance: 0.1, timingSlackMs: 500 };

/** What one decision has seen so far: first receive time of each once-only event. */
export interface DecisionState {
  decisionId: string;
  seen: Partial<Record<TrackingEvent, number>>;
  /** Why the whole decision is invalid, or null. */
  invalid: string | null;
}

export interface AdBeaconFacts {
  event: TrackingEvent;
  receivedAt: number;
  adPlayheadMs: number | null;
  offsetMs: number | null;
}

export interface AdJudgement {
  reason: AdRuleReason | string | null;
  /** This beacon is the decision's counted impression. */
  countImpression: boolean;
  /** The decision must be invalidated (and refunded if it was charged). */
  invalidateDecision: boolean;
  /**
   * `out-of-order` only because this predecessor has not been seen at all (it may still be
   * on its way through another consumer); null when the judgement is final.
   */
  awaiting: 'start' | 'impression' | null;
  state: DecisionState;
}

const once = new Set<TrackingEvent>([
  'impression',
  'start',
  'firstQuartile',
  'midpoint',
  'thirdQuartile',
  'complete',
  'click',
]);
const quartileFraction: Partial<Record<TrackingEvent, number>> = {
  firstQuartile: 0.25,
  midpoint: 0.5,
  thirdQuartile: 0.75,
  complete: 1,
};
const later: Record<string, TrackingEvent[]> = {
  firstQuartile: ['midpoint', 'thirdQuartile', 'complete'],
  midpoint: ['thirdQuartile', 'complete'],
  thirdQuartile: ['complete'],
  complete: [],
};
const needsImpression = new Set<TrackingEvent>([
  'click',
  'pause',
  'resume',
  'mute',
  'unmute',
  'skip',
  'closeLinear',
  'progress',
]);

/** Earliest receive time after `start` at which a point `ms` into the creative is possible. */
function earliest(startAt: number, ms: number, rules: AdTimingRules): number {
  return startAt + ms * (1 - rules.timingTolerance) - rules.timingSlackMs;
}

/**
 * Judges one beacon. `ivt` is the invalid-traffic reason found for it (or null): such a
 * beacon is kept with that reason, and an invalid-traffic impression poisons its decision.
 */
export function judgeAdBeacon(
  prior: DecisionState,
  beacon: AdBeaconFacts,
  claims: Pick<DecisionClaims, 'creativeDurationMs'>,
  ivt: string | null,
  rules: AdTimingRules = defaultAdTimingRules,
): AdJudgement {
  const state: DecisionState = {
    decisionId: prior.decisionId,
    seen: { ...prior.seen },
    invalid: prior.invalid,
  };
  const out = (reason: string | null, countImpression = false, invalidateDecision = false): AdJudgement => ({
    reason,
    countImpression,
    invalidateDecision,
    awaiting: null,
    state,
  });
  const waitFor = (awaiting: 'start' | 'impression'): AdJudgement => ({ ...out('out-of-order'), awaiting });
  const { event, receivedAt } = beacon;
  const duration = claims.creativeDurationMs;

  if (state.invalid) return out('decision-invalid');
  if (once.has(event) && state.seen[event] !== undefined) return out('duplicate');
  if (ivt) {
    if (event === 'impression') {
      state.seen.impression = receivedAt;
      state.invalid = ivt;
    }
    return out(ivt);
  }
  const overrun = (ms: number | null) => ms !== null && ms > duration + rules.timingSlackMs;
  if (overrun(beacon.adPlayheadMs) || (event === 'progress' && overrun(beacon.offsetMs))) {
    return out('contradiction');
  }
  if (needsImpression.has(event)) {
    const impressionAt = state.seen.impression;
    if (impressionAt === undefined) return waitFor('impression');
    if (impressionAt > receivedAt) return out('out-of-order');
  }

  const fraction = quartileFraction[event];
  if (fraction !== undefined) {
    const startAt = state.seen.start;
    if (startAt === undefined) return waitFor('start');
    if (startAt > receivedAt) return out('out-of-order');
    const seenAt = (e: TrackingEvent) => state.seen[e];
    if ((later[event] ?? []).some((e) => (seenAt(e) ?? Number.POSITIVE_INFINITY) < receivedAt)) {
      return out('out-of-order');
    }
    if (receivedAt < earliest(startAt, fraction * duration, rules)) {
      state.invalid = 'too-fast';
      return out('too-fast', false, true);
    }
  }
  if (event === 'progress' && beacon.offsetMs !== null) {
    const startAt = state.seen.start;
    if (startAt === undefined) return waitFor('start');
    if (startAt > receivedAt) return out('out-of-order');
    if (receivedAt < earliest(startAt, beacon.offsetMs, rules)) {
      state.invalid = 'too-fast';
      return out('too-fast', false, true);
    }
  }
  if (once.has(event)) state.seen[event] = receivedAt;
  return out(null, event === 'impression');
}
