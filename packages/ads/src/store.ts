/**
 * The ad server's state in memory: the model (advertisers ... creatives) and the delivery
 * counters the policies read. One process owns it; decisions are synchronous against it,
 * so two concurrent requests can never both take the last impression of a budget.
 *
 * Delivery has three parts (docs/ads.md "Delivery, budgets and caps"):
 * - **decisions** (`hourlyOf`): ads served, each reserving its price (CPM/1000) when made;
 * - **measured** (`measuredOf`, `measuredHourlyOf`): what measurement verified and the
 *   ledger charged, fed back as {@link MeasuredDelivery} events (`applyMeasured`);
 * - **reservations**: decisions not yet measured whose token has not expired. When the
 *   token expires unmeasured, its reservation is released (`releaseExpired`); its place in
 *   the listener's frequency cap already after `capHoldMs`.
 * The policies (budgets, pacing, caps) read `delivery`/`campaignSpend` = measured +
 * open reservations: never less than what may still be billed, and no more once tokens
 * expire. Reports show measured figures as impressions and spend, decisions as decisions.
 *
 * Invariants:
 * - the policy counters change only here: `recordImpression` (reserve), `applyMeasured`,
 *   `releaseExpired`, and the restore functions;
 * - `candidates()` is rebuilt lazily after any model change; the delivery objects inside it
 *   are the live counters (read-only to the policy).
 */

import { InventoryLog } from './availability.ts';
import { capHorizonMs } from './frequency-caps.ts';
import {
  type Advertiser,
  type Campaign,
  type CampaignSpend,
  type Creative,
  epochDay,
  hourMs,
  type LineItem,
  type LineItemDelivery,
  priorityRank,
} from './model.ts';
import { type Candidate, type PodRequest, type PodView, staticallyEligible } from './select-pod.ts';
import type { MeasuredDelivery } from './tracking-contract.ts';

const minuteMs = 60_000;
/** Default decision token lifetime (the plugin's `tokenTtlMs` default): reservations last as long. */
export const defaultReservationMs = 6 * hourMs;
/** Default cap hold of an unmeasured decision (see `AdsStore.capHoldMs`). */
export const defaultCapHoldMs = 10 * 60_000;

/** Decisions of one line item made in one minute, not yet measured or expired. */
interface Reservation {
  lineItemId: string;
  campaignId: string;
  /** Epoch day the decisions were made (daily budgets). */
  day: number;
  n: number;
  spendMilliMicros: number;
  /** The latest expiry of the tokens in it: released then. */
  expiresAt: number;
}

/** One capped impression time still waiting for measurement. */
interface PendingSeen {
  listenerId: string;
  lineItemId: string;
  time: number;
  expiresAt: number;
  measured: boolean;
}

export interface HourDelivery {
  impressions: number;
  spendMilliMicros: number;
}

