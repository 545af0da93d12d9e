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
import type { EpisodeForAds } from '@swarmcast/catalog';
import { type SigningKey, signPod } from '../decision-token.ts';
import type { DeviceClass } from '../model.ts';
import type { PaceSettings } from '../pacing.ts';
import { type PodSlot, type PodView, selectPod } from '../select-pod.ts';
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
  view: PodView & { recordImpression(lineItemId: string, listenerId: string | null, now: number): void };
  signingKey: () => SigningKey;
  newId: () => string;
  /** Tokens must outlive the window plus the time measurement takes to count deliveries. */
  tokenTtlMs: number;
  pace?: PaceSettings;
  /**
   * Told of every break's recorded ads with their decision ids (the node adds them to the
   * caps and delivery shared by its processes; a plan is decided here, never refused there).
   */
  onRecorded?: (
    slots: readonly PodSlot[],
    decisionIds: readonly string[],
    req: PlanRequest,
    expiresAt: number,
  ) => void;
}

/** Decides a plan: every break of the episode filled by the ad server, then signed. Pure but for deps. */
export function decideStitchPlan(deps: PlanDeps, req: PlanRequest): StitchPlan {
  const planId = deps.newId();
  const key = deps.signingKey();
  const notes: string[] = [];
  const breaks: PlannedBreak[] = [];
  for (const adBreak of req.episode.adBreaks) {
    const pod = selectPod(
      deps.view,
      {
        episode: req.episode,
        adBreak,
        listenerId: req.audienceKey,
        country: req.country,
        device: req.device,
        now: req.now,
      },
      deps.pace,
    );
    const ready = pod.filter((slot) => {
      if (req.prepared(slot.creative.id)) return true;
      notes.push(`not-prepared:${slot.creative.id}`);
      return false;
    });
    if (ready.length === 0) {
      breaks.push({ breakId: adBreak.id, position: adBreak.position, offsetMs: adBreak.offsetMs, ads: [] });
      continue;
    }
    const claims = ready.map(
      (slot, i): Omit<DecisionClaims, 'keyId' | 'v'> => ({
        decisionId: `${planId}-${adBreak.id}-${i + 1}`,
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
    for (const slot of ready)
      deps.view.recordImpression(slot.candidate.lineItem.id, req.audienceKey, req.now);
    deps.onRecorded?.(
      ready,
      claims.map((c) => c.decisionId),
      req,
      req.now + deps.tokenTtlMs,
    );
    breaks.push({
      breakId: adBreak.id,
      position: adBreak.position,
      offsetMs: adBreak.offsetMs,
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
    });
  }
  return {
    id: planId,
    episodeId: req.episode.id,
    audienceKey: req.planKey,
    window: req.window,
    createdAt: req.now,
    profileKey: req.profileKey,
    breaks,
    notes,
  };
}

/** Every ad of a plan in file order (breaks in offset order, pods in sequence). */
export function plannedAds(plan: StitchPlan): PlannedAd[] {
  return [...plan.breaks].sort((a, b) => a.offsetMs - b.offsetMs).flatMap((b) => b.ads);
}
