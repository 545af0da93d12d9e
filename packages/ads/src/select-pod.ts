/**
 * The decision policy: which ads fill one break. Pure; the caller supplies the read-only
 * view of the inventory, the request and the clock reading.
 *
 * 1. Eligibility, per line item: not paused (nor its campaign); inside both flights;
 *    targeting admits the request; frequency caps allow this listener; the campaign's total
 *    and daily budgets and a spend goal have room for one more impression at its price;
 *    pacing allows one more (see pacing.ts); at least one approved creative of the
 *    episode's media kind exists.
 * 2. Order: priority class (sponsorship > standard > house), then pacing urgency (furthest
 *    behind plan first), then price (higher CPM first), then id (deterministic).
 * 3. Pod: walk that order, taking a line item when one of its creatives fits the time left
 *    in the break, the pod has fewer than `maxAds`, no ad in the pod shares a competitive
 *    category with it, its campaign is not already in the pod, and it is not a house ad
 *    after a paid one (house ads fill a break nobody paid for; they never pad a paid pod).
 *
 * The time a break may fill is its allowance under the episode's ad load (ad-load.ts:
 * all breaks together at most max(30 s, 25 % of the content)), not only what the creator
 * marked.
 */
import type { AdBreak, EpisodeForAds } from '@swarmcast/catalog';
import { boundedBreak } from './ad-load.ts';
import { capsAllow } from './frequency-caps.ts';
import {
  type Campaign,
  type CampaignSpend,
  type Creative,
  type DeviceClass,
  epochDay,
  type LineItem,
  type LineItemDelivery,
  priorityRank,
} from './model.ts';
import { defaultPaceSettings, type PaceSettings, pace, paceUrgency } from './pacing.ts';
import { inDayPart, matchesTargeting, type TargetingContext } from './targeting.ts';

/** A line item with everything the policy needs to judge it. */
export interface Candidate {
  lineItem: LineItem;
  campaign: Campaign;
  /** The line item's creatives (any approval state; the policy filters). */
  creatives: readonly Creative[];
  delivery: LineItemDelivery;
  campaignSpend: CampaignSpend;
}

export interface PodRequest {
  episode: EpisodeForAds;
  adBreak: AdBreak;
  listenerId: string | null;
  country: string | null;
  device: DeviceClass;
  now: number;
}

export interface PodSlot {
  candidate: Candidate;
  creative: Creative;
  /** 1-based. */
  sequence: number;
}

export interface PodView {
  candidates(): readonly Candidate[];
  /**
   * Optional index: the candidates passing `staticallyEligible` for this request (its break
   * already cut to the episode's ad load by selectPod), highest priority class first. When
   * given, selectPod walks only these, skips the static checks and stops at the first class
   * that cannot place.
   */
  eligibleFor?(req: PodRequest): readonly Candidate[];
  /** The listener's earlier impression times of a line item. */
  seen(listenerId: string, lineItemId: string): readonly number[];
}

/** Why a candidate was not eligible; for the dashboard's "why not serving" and for tests. */
export type Ineligible = 'paused' | 'flight' | 'targeting' | 'cap' | 'budget' | 'pacing' | 'no-creative';

/** What a line item's targeting is matched against, from the request. */
function targetingContext(req: PodRequest) {
  return {
    showId: req.episode.showId,
    categories: req.episode.categories,
    language: req.episode.language,
    position: req.adBreak.position,
    country: req.country,
    device: req.device,
    now: req.now,
  };
}

export function eligibility(
  c: Candidate,
  req: PodRequest,
  view: PodView,
  settings: PaceSettings = defaultPaceSettings,
): Ineligible | null {
  req = withAdLoad(req);
  const li = c.lineItem;
  const now = req.now;
  if (li.paused || c.campaign.paused) return 'paused';
  const flight = flightOf(c);
  if (now < flight.startsAt || now >= flight.endsAt) return 'flight';
  if (!matchesTargeting(li.targeting, targetingContext(req))) return 'targeting';
  if (!capsAllow(li.caps, req.listenerId, req.listenerId ? view.seen(req.listenerId, li.id) : [], now)) {
    return 'cap';
  }
  if (!budgetAllows(c, now)) return 'budget';
  if (!pace(li.goal, c.delivery, flight, li.pacing, now, settings, li.targeting.dayParts).eligible)
    return 'pacing';
  if (!c.creatives.some((cr) => playable(cr, req))) return 'no-creative';
  return null;
}

/**
 * The checks that depend only on the model and the request's shape, not on the clock,
 * delivery or listener: not paused, targeting other than day-parts, a playable creative.
 */
