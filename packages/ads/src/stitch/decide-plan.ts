/**
 * A stitch plan: which ads go into which break of one episode's file for one listener
 * (audience key) in one measurement window (the UTC day the audience key lives). It is
 * decided once, stored and reused (plan-store.ts), so every range request, resume and
 * If-Range of that listener assembles the same bytes.
 *
 * The decision is the ad server's own (select-pod.ts), break by break, exactly as for a
 * VAST request: targeting (show, category, language, position, country, device,
 * day-part), frequency caps keyed by the audience key, pacing, priorities, competitive
 * exclusion and house ads as fill. Each break's pod is signed once with the same Ed25519
 * decision tokens (v2), so every ad delivered in a stitched file traces to its decision.
 *
 * Only ads already prepared for the episode's encoding profile are stitched (preparing is
 * never done on the request path); a chosen ad that is not ready is left out with the reason
 * `not-prepared`, and its preparation is requested in the background by the caller.
 */
import type { AdBreak, EpisodeForAds } from '@swarmcast/catalog';
import { type SigningKey, signPod } from '../decision-token.ts';
import type { DeviceClass } from '../model.ts';
import type { PaceSettings } from '../pacing.ts';
import { type PodRequest, type PodSlot, selectPod } from '../select-pod.ts';
import type { SharedDelivery } from '../shared-delivery.ts';
import { claimSharedPod } from '../shared-pod.ts';
import type { AdsStore } from '../store.ts';
import type { DecisionClaims } from '../tracking-contract.ts';

export interface PlannedAd {
  decisionId: string;
  adId: string;
  lineItemId: string;
  campaignId: string;
  advertiserId: string;
  cpmMicros: number;
  durationMs: number;
  /** The signed decision token (v2 pod token) of this ad. */
  token: string;
}

export interface PlannedBreak {
  breakId: string;
  position: 'pre' | 'mid' | 'post';
  /** Content time of the break (ms). */
  offsetMs: number;
  ads: PlannedAd[];
}

export interface StitchPlan {
  id: string;
  episodeId: string;
  /** The listener's audience key, or "shared:<episode>" for the shared overflow plan. */
  audienceKey: string;
  /** The measurement window: UTC day "YYYY-MM-DD". */
  window: string;
  createdAt: number;
  /** The encoding profile the ads were prepared for (media's profile key). */
  profileKey: string;
  breaks: PlannedBreak[];
  /** Why ads were left out (e.g. "not-prepared:<creative>"), for the reports. */
  notes: string[];
}

export interface PlanRequest {
  episode: EpisodeForAds;
  /** Caps key; null for the shared plan (capped line items then do not serve). */
  audienceKey: string | null;
  planKey: string;
  window: string;
  country: string | null;
  device: DeviceClass;
  profileKey: string;
  now: number;
  /** Is this creative prepared for the profile (a file ready to stitch)? */
  prepared(creativeId: string): boolean;
}

export interface PlanDeps {
  /** The ad server's store: the policy's view, and where decisions are counted. */
  view: AdsStore;
  signingKey: () => SigningKey;
  newId: () => string;
  /** Tokens must outlive the window plus the time measurement takes to count deliveries. */
  tokenTtlMs: number;
  pace?: PaceSettings;
  /**
   * Caps and delivery shared by the node's processes (Redis): each break is then decided and
   * claimed against them as a VAST answer is (shared-pod.ts), so a plan never takes a place
   * another process used up. Absent: this process's store alone (one process).
   */
  shared?: SharedDelivery;
}

/** Decides a plan: on the shared counters when `deps.shared` is given, else on the store's. */
export async function decidePlan(deps: PlanDeps, req: PlanRequest): Promise<StitchPlan> {
  const shared = deps.shared;
  if (!shared) return decideStitchPlan(deps, req);
  const plan = planBuilder(deps, req);
  for (const adBreak of req.episode.adBreaks) {
    const pod = await claimSharedPod(deps.view, shared, {
      podRequest: plan.podRequestOf(adBreak),
      expiresAt: req.now + deps.tokenTtlMs,
      nextId: plan.idsOf(adBreak),
      usable: (slot) => req.prepared(slot.creative.id),
      ...(deps.pace ? { pace: deps.pace } : {}),
    });
    plan.add(adBreak, { ...pod, leftOut: pod.leftOut.map((slot) => slot.creative.id) });
  }
  return plan.done();
}

