import type { TrackingEvent } from '@swarmcast/ads';
import { type AudienceKey, type ClientClass, factSubjects } from '@swarmcast/platform';
import type { PlayBeacon } from '@swarmcast/player/play-beacons';

export {
  type BeaconPeerMode,
  type PlayBeacon,
  type PlayEvent,
  peerModes,
  playEvents,
} from '@swarmcast/player/play-beacons';

/** What the edge learned of the sender, without keeping its IP address or user agent. */
export interface EdgeInfo {
  audienceKey: AudienceKey;
  client: ClientClass;
  datacenter: boolean;
}

/** One ad tracking beacon as the collector publishes it (subject `beacon.ad`). */
export interface AdBeaconEvent extends EdgeInfo {
  kind: 'ad';
  id: string;
  /** The collector's clock when the beacon arrived: the time all timing rules use. */
  receivedAt: number;
  event: TrackingEvent;
  token: string;
  /** VAST [TIMESTAMP] as the player sent it (informational, never trusted for timing). */
  ts: string | null;
  /** VAST [ADPLAYHEAD] in milliseconds. */
  adPlayheadMs: number | null;
  /** `o`: offset of a progress event in milliseconds. */
  offsetMs: number | null;
  /** `code`: VAST [ERRORCODE] of an error event. */
  errorCode: number | null;
}

/** A play beacon as the collector publishes it (subject `beacon.play`). */
export interface PlayBeaconEvent extends EdgeInfo {
  kind: 'play';
  id: string;
  receivedAt: number;
  beacon: PlayBeacon;
  /** ISO 3166-1 country from the trusted proxy's header (absent: unknown, or an older event). */
  country?: string | null;
}

/**
 * Ad opportunities the ad server saw (subject `ads.opportunity`), for fill rate: requests for
 * one break with `slots` places in all, of which `filled` got a decision. Published by the
 * ads part, which sums the requests of one break within one second into one event.
 */
export interface AdOpportunityEvent {
  kind: 'opportunity';
  id: string;
  time: number;
  episodeId: string;
  breakId: string;
  slots: number;
  filled: number;
}

export const subjects = {
  adBeacon: 'beacon.ad',
  playBeacon: 'beacon.play',
  announce: factSubjects.announce,
  download: factSubjects.download,
  opportunity: 'ads.opportunity',
} as const;