export class AdsStore implements PodView {
  readonly advertisers = new Map<string, Advertiser>();
  readonly campaigns = new Map<string, Campaign>();
  readonly lineItems = new Map<string, LineItem>();
  readonly creatives = new Map<string, Creative>();
  /** Breaks asked to fill, by hour and request shape: availability for booking. */
  readonly inventory = new InventoryLog();
  private readonly delivery = new Map<string, LineItemDelivery>();
  private readonly spend = new Map<string, CampaignSpend>();
  /** lineItemId -> hour number (epoch hours) -> delivery in that hour. */
  private readonly hourly = new Map<string, Map<number, HourDelivery>>();
  /** lineItemId -> hour -> measured delivery (spend = charged micros x 1000). */
  private readonly measuredHourly = new Map<string, Map<number, HourDelivery>>();
  /** `${lineItemId}\u0000${hour}` -> what this process has written of `hourly` (takeHourlyDeltas). */
  private readonly writtenHourly = new Map<string, HourDelivery>();
  private readonly measured = new Map<string, LineItemDelivery>();
  /** `${lineItemId}\u0000${minute}` -> open reservation; insertion order is expiry order. */
  private readonly reservations = new Map<string, Reservation>();
  /** Capped impression times awaiting measurement, keyed by listener, line item and time. */
  private readonly pendingSeen = new Map<string, PendingSeen>();
  /** Lifetime of a reservation when the caller gives no token expiry. */
  reservationMs = defaultReservationMs;
  /**
   * How long an unmeasured decision holds its place in the listener's frequency cap. Shorter
   * than a token: a player asks for a break's ads just before it plays (a pre-roll on the
   * listener's first sign of intent, a mid-roll seconds ahead), so a decision unplayed after
   * this long was most likely abandoned (page closed), and the listener should not lose a cap
   * place for hours. Measured impressions count for the cap's whole period.
   */
  capHoldMs = defaultCapHoldMs;
  /** listenerId -> lineItemId -> impression times (only as long as a cap needs them). */
  private readonly seenBy = new Map<string, Map<string, number[]>>();
  /** (listener, line item) pairs whose cap memory changed since the last flush. */
  private changedSeen = new Map<string, { listenerId: string; lineItemId: string }>();
  private cached: Candidate[] | null = null;
  /** Candidates by the static part of a request (see `eligibleFor`); emptied on any model change. */
  private readonly byRequestShape = new Map<string, Candidate[]>();

  putAdvertiser(a: Advertiser): void {
    this.advertisers.set(a.id, a);
  }
  putCampaign(c: Campaign): void {
    this.campaigns.set(c.id, c);
    this.modelChanged();
  }
  putLineItem(li: LineItem): void {
    this.lineItems.set(li.id, li);
    this.modelChanged();
  }
  putCreative(c: Creative): void {
    this.creatives.set(c.id, c);
    this.modelChanged();
  }

  private modelChanged(): void {
    this.cached = null;
    this.byRequestShape.clear();
  }

  /**
   * The candidates that pass the checks that depend only on the model and the request's
   * shape (not on time, delivery or the listener): not paused, targeting other than
   * day-parts, and a playable creative. Requests of one shape (show, language, categories,
   * media kind, break position and length, country, device) share the list, so a request
   * with 1,000 line items walks only those that could serve it. The list is in priority
   * order, highest class first, so selectPod can stop at a class that cannot place.
   */
  eligibleFor(req: PodRequest): readonly Candidate[] {
    const e = req.episode;
    const b = req.adBreak;
    const key = `${e.showId}\u0000${e.language}\u0000${e.categories.join('\u0001')}\u0000${e.mediaKind}\u0000${b.position}\u0000${b.maxDurationMs}\u0000${req.country}\u0000${req.device}`;
    let list = this.byRequestShape.get(key);
    if (!list) {
      // Bounded: shapes are few in practice; a flood of odd ones only costs rebuilding.
      if (this.byRequestShape.size >= 10_000) this.byRequestShape.clear();
      list = this.candidates()
        .filter((c) => staticallyEligible(c, req))
        .sort((a, b) => priorityRank[b.lineItem.priority] - priorityRank[a.lineItem.priority]);
      this.byRequestShape.set(key, list);
    }
    return list;
  }

  deliveryOf(lineItemId: string): LineItemDelivery {
    let d = this.delivery.get(lineItemId);
    if (!d) {
      d = { impressions: 0, spendMilliMicros: 0 };
      this.delivery.set(lineItemId, d);
    }
    return d;
  }

  spendOf(campaignId: string): CampaignSpend {
    let s = this.spend.get(campaignId);
    if (!s) {
      s = { spendMilliMicros: 0, today: { day: 0, spendMilliMicros: 0 } };
      this.spend.set(campaignId, s);
    }
    return s;
  }

  hourlyOf(lineItemId: string): ReadonlyMap<number, HourDelivery> {
    return this.hourly.get(lineItemId) ?? new Map();
  }

