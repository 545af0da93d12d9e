export type { AdBreak, BreakPosition, EpisodeForAds } from './ad-breaks.ts';
