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

/**
 * Listener ids are chosen by the client: one address and user agent sending a fresh random
 * id with every play or ad request would inflate plays, unique listeners, ad reach and
 * frequency-capped delivery. So one audience key (address + user agent, one UTC day)
 * contributes at most `maxListenerIdsPerKeyDay` distinct listener ids a day: a household
 * behind one address with several browsers of the same build (identical user agents) stays
 * well inside 8; a key beyond it is a script. Beacons carrying a further id are invalid
 * traffic with the reason `listener-ids` (a play session, or an ad decision and its
 * impression, is then not counted and not billed).
 */
export const maxListenerIdsPerKeyDay = 8;

/**
 * `seen`: the distinct ids this key already contributed today (updated when admitted).
 * Null when the id may count, else `listener-ids`. Beacons without an id are not bounded.
 */
export function listenerIdReason(
  seen: Set<string>,
  listenerId: string | null,
  max = maxListenerIdsPerKeyDay,
): 'listener-ids' | null {
  if (listenerId === null || seen.has(listenerId)) return null;
  if (seen.size >= max) return 'listener-ids';
  seen.add(listenerId);
  return null;
}
