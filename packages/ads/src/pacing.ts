/**
 * Pacing: even delivery of a line item's goal over its flight.
 *
 * The plan at instant t is `goal * (t - start) / (end - start)`, linear over the flight.
 * An even line item is eligible while `delivered < plan(now + lookahead)`: it never runs
 * more than `lookahead` ahead of plan (no early burn-out) and, whenever inventory exists, it
 * serves until it catches up (no under-delivery). Among eligible items of one priority class
 * the one furthest behind (largest `urgency`) is served first, then the higher price.
 * "asap" items (house ads) skip the plan and serve whenever they have goal left.
 * A day-parted item plans over its active hours only: the plan grows while a window is
 * open and stands still while it is shut, so a morning-only item can still meet its goal.
 */
import { type DayPart, type Goal, hourMs, type LineItemDelivery } from './model.ts';
import { inDayPart } from './targeting.ts';

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
  return {
    goal: goalTotal(goal),
    delivered: goal.kind === 'impressions' ? d.impressions : d.spendMilliMicros,
  };
}

/** The goal in its unit: impressions, or spend in milli-micros. */
export function goalTotal(goal: Goal): number {
  return goal.kind === 'impressions' ? goal.impressions : goal.micros * 1000;
}

/**
 * The pacing rule, in one place: a line item inside its flight may serve one more while its
 * delivered units are below this ceiling: the goal (asap), or the plan a lookahead ahead (even;
 * never above the goal). `pace`, `paceUrgency` and the shared claim (shared-delivery.ts) all
 * ask it.
 */
export function paceCeiling(
  total: number,
  startsAt: number,
  endsAt: number,
  mode: 'even' | 'asap',
  now: number,
  settings: PaceSettings,
  dayParts?: readonly DayPart[],
): number {
  return mode === 'even' ? plannedAt(total, startsAt, endsAt, now + settings.lookaheadMs, dayParts) : total;
}

export function plannedAt(
  goal: number,
  startsAt: number,
  endsAt: number,
  t: number,
  dayParts?: readonly DayPart[],
): number {
  if (t <= startsAt) return 0;
  if (t >= endsAt) return goal;
  if (!dayParts || dayParts.length === 0) return (goal * (t - startsAt)) / (endsAt - startsAt);
  const total = activeMs(dayParts, startsAt, endsAt, endsAt);
  return total > 0 ? (goal * activeMs(dayParts, startsAt, endsAt, t)) / total : 0;
}

/** Per day-part list and flight: cumulative active ms at each hour boundary from the flight start. */
const activeCache = new WeakMap<
  readonly DayPart[],
  { startsAt: number; endsAt: number; cum: Float64Array }
>();
const maxPlannedHours = 24 * 800;

/** Milliseconds in [startsAt, t) when one of the day-parts is open (day-parts are whole UTC hours). */
function activeMs(dayParts: readonly DayPart[], startsAt: number, endsAt: number, t: number): number {
  let c = activeCache.get(dayParts);
  if (!c || c.startsAt !== startsAt || c.endsAt !== endsAt) {
    const hours = Math.min(maxPlannedHours, Math.ceil((endsAt - startsAt) / hourMs));
    const cum = new Float64Array(hours + 1);
    for (let i = 0; i < hours; i++) {
      const from = startsAt + i * hourMs;
      const to = Math.min(endsAt, from + hourMs);
      cum[i + 1] = cum[i]! + (isOpen(dayParts, from, to) ? to - from : 0);
    }
    c = { startsAt, endsAt, cum };
    activeCache.set(dayParts, c);
  }
  const i = Math.min(c.cum.length - 1, Math.floor((t - startsAt) / hourMs));
  const from = startsAt + i * hourMs;
  const partial = i < c.cum.length - 1 && isOpen(dayParts, from, from + 1) ? t - from : 0;
  return c.cum[i]! + partial;
}

/** Open during the hour starting at `from` (flights may start mid-hour: test the middle too). */
function isOpen(dayParts: readonly DayPart[], from: number, to: number): boolean {
  const mid = from + Math.floor((to - from) / 2);
  return dayParts.some((d) => inDayPart(d, from) || inDayPart(d, mid));
}

export function pace(
  goal: Goal,
  delivery: LineItemDelivery,
  flight: { startsAt: number; endsAt: number },
  mode: 'even' | 'asap',
  now: number,
  settings: PaceSettings = defaultPaceSettings,
  dayParts?: readonly DayPart[],
): Pace {
  const u = goalUnits(goal, delivery);
  const planned = plannedAt(u.goal, flight.startsAt, flight.endsAt, now, dayParts);
  const urgency = u.goal > 0 ? (planned - u.delivered) / u.goal : 0;
  const base = { planned, delivered: u.delivered, goal: u.goal, urgency };
  if (now < flight.startsAt) return { ...base, status: 'not-started', eligible: false };
  if (u.delivered >= u.goal) return { ...base, status: 'complete', eligible: false };
  if (now >= flight.endsAt) return { ...base, status: 'ended', eligible: false };
  const tolerance = Math.max(1, u.goal * 0.02);
  const status: PaceStatus =
    u.delivered > planned + tolerance ? 'ahead' : u.delivered < planned - tolerance ? 'behind' : 'on-track';
  const ceiling = paceCeiling(u.goal, flight.startsAt, flight.endsAt, mode, now, settings, dayParts);
  return { ...base, status, eligible: u.delivered < ceiling };
}

/**
 * The hot-path form of `pace` for the decision loop: the urgency when an item may serve one
 * more impression now, NaN when it may not. Same rules as `pace`, no allocation.
 */
export function paceUrgency(
  goal: Goal,
  delivery: LineItemDelivery,
  startsAt: number,
  endsAt: number,
  mode: 'even' | 'asap',
  now: number,
  settings: PaceSettings,
  dayParts?: readonly DayPart[],
): number {
  const total = goalTotal(goal);
  const delivered = goal.kind === 'impressions' ? delivery.impressions : delivery.spendMilliMicros;
  if (now < startsAt || now >= endsAt || delivered >= total) return Number.NaN;
  if (!(delivered < paceCeiling(total, startsAt, endsAt, mode, now, settings, dayParts))) return Number.NaN;
  return total > 0 ? (plannedAt(total, startsAt, endsAt, now, dayParts) - delivered) / total : 0;
}