  /** Line items whose campaign exists, with their creatives and live counters. */
  candidates(): readonly Candidate[] {
    if (this.cached) return this.cached;
    const out: Candidate[] = [];
    for (const li of this.lineItems.values()) {
      const campaign = this.campaigns.get(li.campaignId);
      if (!campaign) continue;
      const creatives = li.creativeIds.map((id) => this.creatives.get(id)).filter((c): c is Creative => !!c);
      out.push({
        lineItem: li,
        campaign,
        creatives,
        delivery: this.deliveryOf(li.id),
        campaignSpend: this.spendOf(campaign.id),
      });
    }
    this.cached = out;
    return out;
  }

  /**
   * With shared delivery (shared-delivery.ts): the line item's delivery as every process
   * counted it, read just before a decision. The counter object stays the same (candidates
   * hold it); this process's own changes apply on top until the next read.
   */
  useSharedDelivery(lineItemId: string, d: LineItemDelivery): void {
    const own = this.deliveryOf(lineItemId);
    own.impressions = d.impressions;
    own.spendMilliMicros = d.spendMilliMicros;
  }

  /** With shared delivery: the campaign's total spend and its spend today as every process counted them. */
  useSharedCampaignSpend(campaignId: string, spendMilliMicros: number, today: CampaignSpend['today']): void {
    const s = this.spendOf(campaignId);
    s.spendMilliMicros = spendMilliMicros;
    s.today = { ...today };
  }

  /** With shared delivery: the listener's impression times of a line item, as Redis has them. */
  useSharedSeen(listenerId: string, lineItemId: string, times: readonly number[]): void {
    let byItem = this.seenBy.get(listenerId);
    if (times.length === 0) {
      byItem?.delete(lineItemId);
      if (byItem?.size === 0) this.seenBy.delete(listenerId);
      return;
    }
    if (!byItem) {
      byItem = new Map();
      this.seenBy.set(listenerId, byItem);
    }
    byItem.set(lineItemId, [...times]);
  }

  seen(listenerId: string, lineItemId: string): readonly number[] {
    return this.seenBy.get(listenerId)?.get(lineItemId) ?? [];
  }

  /** Measured delivery of a line item (what the ledger charged, net of refunds). */
  measuredOf(lineItemId: string): LineItemDelivery {
    return this.measured.get(lineItemId) ?? { impressions: 0, spendMilliMicros: 0 };
  }

  measuredHourlyOf(lineItemId: string): ReadonlyMap<number, HourDelivery> {
    return this.measuredHourly.get(lineItemId) ?? new Map();
  }

  /** Open reservations of a line item: decisions neither measured nor expired. */
  reservedOf(lineItemId: string): LineItemDelivery {
    const out = { impressions: 0, spendMilliMicros: 0 };
    for (const r of this.reservations.values()) {
      if (r.lineItemId !== lineItemId) continue;
      out.impressions += r.n;
      out.spendMilliMicros += r.spendMilliMicros;
    }
    return out;
  }

  /** Moves the policy counters of a line item (and its campaign's spend on `day`). */
  private adjust(li: LineItem, day: number, impressions: number, spendMilliMicros: number): void {
    const d = this.deliveryOf(li.id);
    d.impressions += impressions;
    d.spendMilliMicros += spendMilliMicros;
    const s = this.spendOf(li.campaignId);
    s.spendMilliMicros += spendMilliMicros;
    if (s.today.day === day) s.today.spendMilliMicros += spendMilliMicros;
    else if (s.today.day < day) s.today = { day, spendMilliMicros };
  }

