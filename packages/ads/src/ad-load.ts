/**
 * Ad load: how much ad time one episode may carry, whatever its creator marked.
 *
 * Rule: the ads of all breaks of one episode together last at most
 * `max(30 s, 25 % of the content)`. A 16 s clip gets one short spot, not 48 s of ads; a
 * 30 min episode may carry up to 7.5 min.
 *
 * Breaks are requested one at a time (a VMAP player asks for each break when it reaches
 * it, a stitched file is planned break by break), so the budget is shared out ahead of time
 * and never depends on what an earlier break served: every break's allowance is its own
 * maximum scaled down by the same factor, `maxDurationMs * min(1, budget / sum of the
 * breaks' maxima)`. When the marked breaks fit the budget, nothing changes.
 */
import type { AdBreak, EpisodeForAds } from '@swarmcast/catalog';

/** The floor of the episode budget: one ordinary spot fits any episode. */
export const adLoadFloorMs = 30_000;
/** The share of the content the ads may add above the floor. */
export const adLoadShare = 0.25;

/** The most ad time, all breaks together, an episode of `contentMs` may carry. */
export function episodeAdBudgetMs(contentMs: number): number {
  const content = Number.isFinite(contentMs) && contentMs > 0 ? contentMs : 0;
  return Math.max(adLoadFloorMs, Math.floor(content * adLoadShare));
}

/** The ad time this break may fill: its own maximum, scaled down to the episode's budget. */
export function breakAllowanceMs(
  episode: Pick<EpisodeForAds, 'durationMs' | 'adBreaks'>,
  adBreak: AdBreak,
): number {
  const marked = episode.adBreaks.reduce((sum, b) => sum + Math.max(0, b.maxDurationMs), 0);
  const budget = episodeAdBudgetMs(episode.durationMs);
  if (marked <= budget) return adBreak.maxDurationMs;
  return Math.floor((adBreak.maxDurationMs * budget) / marked);
}

/** The break as the ad server fills it: `maxDurationMs` is the allowance. */
export function boundedBreak(
  episode: Pick<EpisodeForAds, 'durationMs' | 'adBreaks'>,
  adBreak: AdBreak,
): AdBreak {
  const allowed = breakAllowanceMs(episode, adBreak);
  return allowed === adBreak.maxDurationMs ? adBreak : { ...adBreak, maxDurationMs: allowed };
}
