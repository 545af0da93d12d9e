/**
 * Delivery reports for the advertiser side: per line item and UTC day, delivered vs the
 * even plan; spend against budgets; pacing status now. Pure over the store's counters.
 */
import { dayMs, epochDay, hourMs } from './model.ts';
import { pace, plannedAt } from './pacing.ts';
import { flightOf } from './select-pod.ts';
import type { AdsStore } from './store.ts';

export interface DayRow {
  /** ISO date, UTC. */
  date: string;
  impressions: number;
  spendMicros: number;
  /** What the even plan asked of that day, in the goal's unit (impressions or micros). */
  planned: number;
  /** Delivered that day in the goal's unit. */
  delivered: number;
}

export interface LineItemReport {
  id: string;
  name: string;
  priority: string;
  goal: { kind: 'impressions' | 'spend'; amount: number };
  impressions: number;
  spendMicros: number;
  pacing: { status: string; planned: number; delivered: number };
  days: DayRow[];
}

export interface CampaignReport {
  id: string;
  name: string;
  currency: string;
  totalBudgetMicros: number;
  dailyBudgetMicros: number;
  spendMicros: number;
  lineItems: LineItemReport[];
}

export function campaignReport(store: AdsStore, campaignId: string, now: number): CampaignReport | null {
  const campaign = store.campaigns.get(campaignId);
  if (!campaign) return null;
  const lineItems: LineItemReport[] = [];
  for (const c of store.candidates()) {
    if (c.campaign.id !== campaignId) continue;
    const li = c.lineItem;
    const flight = flightOf(c);
    const p = pace(li.goal, c.delivery, flight, li.pacing, now, undefined, li.targeting.dayParts);
    const spendGoal = li.goal.kind === 'spend';
    const goalUnits = spendGoal
      ? (li.goal as { micros: number }).micros
      : (li.goal as { impressions: number }).impressions;
    const byDay = new Map<number, { impressions: number; spendMilliMicros: number }>();
    for (const [hour, d] of store.hourlyOf(li.id)) {
      const day = epochDay(hour * hourMs);
      const row = byDay.get(day) ?? { impressions: 0, spendMilliMicros: 0 };
      row.impressions += d.impressions;
      row.spendMilliMicros += d.spendMilliMicros;
      byDay.set(day, row);
    }
    const days: DayRow[] = [];
    for (let day = epochDay(flight.startsAt); day <= epochDay(Math.min(now, flight.endsAt - 1)); day++) {
      const d = byDay.get(day) ?? { impressions: 0, spendMilliMicros: 0 };
      const planned =
        plannedAt(goalUnits, flight.startsAt, flight.endsAt, (day + 1) * dayMs, li.targeting.dayParts) -
        plannedAt(goalUnits, flight.startsAt, flight.endsAt, day * dayMs, li.targeting.dayParts);
      days.push({
        date: new Date(day * dayMs).toISOString().slice(0, 10),
        impressions: d.impressions,
        spendMicros: Math.floor(d.spendMilliMicros / 1000),
        planned: Math.round(planned),
        delivered: spendGoal ? Math.floor(d.spendMilliMicros / 1000) : d.impressions,
      });
      if (days.length > 400) break;
    }
    const unit = spendGoal ? 1000 : 1;
    lineItems.push({
      id: li.id,
      name: li.name,
      priority: li.priority,
      goal: { kind: li.goal.kind, amount: goalUnits },
      impressions: c.delivery.impressions,
      spendMicros: Math.floor(c.delivery.spendMilliMicros / 1000),
      pacing: {
        status: p.status,
        planned: Math.round(p.planned / unit),
        delivered: Math.floor(p.delivered / unit),
      },
      days,
    });
  }
  return {
    id: campaign.id,
    name: campaign.name,
    currency: campaign.currency,
    totalBudgetMicros: campaign.totalBudgetMicros,
    dailyBudgetMicros: campaign.dailyBudgetMicros,
    spendMicros: Math.floor(store.spendOf(campaign.id).spendMilliMicros / 1000),
    lineItems,
  };
}