  /**
   * Counts one decision (a served ad) against its line item, campaign budgets and the
   * listener's caps, as a reservation that lasts until `expiresAt` (its token's expiry)
   * unless measurement reports it delivered first.
   */
  recordImpression(
    lineItemId: string,
    listenerId: string | null,
    now: number,
    expiresAt: number = now + this.reservationMs,
  ): void {
    const li = this.lineItems.get(lineItemId);
    if (!li) throw new Error(`unknown line item ${lineItemId}`);
    const price = li.cpmMicros;
    const day = epochDay(now);
    this.adjust(li, day, 1, price);
    const rk = `${li.id}\u0000${Math.floor(now / minuteMs)}`;
    const r = this.reservations.get(rk);
    if (r) {
      r.n += 1;
      r.spendMilliMicros += price;
      r.expiresAt = Math.max(r.expiresAt, expiresAt);
    } else {
      this.reservations.set(rk, {
        lineItemId: li.id,
        campaignId: li.campaignId,
        day,
        n: 1,
        spendMilliMicros: price,
        expiresAt,
      });
    }
    let hours = this.hourly.get(li.id);
    if (!hours) {
      hours = new Map();
      this.hourly.set(li.id, hours);
    }
    const h = Math.floor(now / hourMs);
    const hd = hours.get(h) ?? { impressions: 0, spendMilliMicros: 0 };
    hd.impressions += 1;
    hd.spendMilliMicros += price;
    hours.set(h, hd);
    if (listenerId && li.caps.length > 0) {
      this.addSeen(listenerId, li, now, now);
      this.pendingSeen.set(`${listenerId}\u0000${li.id}\u0000${now}`, {
        listenerId,
        lineItemId: li.id,
        time: now,
        expiresAt: Math.min(expiresAt, now + this.capHoldMs),
        measured: false,
      });
    }
  }

  private addSeen(listenerId: string, li: LineItem, time: number, now: number): void {
    let byItem = this.seenBy.get(listenerId);
    if (!byItem) {
      byItem = new Map();
      this.seenBy.set(listenerId, byItem);
    }
    const horizon = capHorizonMs(li.caps);
    const kept = (byItem.get(li.id) ?? []).filter((t) => t > now - horizon);
    kept.push(time);
    byItem.set(li.id, kept);
    this.changedSeen.set(`${listenerId}\u0000${li.id}`, { listenerId, lineItemId: li.id });
  }

  private removeSeen(listenerId: string, lineItemId: string, time: number): void {
    const times = this.seenBy.get(listenerId)?.get(lineItemId);
    if (!times) return;
    const i = times.indexOf(time);
    if (i < 0) return;
    times.splice(i, 1);
    this.changedSeen.set(`${listenerId}\u0000${lineItemId}`, { listenerId, lineItemId });
  }

  /**
   * Applies one measured delivery or refund (the caller makes it idempotent by its id). A
   * delivery turns its decision's reservation into measured delivery at the charged price;
   * one whose reservation is gone (expired, or made before a restart) is added outright.
   * Returns false for an unknown line item (deleted since), which changes nothing.
   */
  applyMeasured(m: MeasuredDelivery): boolean {
    const li = this.lineItems.get(m.lineItemId);
    if (!li) return false;
    const charged = m.chargedMicros * 1000;
    const day = epochDay(m.issuedAt);
    const sign = m.kind === 'delivered' ? 1 : -1;
    if (m.kind === 'delivered') {
      const r =
        this.reservations.get(`${li.id}\u0000${Math.floor(m.issuedAt / minuteMs)}`) ??
        this.reservations.get(
          `${li.id}\u0000${Math.floor((Math.floor(m.issuedAt / hourMs) * hourMs) / minuteMs)}:restored`,
        );
      if (r && r.n > 0) {
        r.n -= 1;
        r.spendMilliMicros -= m.cpmMicros;
        this.adjust(li, r.day, -1, -m.cpmMicros);
      }
      if (m.listenerId && li.caps.length > 0) {
        const p = this.pendingSeen.get(`${m.listenerId}\u0000${li.id}\u0000${m.issuedAt}`);
        if (p) p.measured = true;
        else if (!(this.seenBy.get(m.listenerId)?.get(li.id) ?? []).includes(m.issuedAt))
          this.addSeen(m.listenerId, li, m.issuedAt, m.time);
      }
    }
    this.adjust(li, day, sign, sign * charged);
    const total = this.measured.get(li.id) ?? { impressions: 0, spendMilliMicros: 0 };
    total.impressions += sign;
    total.spendMilliMicros += sign * charged;
    this.measured.set(li.id, total);
    let hours = this.measuredHourly.get(li.id);
    if (!hours) {
      hours = new Map();
      this.measuredHourly.set(li.id, hours);
    }
    const h = Math.floor(m.time / hourMs);
    const hd = hours.get(h) ?? { impressions: 0, spendMilliMicros: 0 };
    hd.impressions += sign;
    hd.spendMilliMicros += sign * charged;
    hours.set(h, hd);
    return true;
  }

