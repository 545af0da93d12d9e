import type { DecisionClaims } from '@swarmcast/ads';
import {
  type AdBeaconFacts,
  type AdJudgement,
  type AdTimingRules,
  type DecisionState,
  defaultAdTimingRules,
  judgeAdBeacon,
} from './ad-sequence.ts';

/**
 * Late beacons, the way stream processors treat late events (allowed lateness): several
 * pipeline consumers share the stream, so a decision's quartile can be judged before the
 * batch holding its `start` commits on another consumer. A beacon that is out of order only
 * because its predecessor has not been judged yet (`AdJudgement.awaiting`) is not judged
 * then: the pipeline keeps it with its decision's state and judges it again whenever that
 * decision is next judged (the predecessor's batch), or once `until` has passed, when it is
 * judged as it stands (out of order for good). The hold runs from when the pipeline first
 * judged the beacon, not from its `receivedAt`: under a backlog every beacon is old when it
 * is read, yet its predecessor is still a batch or two away on another consumer.
 */
export interface HeldAdBeacon extends AdBeaconFacts {
  /** The event's id (its row in `measure_events`). */
  id: string;
  audienceKey: string;
  /** Processing time (ms) after which it is judged as it stands. */
  until: number;
}

/**
 * Default hold: longer than a JetStream consumer's ack wait (30 s), after which the batch of
 * a consumer that died holding the predecessor is redelivered to another one. Only beacons
 * whose predecessor is missing wait; an honest one is judged when its predecessor commits.
 */
export const defaultAdHoldMs = 60_000;

/**
 * At most this many beacons are held per decision (its row carries them): beyond, a beacon
 * awaiting its predecessor is judged out of order at once. An honest player sends a handful
 * before its start could be late (quartiles, complete, progress, a click); a client sending
 * thousands under one token cannot grow the row or the batches that rewrite it.
 */
export const maxHeldPerDecision = 32;

export interface HeldRelease {
  /** The decision's state after the beacons judged now. */
  state: DecisionState;
  /** Beacons judged now, in receive order, with their judgements. */
  judged: { beacon: HeldAdBeacon; judgement: AdJudgement }[];
  /** Beacons still waiting for their predecessor within their hold. */
  held: HeldAdBeacon[];
}

/**
 * Judges a decision's held beacons against its state, in receive order (ties by id): a
 * beacon still awaiting its predecessor stays held until `until`; after that, or once the
 * predecessor is in `prior`, it is judged. Held beacons are never invalid traffic (that is
 * judged first, and a beacon with a reason is not held), so they are judged with `ivt` null.
 */
export function releaseHeldBeacons(
  prior: DecisionState,
  held: readonly HeldAdBeacon[],
  claims: Pick<DecisionClaims, 'creativeDurationMs'>,
  now: number,
  rules: AdTimingRules = defaultAdTimingRules,
): HeldRelease {
  let state = prior;
  const judged: HeldRelease['judged'] = [];
  const kept: HeldAdBeacon[] = [];
  const order = [...held].sort(
    (a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for (const beacon of order) {
    const judgement = judgeAdBeacon(state, beacon, claims, null, rules);
    if (judgement.awaiting !== null && now < beacon.until) {
      kept.push(beacon);
      continue;
    }
    state = judgement.state;
    judged.push({ beacon, judgement });
  }
  return { state, judged, held: kept };
}

/** The earliest `until` of a decision's held beacons (when a sweep must judge it), or null. */
export function heldUntil(held: readonly HeldAdBeacon[]): number | null {
  return held.length === 0 ? null : Math.min(...held.map((b) => b.until));
}
