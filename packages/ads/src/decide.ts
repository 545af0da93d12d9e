/**
 * One ad request end to end: find the break, fill it (select-pod.ts), sign the pod once
 * (each ad's token names its place in it), count each ad, and render VAST. Unknown episodes or breaks, and breaks nobody fills, give
 * the empty VAST: a player always gets a valid document.
 */
import type { AdBreak, EpisodeForAds } from '@swarmcast/catalog';
import { type SigningKey, signPod } from './decision-token.ts';
import type { Creative, DeviceClass } from './model.ts';
import type { PaceSettings } from './pacing.ts';
import { selectPod } from './select-pod.ts';
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
  const opts = { collector: deps.collector, adSystem: 'Swarmcast', adSystemVersion: deps.adSystemVersion };
  const episode = req.episode;
  const adBreak = episode ? findBreak(episode, req.breakId) : null;
  if (!episode || !adBreak) return { vast: renderVast([], opts), decisions: [], adBreak: null };
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
  const pod = selectPod(
    store,
    {
      episode,
      adBreak,
      listenerId: req.listenerId,
      country: req.country,
      device: req.device,
      now: req.now,
    },
    deps.pace,
  );
  if (pod.length === 0) return { vast: renderVast([], opts), decisions: [], adBreak };
  const key = deps.signingKey();
  const podId = deps.newId();
  const claims = pod.map(
    (slot): Omit<DecisionClaims, 'keyId' | 'v'> => ({
      decisionId: `${podId}-${slot.sequence}`,
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
