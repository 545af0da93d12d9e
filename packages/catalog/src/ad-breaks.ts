/**
 * What the catalog tells the ad server about an episode. The creator marks the breaks;
 * the ad server fills them. Times are integer milliseconds of content time.
 */
export type BreakPosition = 'pre' | 'mid' | 'post';

export interface AdBreak {
  /** Stable id, unique within the episode (e.g. "pre", "mid-1", "post"). */
  id: string;
  position: BreakPosition;
  /** Where in the content the break plays: 0 for pre-roll, the duration for post-roll. */
  offsetMs: number;
  /** The longest total ad time the creator allows in this break. */
  maxDurationMs: number;
  /** The most ads in the pod. */
  maxAds: number;
}

/** The episode as the ad server sees it: enough to target and to credit the creator. */
export interface EpisodeForAds {
  id: string;
  showId: string;
  /** The account credited with the creator share. */
  creatorId: string;
  title: string;
  durationMs: number;
  /** BCP 47 language tag of the episode, e.g. "en", "de-CH". */
  language: string;
  /** Show categories (Apple Podcasts categories, lower-case). */
  categories: string[];
  mediaKind: 'audio' | 'video';
  adBreaks: AdBreak[];
}
