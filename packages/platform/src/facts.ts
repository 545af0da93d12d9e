/**
 * Facts are what the transport parts (tracker, origin) and the player tell measurement.
 * They are the contract between producers and the measure part, so they live here, below both.
 *
 * Privacy invariant: no fact carries a raw IP address, raw user agent or raw peer id.
 * Producers classify what they need (client family, bot, device, data centre) at the edge
 * and pseudonymise the person with {@link AudienceKey} (a keyed hash with a daily salt).
 */

import type { ReferrerClass } from './classify/referrer.ts';

/** The stream subject each kind of fact is published under (producers and measure alike). */
export const factSubjects = { announce: 'fact.announce', download: 'fact.download' } as const;

/** Hex HMAC of (IP prefix, user agent) under the day's salt; see privacy/audience-key.ts. */
export type AudienceKey = string & { readonly __brand: 'AudienceKey' };

/** What the edge learned from a user agent, without keeping the user agent. */
export interface ClientClass {
  /** App or client family, e.g. "Apple Podcasts", "qBittorrent", "Chrome", or "unknown". */
  app: string;
  /** Device class: "phone", "tablet", "computer", "watch", "speaker", "tv", "car", "bot", "unknown". */
  device: string;
  /** OS family if known, e.g. "iOS", "watchOS", "Android", "Windows", or "unknown". */
  os: string;
  /** A known bot, crawler or library that is not a listener. */
  bot: boolean;
  /**
   * The IAB's paired Apple Watch duplicate (guidelines v2.3, 5.5.2 step 1.2 item 7): a user
   * agent that begins with `atc/` and includes `watchOS`, or contains `(null)/(null) watchOS`.
   * Such a download repeats the paired iPhone's. Other watch agents (an app downloading on
   * a standalone watch) are listeners. Absent means false.
   */
  watchDuplicate?: boolean;
}

export interface FactBase {
  /** Unique and stable: producers derive it so that a redelivered fact has the same id. */
  id: string;
  /** Milliseconds since the Unix epoch, by the producer's clock. */
  time: number;
  audienceKey: AudienceKey;
  /** The address is in an operator-listed data-centre range (classified at the edge). */
  datacenter: boolean;
  /**
   * The address is on the operator's re-validated inclusion list of known "safe" shared
   * addresses (dorms, corporations; IAB v2.3 5.5.2 note): counted despite the data-centre
   * and abnormal-rate rules. Absent means false.
   */
  safe?: boolean;
  /**
   * ISO 3166-1 alpha-2 country from the operator's trusted proxy header (classify/country.ts),
   * for audience breakdowns; absent when unknown or not behind a trusted proxy.
   */
  country?: string;
}

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'update';

/** One tracker announce (HTTP, UDP or WebSocket). */
export interface AnnounceFact extends FactBase {
  kind: 'announce';
  /** v1 info-hash, 40 lower-case hex digits (hybrid torrents announce their v1 hash). */
  infoHash: string;
  event: AnnounceEvent;
  left: number;
  /** Bytes since this peer's previous announce in this swarm (0 on the first). */
  uploadedDelta: number;
  downloadedDelta: number;
  /** From the peer id's client prefix, e.g. "qBittorrent", "Transmission", "aria2", "WebTorrent". */
  clientFamily: string;
  transport: 'http' | 'udp' | 'ws';
}

/** One HTTP request to the origin (web seed or podcast enclosure). */
export interface DownloadFact extends FactBase {
  kind: 'download';
  /** Path of the file under the media root, as published. */
  path: string;
  method: 'GET' | 'HEAD';
  status: number;
  fileSize: number;
  /** First and last byte sent (inclusive), or null when no body was sent. */
  rangeStart: number | null;
  rangeEnd: number | null;
  /** The raw Range header value, kept to recognise probes such as `bytes=0-1`. */
  rangeHeader: string | null;
  bytesSent: number;
  client: ClientClass;
  /** The request's Referer header as a class (never the URL); absent means not looked at. */
  referrer?: ReferrerClass;
  /**
   * The stitch plan (dynamic ad insertion) the body was assembled for; absent for a plain
   * file. `fileSize` and the ranges are then positions in the stitched file, which
   * measurement maps to content and ad spans with the plan's layout.
   */
  planId?: string;
}

export type Fact = AnnounceFact | DownloadFact;
