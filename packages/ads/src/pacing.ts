/**
 * Pacing: even delivery of a line item's goal over its flight.
 *
 * The plan at instant t is `goal * (t - start) / (end - start)`, linear over the flight.
 * An even line item is eligible while `delivered < plan(now + lookahead)`: it never runs
 * more than `lookahead` ahead of plan (no early burn-out) and, whenever inventory exists, it
 * serves until it catches up (no under-delivery). Among eligible items of one priority class
 * the one furthest behind (largest `urgency`) is served first, then the higher price.
 * "asap" items (house ads) skip the plan and serve whenever they have goal left.
 */
import type { Goal, LineItemDelivery } from './model.ts';

export interface PaceSettings {
  /** How far ahead of plan an even line item may run; default two minutes. */
  lookaheadMs: number;
}

export const defaultPaceSettings: PaceSettings = { lookaheadMs: 120_000 };

export type PaceStatus = 'not-started' | 'ahead' | 'on-track' | 'behind' | 'complete' | 'ended';

export interface Pace {
  /** Goal units (impressions, or spend in thousandths of a micro-unit) planned by now. */
  planned: number;
  delivered: number;
  goal: number;
  /** (planned - delivered) / goal: how far behind, as a share of the goal (negative when ahead). */
  urgency: number;
  status: PaceStatus;
  /** May serve one more impression now (budget and caps are checked elsewhere). */
  eligible: boolean;
}

/** The goal and delivery in one unit: impressions, or spend in milli-micros. */
export function goalUnits(goal: Goal, d: LineItemDelivery): { goal: number; delivered: number } {
  return goal.kind === 'impressions'
    ? { goal: goal.impressions, delivered: d.impressions }
    : { goal: goal.micros * 1000, delivered: d.spendMilliMicros };
}

export function plannedAt(goal: number, startsAt: number, endsAt: number, t: number): number {
  if (t <= startsAt) return 0;
  if (t >= endsAt) return goal;
  return (goal * (t - startsAt)) / (endsAt - startsAt);
}

export function pace(
  goal: Goal,
  delivery: LineItemDelivery,
  flight: { startsAt: number; endsAt: number },
  mode: 'even' | 'asap',
  now: number,
  settings: PaceSettings = defaultPaceSettings,
): Pace {
  const u = goalUnits(goal, delivery);
  const planned = plannedAt(u.goal, flight.startsAt, flight.endsAt, now);
  const urgency = u.goal > 0 ? (planned - u.delivered) / u.goal : 0;
  const base = { planned, delivered: u.delivered, goal: u.goal, urgency };
  if (now < flight.startsAt) return { ...base, status: 'not-started', eligible: false };
  if (u.delivered >= u.goal) return { ...base, status: 'complete', eligible: false };
  if (now >= flight.endsAt) return { ...base, status: 'ended', eligible: false };
  const tolerance = Math.max(1, u.goal * 0.02);
  const status: PaceStatus =
    u.delivered > planned + tolerance ? 'ahead' : u.delivered < planned - tolerance ? 'behind' : 'on-track';
  if (mode === 'asap') return { ...base, status, eligible: true };
  const ceiling = plannedAt(u.goal, flight.startsAt, flight.endsAt, now + settings.lookaheadMs);
  return { ...base, status, eligible: u.delivered < ceiling };
}