  /**
   * Releases the reservations whose tokens expired unmeasured by `now`: their price goes
   * back to the budgets and pacing, and their cap times stop counting. Cheap when nothing
   * expired (reservations are kept in expiry order), so the decider calls it every request.
   */
  releaseExpired(now: number): void {
    for (const [k, r] of this.reservations) {
      if (r.expiresAt > now) break;
      this.reservations.delete(k);
      const li = this.lineItems.get(r.lineItemId);
      if (li && r.n > 0) this.adjust(li, r.day, -r.n, -r.spendMilliMicros);
    }
    for (const [k, p] of this.pendingSeen) {
      if (p.expiresAt > now) break;
      this.pendingSeen.delete(k);
      if (!p.measured) this.removeSeen(p.listenerId, p.lineItemId, p.time);
    }
  }

  /**
   * The cap memory changed since the last call, with when it stops mattering (the last
   * impression plus the longest cap period); the caller persists it (persistence.ts).
   */
  takeChangedSeen(): Array<{ listenerId: string; lineItemId: string; times: number[]; expiresAt: number }> {
    const out = [];
    for (const { listenerId, lineItemId } of this.changedSeen.values()) {
      const times = this.seenBy.get(listenerId)?.get(lineItemId);
      const li = this.lineItems.get(lineItemId);
      if (!times || times.length === 0 || !li) continue;
      out.push({
        listenerId,
        lineItemId,
        times: [...times],
        expiresAt: Math.max(...times) + capHorizonMs(li.caps),
      });
    }
    this.changedSeen = new Map();
    return out;
  }

  /** Puts back pairs whose flush failed, so the next flush writes them. */
  markSeenChanged(pairs: ReadonlyArray<{ listenerId: string; lineItemId: string }>): void {
    for (const p of pairs) this.changedSeen.set(`${p.listenerId}\u0000${p.lineItemId}`, p);
  }

  /** Puts back one listener's impression times of a line item read from storage. */
  restoreSeen(listenerId: string, lineItemId: string, times: readonly number[], now: number): void {
    const li = this.lineItems.get(lineItemId);
    if (!li || li.caps.length === 0) return;
    const horizon = capHorizonMs(li.caps);
    const kept = times.filter((t) => Number.isFinite(t) && t > now - horizon && t <= now);
    if (kept.length === 0) return;
    let byItem = this.seenBy.get(listenerId);
    if (!byItem) {
      byItem = new Map();
      this.seenBy.set(listenerId, byItem);
    }
    byItem.set(lineItemId, kept);
  }

  /**
   * Puts back one hour of decisions read from storage (see persistence.ts). Reservations
   * are rebuilt from these by `restoreReservations` once measured delivery is back.
   */
  restoreHour(lineItemId: string, hour: number, d: HourDelivery): void {
    const li = this.lineItems.get(lineItemId);
    if (!li) return;
    let hours = this.hourly.get(li.id);
    if (!hours) {
      hours = new Map();
      this.hourly.set(li.id, hours);
    }
    hours.set(hour, { ...d });
    this.writtenHourly.set(`${li.id}\u0000${hour}`, { ...d });
  }

