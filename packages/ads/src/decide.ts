/**
 * One ad request end to end: find the break, fill it (select-pod.ts), sign the pod once
 * (each ad's token names its place in it), count each ad, and render VAST. Unknown episodes or breaks, and breaks nobody fills, give
 * the empty VAST: a player always gets a valid document.
 */
import type { AdBreak, EpisodeForAds } from '@swarmcast/catalog';
import { type SigningKey, signPod } from './decision-token.ts';
import type { Creative, DeviceClass } from './model.ts';
import type { PaceSettings } from './pacing.ts';
import { type PodRequest, type PodSlot, selectPod } from './select-pod.ts';
import type { SharedDelivery } from './shared-delivery.ts';
import type { AdsStore } from './store.ts';
import type { DecisionClaims } from './tracking-contract.ts';
import { renderVast } from './vast.ts';

/** The catalog port: the node wires the catalog's implementation in. */
export type EpisodeLookup = (episodeId: string) => EpisodeForAds | null | Promise<EpisodeForAds | null>;

export interface DecideDeps {
  store: AdsStore;
  signingKey: () => SigningKey;
  /** The creative as served (URLs absolute against the node's current public URL). */
  present?: (c: Creative) => Creative;
  collector: string;
  /** A fresh unique id per decision (AdServingId). */
  newId: () => string;
  tokenTtlMs: number;
  adSystemVersion: string;
  pace?: PaceSettings;
  /** Caps and delivery shared by every process (Redis); absent: this store alone. */
  shared?: SharedDelivery;
}

export interface BreakRequest {
  episode: EpisodeForAds | null;
  breakId: string;
  listenerId: string | null;
  country: string | null;
  device: DeviceClass;
  now: number;
}

export interface BreakAnswer {
  vast: string;
  decisions: DecisionClaims[];
  /** The break asked for, or null when the episode or break is unknown (no opportunity). */
  adBreak: AdBreak | null;
}

export function findBreak(episode: EpisodeForAds, breakId: string): AdBreak | null {
  return episode.adBreaks.find((b) => b.id === breakId) ?? null;
}

export function decideBreak(deps: DecideDeps, req: BreakRequest): BreakAnswer {
  const ready = prepareBreak(deps, req);
  if ('answer' in ready) return ready.answer;
  return finishBreak(deps, req, ready, selectPod(deps.store, ready.podRequest, deps.pace));
}

/**
 * `decideBreak` with caps and delivery shared by every process (`deps.shared`, in Redis):
 * the candidates' shared counters are read first (one round trip), the same policy chooses,
 * and the pod is claimed atomically (one round trip); an ad whose cap or plan another
 * process used up meanwhile is left out. Without `deps.shared`, `decideBreak` itself.
 */
export async function decideBreakShared(deps: DecideDeps, req: BreakRequest): Promise<BreakAnswer> {
  const shared = deps.shared;
  if (!shared) return decideBreak(deps, req);
  const ready = prepareBreak(deps, req);
  if ('answer' in ready) return ready.answer;
  const store = deps.store;
  await shared.load(store, store.eligibleFor(ready.podRequest), req.listenerId, req.now);
  const pod = selectPod(store, ready.podRequest, deps.pace);
  if (pod.length === 0) return finishBreak(deps, req, ready, pod);
  const podId = deps.newId();
  const ids = pod.map((slot) => `${podId}-${slot.sequence}`);
  const taken = await shared.claim(pod, {
    listenerId: req.listenerId,
    now: req.now,
    expiresAt: req.now + deps.tokenTtlMs,
    decisionIds: ids,
  });
  // An ad lost to another process leaves the pod; the rest keep the decision ids they were
  // claimed under (measurement releases the reservation by that id) and close up the sequence.
  const kept = pod.filter((_, i) => taken[i]).map((slot, i) => ({ ...slot, sequence: i + 1 }));
  return finishBreak(
    deps,
    req,
    ready,
    kept,
    ids.filter((_, i) => taken[i]),
  );
}

interface ReadyBreak {
  episode: EpisodeForAds;
  adBreak: AdBreak;
  podRequest: PodRequest;
  opts: { collector: string; adSystem: string; adSystemVersion: string };
}

/** Finds the break, releases expired reservations and records the opportunity. */
function prepareBreak(deps: DecideDeps, req: BreakRequest): ReadyBreak | { answer: BreakAnswer } {
  const opts = { collector: deps.collector, adSystem: 'Swarmcast', adSystemVersion: deps.adSystemVersion };
  const episode = req.episode;
  const adBreak = episode ? findBreak(episode, req.breakId) : null;
  if (!episode || !adBreak) return { answer: { vast: renderVast([], opts), decisions: [], adBreak: null } };
  const store = deps.store;
  // Reservations of ads that never played go back to budgets and caps when their token expires.
  store.releaseExpired(req.now);
  store.inventory.record(
    {
      showId: episode.showId,
      language: episode.language,
      categories: episode.categories,
      mediaKind: episode.mediaKind,
      position: adBreak.position,
      country: req.country,
      device: req.device,
    },
    req.now,
  );
  const podRequest: PodRequest = {
    episode,
    adBreak,
    listenerId: req.listenerId,
    country: req.country,
    device: req.device,
    now: req.now,
  };
  return { episode, adBreak, podRequest, opts };
}

/** Signs the pod once (each ad's token names its place in it), counts each ad, renders VAST. */
function finishBreak(
  deps: DecideDeps,
  req: BreakRequest,
  ready: ReadyBreak,
  pod: readonly PodSlot[],
  decisionIds?: readonly string[],
): BreakAnswer {
  const { episode, adBreak, opts } = ready;
  const store = deps.store;
  if (pod.length === 0) return { vast: renderVast([], opts), decisions: [], adBreak };
  const key = deps.signingKey();
  const podId = decisionIds ? '' : deps.newId();
  const claims = pod.map(
    (slot, i): Omit<DecisionClaims, 'keyId' | 'v'> => ({
      decisionId: decisionIds?.[i] ?? `${podId}-${slot.sequence}`,
      adId: slot.creative.id,
      lineItemId: slot.candidate.lineItem.id,
      campaignId: slot.candidate.campaign.id,
      advertiserId: slot.candidate.campaign.advertiserId,
      episodeId: episode.id,
      showId: episode.showId,
      creatorId: episode.creatorId,
      breakId: adBreak.id,
      position: adBreak.position,
      podSequence: slot.sequence,
      creativeDurationMs: slot.creative.durationMs,
      cpmMicros: slot.candidate.lineItem.cpmMicros,
      listenerId: req.listenerId,
      issuedAt: req.now,
      expiresAt: req.now + deps.tokenTtlMs,
    }),
  );
  // One signature for the whole pod (see tracking-contract.ts).
  const tokens = signPod(claims, key);
  const decisions: DecisionClaims[] = claims.map((c) => ({ ...c, v: 2, keyId: key.keyId }));
  const ads = pod.map((slot, i) => {
    const { lineItem, campaign } = slot.candidate;
    store.recordImpression(lineItem.id, req.listenerId, req.now, req.now + deps.tokenTtlMs);
    return {
      creative: deps.present ? deps.present(slot.creative) : slot.creative,
      sequence: slot.sequence,
      adServingId: claims[i]!.decisionId,
      advertiserName: store.advertisers.get(campaign.advertiserId)?.name ?? campaign.advertiserId,
      token: tokens[i]!,
    };
  });
  return { vast: renderVast(ads, opts), decisions, adBreak };
}
