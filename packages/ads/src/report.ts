/**
 * Delivery reports for the advertiser side: per line item and UTC day, delivered vs the
 * even plan; spend against budgets; pacing status now. Pure over the model and a
 * {@link DeliveryFigures}: the store's own counters in one process, or the figures every
 * process shares (`sharedFigures`, shared-report.ts) when the ad server runs N times.
 *
 * Impressions and spend are **measured** delivery (what measurement verified and the
 * ledger charged, store.ts), so they agree with the measurement report to the micro-unit.
 * Decisions (ads served, whether or not they played) are shown as `decisions`, and the
 * price still held for decisions awaiting measurement as `reservedMicros`.
 */
import { dayMs, epochDay, hourMs, type LineItemDelivery } from './model.ts';
import { pace, plannedAt } from './pacing.ts';
import { flightOf } from './select-pod.ts';
import type { AdsStore, HourDelivery } from './store.ts';

/** The delivery a report shows, per line item (`AdsStore` has them for its own process). */
export interface DeliveryFigures {
  /** Measured impressions and spend (milli-micros), net of refunds. */
  measuredOf(lineItemId: string): LineItemDelivery;
  /** Open reservations: decisions neither measured nor expired, at the line item's price. */
  reservedOf(lineItemId: string): LineItemDelivery;
  /** Decisions per epoch hour. */
  hourlyOf(lineItemId: string): ReadonlyMap<number, HourDelivery>;
  /** Measured delivery per epoch hour of measurement. */
  measuredHourlyOf(lineItemId: string): ReadonlyMap<number, HourDelivery>;
}

export interface DayRow {
  /** ISO date, UTC. */
  date: string;
  /** Ads served that day (each reserves its price until measured or its token expires). */
  decisions: number;
  /** Measured impressions that day. */
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
  decisions: number;
  impressions: number;
  spendMicros: number;
  /** Price held for decisions not yet measured (released when their tokens expire). */
  reservedMicros: number;
  pacing: { status: string; planned: number; delivered: number };
  days: DayRow[];
}

export interface CampaignReport {
  id: string;
  name: string;
  currency: string;
  totalBudgetMicros: number;
  dailyBudgetMicros: number;
  /** Measured spend (what the ledger charged, net of refunds). */
  spendMicros: number;
  reservedMicros: number;
  lineItems: LineItemReport[];
}

export function campaignReport(
  store: AdsStore,
  campaignId: string,
  now: number,
  figures: DeliveryFigures = store,
): CampaignReport | null {
  const campaign = store.campaigns.get(campaignId);
  if (!campaign) return null;
  const lineItems: LineItemReport[] = [];
  for (const c of store.candidates()) {
    if (c.campaign.id !== campaignId) continue;
    const li = c.lineItem;
    const flight = flightOf(c);
    const measured = figures.measuredOf(li.id);
    const reserved = figures.reservedOf(li.id);
    // Pacing as shown is measured delivery against plan (the decider also counts open
    // reservations, so it never runs ahead of what may still be billed).
    const p = pace(li.goal, measured, flight, li.pacing, now, undefined, li.targeting.dayParts);
    const spendGoal = li.goal.kind === 'spend';
    const goalUnits = spendGoal
      ? (li.goal as { micros: number }).micros
      : (li.goal as { impressions: number }).impressions;
    const byDay = new Map<number, { decisions: number; impressions: number; spendMilliMicros: number }>();
    const dayOf = (day: number) => {
      let row = byDay.get(day);
      if (!row) {
        row = { decisions: 0, impressions: 0, spendMilliMicros: 0 };
        byDay.set(day, row);
      }
      return row;
    };
    for (const [hour, d] of figures.hourlyOf(li.id))
      dayOf(epochDay(hour * hourMs)).decisions += d.impressions;
    for (const [hour, d] of figures.measuredHourlyOf(li.id)) {
      const row = dayOf(epochDay(hour * hourMs));
      row.impressions += d.impressions;
      row.spendMilliMicros += d.spendMilliMicros;
    }
    const days: DayRow[] = [];
    for (let day = epochDay(flight.startsAt); day <= epochDay(Math.min(now, flight.endsAt - 1)); day++) {
      const d = byDay.get(day) ?? { decisions: 0, impressions: 0, spendMilliMicros: 0 };
      const planned =
        plannedAt(goalUnits, flight.startsAt, flight.endsAt, (day + 1) * dayMs, li.targeting.dayParts) -
        plannedAt(goalUnits, flight.startsAt, flight.endsAt, day * dayMs, li.targeting.dayParts);
      days.push({
        date: new Date(day * dayMs).toISOString().slice(0, 10),
        decisions: d.decisions,
        impressions: d.impressions,
        spendMicros: Math.floor(d.spendMilliMicros / 1000),
        planned: Math.round(planned),
        delivered: spendGoal ? Math.floor(d.spendMilliMicros / 1000) : d.impressions,
      });
      if (days.length > 400) break;
    }
    const unit = spendGoal ? 1000 : 1;
    let decisions = 0;
    for (const d of figures.hourlyOf(li.id).values()) decisions += d.impressions;
    lineItems.push({
      id: li.id,
      name: li.name,
      priority: li.priority,
      goal: { kind: li.goal.kind, amount: goalUnits },
      decisions,
      impressions: measured.impressions,
      spendMicros: Math.floor(measured.spendMilliMicros / 1000),
      reservedMicros: Math.floor(reserved.spendMilliMicros / 1000),
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
    spendMicros: lineItems.reduce((t, l) => t + l.spendMicros, 0),
    reservedMicros: lineItems.reduce((t, l) => t + l.reservedMicros, 0),
    lineItems,
  };
}