export function staticallyEligible(c: Candidate, req: PodRequest): boolean {
  const li = c.lineItem;
  if (li.paused || c.campaign.paused) return false;
  // Day-parts are left out, so the clock plays no part.
  if (!matchesTargeting({ ...li.targeting, dayParts: undefined }, { ...targetingContext(req), now: 0 }))
    return false;
  return c.creatives.some((cr) => playable(cr, req));
}

/** The line item's own flight clipped to its campaign's. */
export function flightOf(c: Pick<Candidate, 'lineItem' | 'campaign'>): { startsAt: number; endsAt: number } {
  return {
    startsAt: Math.max(c.campaign.startsAt, c.lineItem.startsAt ?? c.campaign.startsAt),
    endsAt: Math.min(c.campaign.endsAt, c.lineItem.endsAt ?? c.campaign.endsAt),
  };
}

/** Room for one more impression at the line item's price in every budget that applies. */
export function budgetAllows(c: Candidate, now: number): boolean {
  const price = c.lineItem.cpmMicros;
  const s = c.campaignSpend;
  if (s.spendMilliMicros + price > c.campaign.totalBudgetMicros * 1000) return false;
  if (c.campaign.dailyBudgetMicros > 0) {
    const today = s.today.day === epochDay(now) ? s.today.spendMilliMicros : 0;
    if (today + price > c.campaign.dailyBudgetMicros * 1000) return false;
  }
  const g = c.lineItem.goal;
  if (g.kind === 'spend' && c.delivery.spendMilliMicros + price > g.micros * 1000) return false;
  return true;
}

function playable(cr: Creative, req: PodRequest): boolean {
  return (
    cr.approval === 'approved' &&
    cr.mediaKind === req.episode.mediaKind &&
    cr.durationMs <= req.adBreak.maxDurationMs
  );
}

/**
 * Fills one break; an empty array is a valid answer (no ad). This is the hot path (every
 * ad request walks the active line items), so it applies the same rules as `eligibility`
 * inline, cheapest test first.
 *
 * It keeps the best few (`keep`) in order as it walks; a pod rarely needs more. With the
 * index (`eligibleFor`, highest priority class first), the walk stops at the first class
 * that cannot enter a full best few (house ads behind enough paid ones are never judged),
 * and only the few it keeps are allocated. When exclusions or long creatives leave the pod
 * short with only the best few, and some eligible candidate was passed over, it walks
 * again and fills from the full order.
 */
export function selectPod(
  view: PodView,
  req: PodRequest,
  settings: PaceSettings = defaultPaceSettings,
  topUp?: TopUp,
): PodSlot[] {
  req = withAdLoad(req);
  const walk: Walk = {
    req,
    view,
    settings,
    indexed: view.eligibleFor !== undefined,
    ctx: targetingContext(req),
  };
  const list = walk.indexed ? view.eligibleFor!(req) : view.candidates();
  const keep = req.adBreak.maxAds * 3 + 2;
  const top: Ranked[] = [];
  // Some candidate that may be eligible is not in `top` (then `top` may not be enough).
  let passedOver = false;
  for (const c of list) {
    const rank = priorityRank[c.lineItem.priority];
    if (top.length === keep && rank < top[keep - 1]!.rank) {
      passedOver = true;
      // The index lists higher classes first: nothing after this can enter `top` either.
      if (walk.indexed) break;
      continue;
    }
    const urgency = urgencyOf(c, walk);
    if (Number.isNaN(urgency)) continue;
    const last = top.length === keep ? top[keep - 1]! : undefined;
    if (last !== undefined) {
      // This candidate, or the last of the best few it displaces, stays out.
      passedOver = true;
      if (!beforeParts(rank, urgency, c, last)) continue;
    }
    const r: Ranked = { c, rank, urgency };
    let i = last === undefined ? top.length : keep - 1;
    while (i > 0 && before(r, top[i - 1]!)) {
      top[i] = top[i - 1]!;
      i--;
    }
    top[i] = r;
  }
  const first = fillPod(top, req, topUp);
  if (first.length >= req.adBreak.maxAds || !passedOver) return first;
  const all: Ranked[] = [];
  for (const c of list) {
    const urgency = urgencyOf(c, walk);
    if (!Number.isNaN(urgency)) all.push({ c, rank: priorityRank[c.lineItem.priority], urgency });
  }
  return fillPod(
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0)),
    req,
    topUp,
  );
}

/** What judging one candidate of a request needs (built once per request). */
interface Walk {
  req: PodRequest;
  view: PodView;
  settings: PaceSettings;
  /** The candidates come from `eligibleFor`: the static checks are done. */
  indexed: boolean;
  ctx: TargetingContext;
}

/**
 * The candidate's pacing urgency when every rule of `eligibility` lets it serve this
 * request, else NaN; the same rules inline, cheapest first, with no allocation.
 */
