/**
 * Frequency caps: at most `max` impressions of a line item per listener per sliding
 * `periodMs`. Listeners are known only by the player's random id; a request without one
 * (withheld) cannot be capped, so capped line items do not serve it.
 */
import type { FrequencyCap } from './model.ts';

/** `seen` holds the listener's earlier impression times for this line item, any order. */
export function capsAllow(
  caps: readonly FrequencyCap[],
  listenerId: string | null,
  seen: readonly number[],
  now: number,
): boolean {
  if (caps.length === 0) return true;
  if (listenerId === null) return false;
  for (const cap of caps) {
    let n = 0;
    for (const t of seen) if (t > now - cap.periodMs && t <= now) n++;
    if (n >= cap.max) return false;
  }
  return true;
}

/** How long impression times must be kept to enforce these caps. */
export function capHorizonMs(caps: readonly FrequencyCap[]): number {
  return caps.reduce((m, c) => Math.max(m, c.periodMs), 0);
}
