import type { EdgeInfo } from '../beacon-types.ts';

/**
 * General invalid traffic for beacons, checked before any other rule (IAB v2.3 5.4 GIVT):
 * 1. `bot`: the user agent is a known bot or crawler (OPAWG list, classified at the edge);
 * 2. `datacenter`: the address is in a listed data-centre range;
 * 3. `rate`: the audience key sent more beacons this UTC hour than a person could
 *    (`maxBeaconsPerKeyHour`; a player sends a few hundred an hour at most).
 */
export type IvtReason = 'bot' | 'datacenter' | 'rate';

export interface IvtRules {
  maxBeaconsPerKeyHour: number;
}

export const defaultIvtRules: IvtRules = { maxBeaconsPerKeyHour: 2000 };

/** `beaconsThisHour` counts this beacon too. */
export function ivtReason(
  edge: EdgeInfo,
  beaconsThisHour: number,
  rules: IvtRules = defaultIvtRules,
): IvtReason | null {
  if (edge.client.bot) return 'bot';
  if (edge.datacenter) return 'datacenter';
  if (beaconsThisHour > rules.maxBeaconsPerKeyHour) return 'rate';
  return null;
}

export const hourMs = 3_600_000;