  /**
   * After a restart: the decisions of the hours whose tokens may still be open, less those
   * measured since (`measuredByIssueHour`: line item -> hour -> count and CPM sum), become
   * one reservation per hour, released when the hour's last token expires.
   */
  restoreReservations(
    measuredByIssueHour: ReadonlyMap<string, ReadonlyMap<number, HourDelivery>>,
    now: number,
  ): void {
    const open: Array<Reservation & { hour: number }> = [];
    for (const [lineItemId, hours] of this.hourly) {
      const li = this.lineItems.get(lineItemId);
      if (!li) continue;
      for (const [hour, d] of hours) {
        const expiresAt = (hour + 1) * hourMs + this.reservationMs;
        if (expiresAt <= now) continue;
        const m = measuredByIssueHour.get(lineItemId)?.get(hour) ?? { impressions: 0, spendMilliMicros: 0 };
        const n = d.impressions - m.impressions;
        const spend = d.spendMilliMicros - m.spendMilliMicros;
        if (n <= 0) continue;
        open.push({
          lineItemId,
          campaignId: li.campaignId,
          day: epochDay(hour * hourMs),
          n,
          spendMilliMicros: Math.max(0, spend),
          expiresAt,
          hour,
        });
      }
    }
    open.sort((a, b) => a.expiresAt - b.expiresAt);
    for (const r of open) {
      const li = this.lineItems.get(r.lineItemId) as LineItem;
      this.reservations.set(`${r.lineItemId}\u0000${Math.floor((r.hour * hourMs) / minuteMs)}:restored`, r);
      this.adjust(li, r.day, r.n, r.spendMilliMicros);
    }
  }

  /**
   * The decisions per line item and hour this process made since its last write (or its
   * start, where `restoreHour` read the stored totals): the writes add them, so N processes
   * deciding in one hour add up instead of overwriting each other's counts.
   */
  takeHourlyDeltas(): Array<{ lineItemId: string; hour: number } & HourDelivery> {
    const out = this.unwrittenHourly();
    for (const x of out) {
      const d = this.hourly.get(x.lineItemId)!.get(x.hour)!;
      this.writtenHourly.set(`${x.lineItemId}\u0000${x.hour}`, { ...d });
    }
    return out;
  }

  private turn: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` after every earlier caller's `fn` settled. A flush (which takes the deltas, then
   * writes them) and the shared report (which reads the stored hours, then the deltas not
   * taken) take turns, so the report never sees deltas both written and unwritten, or neither.
   */
  hourlyTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => {});
    return run;
  }

  /** The decisions `takeHourlyDeltas` would take now, left in place (for the shared report). */
  unwrittenHourly(): Array<{ lineItemId: string; hour: number } & HourDelivery> {
    const out = [];
    for (const [lineItemId, hours] of this.hourly) {
      for (const [hour, d] of hours) {
        const w = this.writtenHourly.get(`${lineItemId}\u0000${hour}`) ?? {
          impressions: 0,
          spendMilliMicros: 0,
        };
        const impressions = d.impressions - w.impressions;
        const spendMilliMicros = d.spendMilliMicros - w.spendMilliMicros;
        if (impressions === 0 && spendMilliMicros === 0) continue;
        out.push({ lineItemId, hour, impressions, spendMilliMicros });
      }
    }
    return out;
  }

  /** Deltas whose write failed: written again next time. */
  putBackHourlyDeltas(deltas: ReadonlyArray<{ lineItemId: string; hour: number } & HourDelivery>): void {
    for (const x of deltas) {
      const key = `${x.lineItemId}\u0000${x.hour}`;
      const w = this.writtenHourly.get(key);
      if (!w) continue;
      w.impressions -= x.impressions;
      w.spendMilliMicros -= x.spendMilliMicros;
    }
  }

  /** Drops impression times no cap can need any more (call now and then). */
  pruneSeen(now: number): void {
    for (const [listener, byItem] of this.seenBy) {
      for (const [itemId, times] of byItem) {
        const li = this.lineItems.get(itemId);
        const horizon = li ? capHorizonMs(li.caps) : 0;
        const kept = times.filter((t) => t > now - horizon);
        if (kept.length === 0) byItem.delete(itemId);
        else byItem.set(itemId, kept);
      }
      if (byItem.size === 0) this.seenBy.delete(listener);
    }
  }
}
