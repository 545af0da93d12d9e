import type { TrackingEvent } from '@swarmcast/ads';
import type { AudienceKey, ClientClass } from '@swarmcast/platform';

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

export const playEvents = ['start', 'progress', 'complete', 'stop'] as const;
export type PlayEvent = (typeof playEvents)[number];

/**
 * A content-play beacon from the player (`POST /beacon/play`, JSON, at most 4 KiB).
 * Send `start` when playback begins, `progress` every N seconds (10 s suggested) while it
 * plays, `complete` at the end of the media, `stop` when the listener leaves. Byte counters
 * and `listenedMs` are cumulative for the session; `seq` increases by one per beacon.
 */
export interface PlayBeacon {
  v: 1;
  /** Random per playback session (a UUID); with `seq` it makes the event id. */
  sessionId: string;
  seq: number;
  /** The player's random rotating listener id, or null when withheld (DNT / GPC). */
  listenerId: string | null;
  episodeId: string;
  event: PlayEvent;
  /** Playhead in the episode, ms. */
  positionMs: number;
  /** Episode duration as the player knows it, ms. */
  durationMs: number;
  /** Media time actually played in this session so far, ms. */
  listenedMs: number;
  /** Bytes of this episode received from peers (BitTorrent/WebRTC) in this session. */
  bytesFromPeers: number;
  /** Bytes received from the HTTP web seed / origin in this session. */
  bytesFromWebSeed: number;
}

/** A play beacon as the collector publishes it (subject `beacon.play`). */
export interface PlayBeaconEvent extends EdgeInfo {
  kind: 'play';
  id: string;
  receivedAt: number;
  beacon: PlayBeacon;
}

/**
 * An ad opportunity the ad server saw (subject `ads.opportunity`), for fill rate: a break
 * with `slots` places of which `filled` got a decision. Published by the ads part.
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
  announce: 'fact.announce',
  download: 'fact.download',
  opportunity: 'ads.opportunity',
} as const;