/** Decides a plan on this process's counters: every break filled by the ad server, then signed. */
export function decideStitchPlan(deps: PlanDeps, req: PlanRequest): StitchPlan {
  const plan = planBuilder(deps, req);
  for (const adBreak of req.episode.adBreaks) {
    const leftOut: string[] = [];
    const slots = selectPod(deps.view, plan.podRequestOf(adBreak), deps.pace)
      .filter((slot) => req.prepared(slot.creative.id) || !leftOut.push(slot.creative.id))
      .map((slot, i) => ({ ...slot, sequence: i + 1 }));
    const nextId = plan.idsOf(adBreak);
    plan.add(adBreak, { slots, decisionIds: slots.map(() => nextId()), leftOut });
  }
  return plan.done();
}

type Chosen = { slots: PodSlot[]; decisionIds: string[]; leftOut: string[] };

/**
 * A plan built break by break: each break's pod is counted in the store as it is added (so
 * the next break's choice sees it: a listener's cap holds within one plan) and signed once;
 * creatives left out are noted as not prepared.
 */
function planBuilder(deps: PlanDeps, req: PlanRequest) {
  const planId = deps.newId();
  const key = deps.signingKey();
  const notes: string[] = [];
  const breaks: PlannedBreak[] = [];
  return {
    podRequestOf: (adBreak: AdBreak): PodRequest => ({
      episode: req.episode,
      adBreak,
      listenerId: req.audienceKey,
      country: req.country,
      device: req.device,
      now: req.now,
    }),
    idsOf: (adBreak: AdBreak) => {
      let n = 0;
      return () => `${planId}-${adBreak.id}-${++n}`;
    },
    add(adBreak: AdBreak, chosen: Chosen) {
      for (const id of chosen.leftOut) notes.push(`not-prepared:${id}`);
      breaks.push(plannedBreak(deps, req, key, adBreak, chosen));
    },
    done: (): StitchPlan => ({
      id: planId,
      episodeId: req.episode.id,
      audienceKey: req.planKey,
      window: req.window,
      createdAt: req.now,
      profileKey: req.profileKey,
      breaks,
      notes,
    }),
  };
}

/** One break of the plan: its ads counted in the store and signed as one pod. */
function plannedBreak(
  deps: PlanDeps,
  req: PlanRequest,
  key: SigningKey,
  adBreak: AdBreak,
  chosen: Chosen,
): PlannedBreak {
  const empty = { breakId: adBreak.id, position: adBreak.position, offsetMs: adBreak.offsetMs };
  if (chosen.slots.length === 0) return { ...empty, ads: [] };
  const claims = chosen.slots.map(
    (slot, i): Omit<DecisionClaims, 'keyId' | 'v'> => ({
      decisionId: chosen.decisionIds[i]!,
      adId: slot.creative.id,
      lineItemId: slot.candidate.lineItem.id,
      campaignId: slot.candidate.campaign.id,
      advertiserId: slot.candidate.campaign.advertiserId,
      episodeId: req.episode.id,
      showId: req.episode.showId,
      creatorId: req.episode.creatorId,
      breakId: adBreak.id,
      position: adBreak.position,
      podSequence: i + 1,
      creativeDurationMs: slot.creative.durationMs,
      cpmMicros: slot.candidate.lineItem.cpmMicros,
      listenerId: req.audienceKey,
      issuedAt: req.now,
      expiresAt: req.now + deps.tokenTtlMs,
    }),
  );
  const tokens = signPod(claims, key);
  for (const slot of chosen.slots)
    deps.view.recordImpression(slot.candidate.lineItem.id, req.audienceKey, req.now);
  return {
    ...empty,
    ads: claims.map((c, i) => ({
      decisionId: c.decisionId,
      adId: c.adId,
      lineItemId: c.lineItemId,
      campaignId: c.campaignId,
      advertiserId: c.advertiserId,
      cpmMicros: c.cpmMicros,
      durationMs: c.creativeDurationMs,
      token: tokens[i]!,
    })),
  };
}

/** Every ad of a plan in file order (breaks in offset order, pods in sequence). */
export function plannedAds(plan: StitchPlan): PlannedAd[] {
  return [...plan.breaks].sort((a, b) => a.offsetMs - b.offsetMs).flatMap((b) => b.ads);
}
