/**
 * The ad server's state in memory: the model (advertisers ... creatives) and the delivery
 * counters the policies read. One process owns it; decisions are synchronous against it,
 * so two concurrent requests can never both take the last impression of a budget.
 *
 * Invariants:
 * - a campaign's spend only grows through `recordImpression`, which the decider calls only
 *   for slots `selectPod` judged within budget at that same instant;
 * - `candidates()` is rebuilt lazily after any model change; the delivery objects inside it
 *   are the live counters (read-only to the policy).
 * Delivery is counted at decision time (a served ad reserves its price); measurement later
 * decides what is billable, which can only be less.
 */

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
} from './model.ts';
import { type Candidate, type PodRequest, type PodView, staticallyEligible } from './select-pod.ts';

export interface HourDelivery {
  impressions: number;
  spendMilliMicros: number;
}

export class AdsStore implements PodView {
  readonly advertisers = new Map<string, Advertiser>();
  readonly campaigns = new Map<string, Campaign>();
  readonly lineItems = new Map<string, LineItem>();
  readonly creatives = new Map<string, Creative>();
  private readonly delivery = new Map<string, LineItemDelivery>();
  private readonly spend = new Map<string, CampaignSpend>();
  /** lineItemId -> hour number (epoch hours) -> delivery in that hour. */
  private readonly hourly = new Map<string, Map<number, HourDelivery>>();
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
   * with 1,000 line items walks only those that could serve it.
   */
  eligibleFor(req: PodRequest): readonly Candidate[] {
    const e = req.episode;
    const b = req.adBreak;
    const key = `${e.showId}\u0000${e.language}\u0000${e.categories.join('\u0001')}\u0000${e.mediaKind}\u0000${b.position}\u0000${b.maxDurationMs}\u0000${req.country}\u0000${req.device}`;
    let list = this.byRequestShape.get(key);
    if (!list) {
      // Bounded: shapes are few in practice; a flood of odd ones only costs rebuilding.
      if (this.byRequestShape.size >= 10_000) this.byRequestShape.clear();
      list = this.candidates().filter((c) => staticallyEligible(c, req));
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

  seen(listenerId: string, lineItemId: string): readonly number[] {
    return this.seenBy.get(listenerId)?.get(lineItemId) ?? [];
  }

  /** Counts one served ad against its line item, campaign budgets and the listener's caps. */
  recordImpression(lineItemId: string, listenerId: string | null, now: number): void {
    const li = this.lineItems.get(lineItemId);
    if (!li) throw new Error(`unknown line item ${lineItemId}`);
    const price = li.cpmMicros;
    const d = this.deliveryOf(li.id);
    d.impressions += 1;
    d.spendMilliMicros += price;
    const s = this.spendOf(li.campaignId);
    s.spendMilliMicros += price;
    const day = epochDay(now);
    if (s.today.day !== day) s.today = { day, spendMilliMicros: 0 };
    s.today.spendMilliMicros += price;
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
      let byItem = this.seenBy.get(listenerId);
      if (!byItem) {
        byItem = new Map();
        this.seenBy.set(listenerId, byItem);
      }
      const horizon = capHorizonMs(li.caps);
      const kept = (byItem.get(li.id) ?? []).filter((t) => t > now - horizon);
      kept.push(now);
      byItem.set(li.id, kept);
      this.changedSeen.set(`${listenerId}\u0000${li.id}`, { listenerId, lineItemId: li.id });
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

  /** Puts back one hour of delivery read from storage (see persistence.ts). */
  restoreHour(lineItemId: string, hour: number, d: HourDelivery, now: number): void {
    const li = this.lineItems.get(lineItemId);
    if (!li) return;
    let hours = this.hourly.get(li.id);
    if (!hours) {
      hours = new Map();
      this.hourly.set(li.id, hours);
    }
    const prev = hours.get(hour) ?? { impressions: 0, spendMilliMicros: 0 };
    hours.set(hour, d);
    const del = this.deliveryOf(li.id);
    del.impressions += d.impressions - prev.impressions;
    del.spendMilliMicros += d.spendMilliMicros - prev.spendMilliMicros;
    const s = this.spendOf(li.campaignId);
    s.spendMilliMicros += d.spendMilliMicros - prev.spendMilliMicros;
    const today = epochDay(now);
    if (epochDay(hour * hourMs) === today) {
      if (s.today.day !== today) s.today = { day: today, spendMilliMicros: 0 };
      s.today.spendMilliMicros += d.spendMilliMicros - prev.spendMilliMicros;
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
