/**
 * The ad server's model. Money is integer micro-units of the campaign currency; times are
 * milliseconds since the epoch; durations are milliseconds. These are plain read-only
 * records: the store owns them, policies read them.
 */
import type { BreakPosition } from '@swarmcast/catalog';

export type PriorityClass = 'sponsorship' | 'standard' | 'house';

/** Higher wins. House ads fill what paid line items leave. */
export const priorityRank: Readonly<Record<PriorityClass, number>> = {
  sponsorship: 3,
  standard: 2,
  house: 1,
};

export type DeviceClass = 'phone' | 'tablet' | 'computer' | 'watch' | 'speaker' | 'tv' | 'car' | 'unknown';
export const deviceClasses: readonly DeviceClass[] = [
  'phone',
  'tablet',
  'computer',
  'watch',
  'speaker',
  'tv',
  'car',
  'unknown',
];

export interface Advertiser {
  id: string;
  name: string;
  /**
   * The catalog account (role advertiser) that owns it and alone may see and change it and
   * its campaigns, line items and creatives. Absent: only admins (e.g. the house advertiser).
   */
  ownerAccountId?: string;
}

export interface Campaign {
  id: string;
  advertiserId: string;
  name: string;
  /** Flight: serves in [startsAt, endsAt). */
  startsAt: number;
  endsAt: number;
  /** ISO 4217 code, e.g. "EUR". */
  currency: string;
  totalBudgetMicros: number;
  /** Per UTC day; 0 means no daily limit. */
  dailyBudgetMicros: number;
  paused: boolean;
}

/** A delivery goal over the whole flight of the line item. */
export type Goal = { kind: 'impressions'; impressions: number } | { kind: 'spend'; micros: number };

/** One recurring window: days of week (0 = Sunday) and hours [fromHour, toHour) in UTC. */
export interface DayPart {
  days: number[];
  fromHour: number;
  toHour: number;
}

/** Every present field must match; an absent or empty field matches all. */
export interface Targeting {
  showIds?: string[];
  categories?: string[];
  /** Language prefixes: "de" matches "de" and "de-CH". */
  languages?: string[];
  positions?: BreakPosition[];
  /** ISO 3166-1 alpha-2, upper case, from the operator's proxy header. */
  countries?: string[];
  devices?: DeviceClass[];
  dayParts?: DayPart[];
}

/** At most `max` impressions per listener per `periodMs` (a sliding window). */
export interface FrequencyCap {
  max: number;
  periodMs: number;
}

export interface LineItem {
  id: string;
  campaignId: string;
  name: string;
  priority: PriorityClass;
  goal: Goal;
  /** Price per thousand impressions, micro-units of the campaign currency. */
  cpmMicros: number;
  /** Optional narrower flight inside the campaign's. */
  startsAt?: number;
  endsAt?: number;
  targeting: Targeting;
  caps: FrequencyCap[];
  /** "even" spreads the goal over the flight; "asap" serves whenever eligible (house ads). */
  pacing: 'even' | 'asap';
  /** Competitive categories (e.g. "auto", "telecom"): no two ads of one category in a pod. */
  exclusionCategories: string[];
  creativeIds: string[];
  paused: boolean;
}

export type ApprovalState = 'pending' | 'approved' | 'rejected';

export interface Companion {
  /** Shown beside an audio ad: a line of text and/or an image. */
  text?: string;
  imageUrl?: string;
  imageType?: string;
  width: number;
  height: number;
}

export interface Creative {
  id: string;
  advertiserId: string;
  name: string;
  mediaKind: 'audio' | 'video';
  /** MIME type of the uploaded file, e.g. "audio/mpeg". */
  mimeType: string;
  durationMs: number;
  bytes: number;
  bitrateKbps?: number;
  width: number;
  height: number;
  /** Where the media is served over HTTP; set when stored. */
  mediaUrl: string;
  /** Other encodings of the same ad, each its own MediaFile in VAST. */
  alternates: Array<{ url: string; mimeType: string; bitrateKbps?: number; width: number; height: number }>;
  clickThroughUrl?: string;
  /**
   * The advertiser's choice: players may offer "skip" after this long (VAST
   * Linear@skipoffset). Absent: not skippable.
   */
  skipOffsetMs?: number;
  companion?: Companion;
  /** Set once the creative is published as a torrent (web seed = origin). */
  torrent?: { infoHash: string; magnetUri: string; torrentUrl: string };
  /** Ad-ID / UniversalAdId, registry and value. */
  universalAdId: { registry: string; value: string };
  approval: ApprovalState;
  /** The admin's reason for the last approval decision, shown to the advertiser. */
  approvalReason?: string;
}

/** What the ad server has delivered so far (kept by the store, read by the policies). */
export interface LineItemDelivery {
  impressions: number;
  /** Sum of cpmMicros over impressions, i.e. spend in thousandths of a micro-unit. */
  spendMilliMicros: number;
}

export interface CampaignSpend {
  spendMilliMicros: number;
  /** Spend in thousandths of a micro-unit on the given UTC day (epoch day number). */
  today: { day: number; spendMilliMicros: number };
}

export const dayMs = 86_400_000;
export const hourMs = 3_600_000;

/** The UTC day number of an instant. */
export function epochDay(t: number): number {
  return Math.floor(t / dayMs);
}
