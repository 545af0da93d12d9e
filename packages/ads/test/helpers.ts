/** A small, readable world for the ads tests: an in-memory catalog port and model builders. */
import type { EpisodeForAds } from '@swarmcast/catalog';
import {
  type Campaign,
  type Creative,
  type DecisionClaims,
  type EpisodeLookup,
  type LineItem,
  measuredDeliverySubject,
} from '../src/index.ts';

export const t0 = Date.UTC(2026, 10, 23, 0, 0, 0); // a Monday, 00:00 UTC
export const day = 86_400_000;

export function episode(over: Partial<EpisodeForAds> = {}): EpisodeForAds {
  return {
    id: 'ep-1',
    showId: 'show-1',
    creatorId: 'creator-1',
    title: 'Episode one',
    durationMs: 1_800_000,
    language: 'en',
    categories: ['technology'],
    mediaKind: 'audio',
    adBreaks: [
      { id: 'pre', position: 'pre', offsetMs: 0, maxDurationMs: 30_000, maxAds: 1 },
      { id: 'mid-1', position: 'mid', offsetMs: 600_000, maxDurationMs: 90_000, maxAds: 3 },
      { id: 'mid-2', position: 'mid', offsetMs: 1_200_500, maxDurationMs: 60_000, maxAds: 2 },
      { id: 'post', position: 'post', offsetMs: 1_800_000, maxDurationMs: 30_000, maxAds: 1 },
    ],
    ...over,
  };
}

/** The catalog port as a real in-memory implementation. */
export function episodeLookup(episodes: EpisodeForAds[]): EpisodeLookup {
  const byId = new Map(episodes.map((e) => [e.id, e]));
  return (id) => byId.get(id) ?? null;
}

export function campaign(id: string, over: Partial<Campaign> = {}): Campaign {
  return {
    id,
    advertiserId: `adv-${id}`,
    name: `Campaign ${id}`,
    startsAt: t0,
    endsAt: t0 + day,
    currency: 'EUR',
    totalBudgetMicros: 1_000_000_000,
    dailyBudgetMicros: 0,
    paused: false,
    ...over,
  };
}

export function creative(id: string, over: Partial<Creative> = {}): Creative {
  return {
    id,
    advertiserId: 'adv-1',
    name: `Creative ${id}`,
    mediaKind: 'audio',
    mimeType: 'audio/mpeg',
    durationMs: 15_000,
    bytes: 240_000,
    bitrateKbps: 128,
    width: 0,
    height: 0,
    mediaUrl: `https://cdn.example/ads/${id}.mp3`,
    alternates: [
      {
        url: `https://cdn.example/ads/${id}.m4a`,
        mimeType: 'audio/mp4',
        bitrateKbps: 96,
        width: 0,
        height: 0,
      },
    ],
    clickThroughUrl: `https://advertiser.example/landing?c=${id}&x=<1>`,
    universalAdId: { registry: 'ad-id.org', value: `UAID-${id}` },
    approval: 'approved',
    ...over,
  };
}

export function lineItem(id: string, campaignId: string, over: Partial<LineItem> = {}): LineItem {
  return {
    id,
    campaignId,
    name: `Line ${id}`,
    priority: 'standard',
    goal: { kind: 'impressions', impressions: 1_000_000 },
    cpmMicros: 20_000_000,
    targeting: {},
    caps: [],
    pacing: 'asap',
    exclusionCategories: [],
    creativeIds: [`cr-${id}`],
    paused: false,
    ...over,
  };
}

/** A seeded PRNG (mulberry32) so simulations are reproducible; print the seed on failure. */
export { prng } from '@swarmcast/testkit';

/** The measurement stream's event for a decision delivered (played) at `time`, at its CPM. */
export const delivered = (d: DecisionClaims, id: string, time: number) => ({
  id,
  subject: measuredDeliverySubject,
  data: {
    kind: 'delivered' as const,
    source: 'vast' as const,
    decisionId: d.decisionId,
    lineItemId: d.lineItemId,
    campaignId: d.campaignId,
    advertiserId: d.advertiserId,
    listenerId: d.listenerId,
    issuedAt: d.issuedAt,
    time,
    cpmMicros: d.cpmMicros,
    chargedMicros: d.cpmMicros / 1000,
  },
});
