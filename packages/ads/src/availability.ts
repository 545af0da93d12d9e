/**
 * Availability: how many ad opportunities of the last days a line item's targeting would
 * have matched, shown to an advertiser before booking (the "avails" of Megaphone or GAM
 * forecasting, from our own history rather than a model).
 *
 * Every break the ad server is asked to fill (a known episode and break, filled or not) is
 * counted once per UTC hour under its request shape: show, language, categories, media
 * kind, break position, country and device class. Counting the shape rather than each
 * request keeps the log small (shapes are few) and holds nothing about a listener. A
 * targeting is matched against each shape with the ad server's own rule (targeting.ts); a
 * day-part against the hour. Availability says how often a break was there to fill; it
 * does not promise delivery (other line items, caps, budgets and pacing compete for it).
 */
import type { BreakPosition } from '@swarmcast/catalog';
import type { DeviceClass, Targeting } from './model.ts';
import { matchesTargeting } from './targeting.ts';

const hourMs = 3_600_000;
/** How far back availability looks, and how long the log keeps hours. */
export const availabilityWindowMs = 7 * 86_400_000;

export interface InventoryShape {
  showId: string;
  language: string;
  categories: readonly string[];
  mediaKind: 'audio' | 'video';
  position: BreakPosition;
  country: string | null;
  device: DeviceClass;
}

export interface InventoryRow extends InventoryShape {
  /** Start of the UTC hour, ms since the epoch. */
  hour: number;
  count: number;
}

export interface Availability {
  /** Matching opportunities in the window. */
  opportunities: number;
  /** All opportunities in the window (the share the targeting keeps). */
  total: number;
  /** Matching opportunities per break position. */
  byPosition: Record<BreakPosition, number>;
  /** The window: [from, to) in ms since the epoch. */
  from: number;
  to: number;
}

/** One string per request shape (the log's and the table's key). */
export const inventoryShapeKey = (s: InventoryShape): string =>
  JSON.stringify([s.showId, s.language, s.categories, s.mediaKind, s.position, s.country, s.device]);

export class InventoryLog {
  /** hour -> shape key -> row. */
  private readonly hours = new Map<number, Map<string, InventoryRow>>();
  private readonly changed = new Set<InventoryRow>();
  /**
   * What this process has written of each row: the writes add deltas, so N processes
   * counting one hour's requests add up instead of overwriting each other.
   */
  private readonly written = new WeakMap<InventoryRow, number>();

  record(shape: InventoryShape, now: number, n = 1): void {
    const hour = Math.floor(now / hourMs) * hourMs;
    let rows = this.hours.get(hour);
    if (!rows) {
      rows = new Map();
      this.hours.set(hour, rows);
      this.prune(now);
    }
    const key = inventoryShapeKey(shape);
    let row = rows.get(key);
    if (!row) {
      row = { ...shape, categories: [...shape.categories], hour, count: 0 };
      rows.set(key, row);
    }
    row.count += n;
    this.changed.add(row);
  }

  /** Rows loaded from storage (absolute counts). */
  load(rows: Iterable<InventoryRow>): void {
    for (const r of rows) {
      let hour = this.hours.get(r.hour);
      if (!hour) {
        hour = new Map();
        this.hours.set(r.hour, hour);
      }
      const row = { ...r, categories: [...r.categories] };
      hour.set(inventoryShapeKey(r), row);
      this.written.set(row, row.count);
    }
  }

  /**
   * Rows counted since the last call, each with `count` = what this process counted since
   * its last write (a delta to add to the stored row).
   */
  takeChanged(): InventoryRow[] {
    const out: InventoryRow[] = [];
    for (const r of this.changed) {
      const delta = r.count - (this.written.get(r) ?? 0);
      this.written.set(r, r.count);
      if (delta !== 0) out.push({ ...r, categories: [...r.categories], count: delta });
    }
    this.changed.clear();
    return out;
  }

  /** Puts rows back after a failed write (their deltas are written next time). */
  markChanged(rows: readonly InventoryRow[]): void {
    for (const r of rows) {
      const live = this.hours.get(r.hour)?.get(inventoryShapeKey(r));
      if (!live) continue;
      this.written.set(live, (this.written.get(live) ?? 0) - r.count);
      this.changed.add(live);
    }
  }

  /** What `targeting` would have matched in the window ending at `now`. */
  availability(targeting: Targeting, now: number, windowMs = availabilityWindowMs): Availability {
    const from = now - windowMs;
    const byPosition: Record<BreakPosition, number> = { pre: 0, mid: 0, post: 0 };
    let opportunities = 0;
    let total = 0;
    for (const [hour, rows] of this.hours) {
      if (hour + hourMs <= from || hour > now) continue;
      for (const r of rows.values()) {
        total += r.count;
        if (!matchesTargeting(targeting, { ...r, now: hour })) continue;
        opportunities += r.count;
        byPosition[r.position] += r.count;
      }
    }
    return { opportunities, total, byPosition, from, to: now };
  }

  private prune(now: number): void {
    for (const hour of this.hours.keys())
      if (hour + hourMs <= now - availabilityWindowMs) this.hours.delete(hour);
  }
}
