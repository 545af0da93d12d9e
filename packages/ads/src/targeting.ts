/**
 * Targeting: does a line item's targeting admit this request? Rules (all must hold; an
 * absent or empty list admits everything):
 * - show: the episode's show id is listed;
 * - category: one of the episode's categories is listed (case-insensitive);
 * - language: a listed tag equals the episode language or is its prefix ("de" admits "de-CH");
 * - position: the break's position (pre/mid/post) is listed;
 * - country: the request's country (from the operator's header) is listed; an unknown
 *   country never matches a country list;
 * - device: the request's device class is listed;
 * - day-part: the request instant falls in one listed window (UTC day of week and hour).
 */
import type { BreakPosition } from '@swarmcast/catalog';
import type { DayPart, DeviceClass, Targeting } from './model.ts';

export interface TargetingContext {
  showId: string;
  categories: readonly string[];
  language: string;
  position: BreakPosition;
  country: string | null;
  device: DeviceClass;
  now: number;
}

const some = <T>(list: readonly T[] | undefined): list is readonly T[] =>
  list !== undefined && list.length > 0;

export function matchesTargeting(t: Targeting, ctx: TargetingContext): boolean {
  if (some(t.showIds) && !t.showIds.includes(ctx.showId)) return false;
  if (some(t.categories) && !anyCategory(t.categories, ctx.categories)) return false;
  if (some(t.languages) && !t.languages.some((l) => languageMatches(l, ctx.language))) return false;
  if (some(t.positions) && !t.positions.includes(ctx.position)) return false;
  if (some(t.countries) && (ctx.country === null || !t.countries.includes(ctx.country))) return false;
  if (some(t.devices) && !t.devices.includes(ctx.device)) return false;
  if (some(t.dayParts) && !t.dayParts.some((d) => inDayPart(d, ctx.now))) return false;
  return true;
}

function anyCategory(wanted: readonly string[], have: readonly string[]): boolean {
  for (const w of wanted) {
    for (const h of have) if (w === h || w.toLowerCase() === h.toLowerCase()) return true;
  }
  return false;
}

function languageMatches(wanted: string, language: string): boolean {
  const w = wanted.toLowerCase();
  const l = language.toLowerCase();
  return l === w || l.startsWith(`${w}-`);
}

/** True when `now` (UTC) is on one of the days and in hours [fromHour, toHour); toHour may wrap past midnight. */
export function inDayPart(d: DayPart, now: number): boolean {
  const date = new Date(now);
  const hour = date.getUTCHours();
  const day = date.getUTCDay();
  if (d.fromHour <= d.toHour) return d.days.includes(day) && hour >= d.fromHour && hour < d.toHour;
  // A window like 22-02 belongs to the day it starts on.
  if (hour >= d.fromHour) return d.days.includes(day);
  return hour < d.toHour && d.days.includes((day + 6) % 7);
}
