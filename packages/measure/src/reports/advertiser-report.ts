import { type AdDelivery, type AdEventRow, adDelivery } from '../rules/ad-metrics.ts';
import { defaultK, type Suppressed, suppressEach } from '../rules/suppress.ts';
import { dayMs, utcDay } from '../rules/windows.ts';
import type { Period } from './load.ts';

/** Delivery figures with the people in them (reach, and frequency = impressions / reach) suppressed. */
export type SuppressedDelivery = Omit<AdDelivery, 'reach' | 'frequency'> & {
  reach: Suppressed<number>;
  frequency: Suppressed<number>;
};

/**
 * Reach and frequency describe `reach` people and go through `suppress`; counted impressions
 * and quartiles are what the advertiser is billed on and stay visible (suppress.ts).
 */
export function suppressedDelivery(d: AdDelivery, k: number): SuppressedDelivery {
  return { ...d, ...suppressEach({ reach: d.reach, frequency: d.frequency }, d.reach, k) };
}

export interface CampaignFigures {
  campaignId: string;
  delivery: SuppressedDelivery;
  impressionsByDay: { day: number; impressions: number }[];
  /** Net spend (charges less refunds), micros. */
  spendMicros: number;
  spendByDay: { day: number; micros: number }[];
}

export interface AdvertiserReport {
  advertiserId: string;
  period: Period;
  k: number;
  campaigns: CampaignFigures[];
  totals: { impressions: number; spendMicros: number; ivtShare: number };
  /** Server-side (DAI) deliveries per campaign: a separate metric (reports.ts). */
  serverSide?: {
    delivered: number;
    refunded: number;
    groups: Array<{ group: string; delivered: number; refunded: number }>;
  };
}

/**
 * Assembles an advertiser's report from judged beacons and ledger lines (advertiser
 * account lines are negative for spend). Reach and frequency are suppressed below k.
 */
export function buildAdvertiserReport(data: {
  advertiserId: string;
  period: Period;
  adEvents: readonly AdEventRow[];
  spend: readonly { group: string; day: number; micros: number }[];
  k?: number;
}): AdvertiserReport {
  const k = data.k ?? defaultK;
  const campaignIds = [
    ...new Set([...data.adEvents.map((r) => r.campaignId), ...data.spend.map((s) => s.group)]),
  ].sort();
  const campaigns = campaignIds.map((campaignId): CampaignFigures => {
    const rows = data.adEvents.filter((r) => r.campaignId === campaignId);
    const d = adDelivery(rows);
    const byDay = new Map<number, number>();
    for (const r of rows) {
      if (r.event === 'impression' && r.reason === null && !r.decisionInvalid) {
        const day = utcDay(r.receivedAt) * dayMs;
        byDay.set(day, (byDay.get(day) ?? 0) + 1);
      }
    }
    const spend = data.spend.filter((s) => s.group === campaignId);
    return {
      campaignId,
      delivery: suppressedDelivery(d, k),
      impressionsByDay: [...byDay]
        .sort((a, b) => a[0] - b[0])
        .map(([day, impressions]) => ({ day, impressions })),
      spendMicros: -spend.reduce((s, x) => s + x.micros, 0),
      spendByDay: spend.map((s) => ({ day: s.day * dayMs, micros: -s.micros })),
    };
  });
  const all = adDelivery(data.adEvents);
  return {
    advertiserId: data.advertiserId,
    period: data.period,
    k,
    campaigns,
    totals: {
      impressions: all.impressions,
      spendMicros: campaigns.reduce((s, c) => s + c.spendMicros, 0),
      ivtShare: all.ivtShare,
    },
  };
}
