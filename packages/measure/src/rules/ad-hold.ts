import type { DecisionClaims } from '@swarmcast/ads';
import {
  type AdBeaconFacts,
  type AdJudgement,
  type AdTimingRules,
  type DecisionState,
  defaultAdTimingRules,
  judgeAdBeacon,
} from './ad-sequence.ts';
import { type Held, type Release, releaseHeld } from './hold.ts';

/** An ad beacon held for its decision's `start` or `impression` (rules/hold.ts). */
export interface HeldAdBeacon extends AdBeaconFacts, Held {
  audienceKey: string;
}

export type HeldRelease = Release<DecisionState, HeldAdBeacon, AdJudgement>;

/**
 * Judges a decision's held beacons against its state, in receive order (ties by id): see
 * `releaseHeld`. Held ad beacons are never invalid traffic (that is judged first, and a
 * beacon with a reason is not held), so they are judged with `ivt` null.
 */
export function releaseHeldBeacons(
  prior: DecisionState,
  held: readonly HeldAdBeacon[],
  claims: Pick<DecisionClaims, 'creativeDurationMs'>,
  now: number,
  rules: AdTimingRules = defaultAdTimingRules,
): HeldRelease {
  return releaseHeld(
    prior,
    held,
    now,
    (state, beacon) => judgeAdBeacon(state, beacon, claims, null, rules),
    (j) => j.state,
  );
}