function urgencyOf(c: Candidate, w: Walk): number {
  const li = c.lineItem;
  const req = w.req;
  const now = req.now;
  if (!w.indexed && (li.paused || c.campaign.paused)) return Number.NaN;
  const startsAt = Math.max(c.campaign.startsAt, li.startsAt ?? c.campaign.startsAt);
  const endsAt = Math.min(c.campaign.endsAt, li.endsAt ?? c.campaign.endsAt);
  if (now < startsAt || now >= endsAt) return Number.NaN;
  if (w.indexed) {
    const parts = li.targeting.dayParts;
    if (parts !== undefined && parts.length > 0 && !parts.some((d) => inDayPart(d, now))) return Number.NaN;
  } else if (!matchesTargeting(li.targeting, w.ctx)) return Number.NaN;
  if (li.caps.length > 0) {
    if (
      req.listenerId === null ||
      !capsAllow(li.caps, req.listenerId, w.view.seen(req.listenerId, li.id), now)
    )
      return Number.NaN;
  }
  if (!budgetAllows(c, now)) return Number.NaN;
  const urgency = paceUrgency(
    li.goal,
    c.delivery,
    startsAt,
    endsAt,
    li.pacing,
    now,
    w.settings,
    li.targeting.dayParts,
  );
  if (Number.isNaN(urgency)) return urgency;
  if (!w.indexed && !c.creatives.some((cr) => playable(cr, req))) return Number.NaN;
  return urgency;
}

/**
 * A pod to complete instead of a new one (shared-pod.ts): `kept` are its ads so far (their
 * time, campaigns and exclusion categories count as taken), `without` line items not to
 * choose again (lost at the shared check, or not servable).
 */
export interface TopUp {
  kept: readonly PodSlot[];
  without: ReadonlySet<string>;
}

/** The request with its break's length cut to the episode's ad load (ad-load.ts). */
function withAdLoad(req: PodRequest): PodRequest {
  const adBreak = boundedBreak(req.episode, req.adBreak);
  return adBreak === req.adBreak ? req : { ...req, adBreak };
}

type Ranked = { c: Candidate; rank: number; urgency: number };

/** Priority class, then urgency, then price, then id. */
function before(a: Ranked, b: Ranked): boolean {
  return beforeParts(a.rank, a.urgency, a.c, b);
}

/** `before` for a candidate not yet made a `Ranked` (most never are). */
function beforeParts(rank: number, urgency: number, c: Candidate, b: Ranked): boolean {
  if (rank !== b.rank) return rank > b.rank;
  if (urgency !== b.urgency) return urgency > b.urgency;
  const pa = c.lineItem.cpmMicros;
  const pb = b.c.lineItem.cpmMicros;
  if (pa !== pb) return pa > pb;
  return c.lineItem.id < b.c.lineItem.id;
}

/** Walks ranked candidates, taking what fits (see the rules in this file's header). */
function fillPod(ranked: readonly Ranked[], req: PodRequest, topUp?: TopUp): PodSlot[] {
  const pod: PodSlot[] = [];
  let timeLeft = req.adBreak.maxDurationMs;
  const categories = new Set<string>();
  const campaigns = new Set<string>();
  let paid = false;
  for (const slot of topUp?.kept ?? []) {
    const li = slot.candidate.lineItem;
    pod.push({ ...slot, sequence: pod.length + 1 });
    timeLeft -= slot.creative.durationMs;
    campaigns.add(slot.candidate.campaign.id);
    if (li.priority !== 'house') paid = true;
    for (const cat of li.exclusionCategories) categories.add(cat.toLowerCase());
  }
  for (const { c } of ranked) {
    if (pod.length >= req.adBreak.maxAds || timeLeft <= 0) break;
    if (campaigns.has(c.campaign.id)) continue;
    if (topUp?.without.has(c.lineItem.id)) continue;
    const house = c.lineItem.priority === 'house';
    if (house && paid) continue;
    if (c.lineItem.exclusionCategories.some((cat) => categories.has(cat.toLowerCase()))) continue;
    const creative = pickCreative(c.creatives, req, timeLeft);
    if (!creative) continue;
    pod.push({ candidate: c, creative, sequence: pod.length + 1 });
    timeLeft -= creative.durationMs;
    campaigns.add(c.campaign.id);
    if (!house) paid = true;
    for (const cat of c.lineItem.exclusionCategories) categories.add(cat.toLowerCase());
  }
  return pod;
}

/**
 * The longest approved creative that fits, so a break is filled with fewer, fuller ads;
 * ties go to the first listed (the advertiser's order).
 */
function pickCreative(creatives: readonly Creative[], req: PodRequest, timeLeft: number): Creative | null {
  let best: Creative | null = null;
  for (const cr of creatives) {
    if (!playable(cr, req) || cr.durationMs > timeLeft) continue;
    if (!best || cr.durationMs > best.durationMs) best = cr;
  }
  return best;
}
