import { formatClock } from '@swarmcast/platform';
import type { AdBreak } from './ad-breaks.ts';
import { fail, ok, type Result } from './errors.ts';

/** A chapter of an episode (from the media file or given by the creator). */
export interface Chapter {
  title: string;
  startMs: number;
  /** Podcasting 2.0 JSON chapters: a link and an image for the chapter (http(s)). */
  url?: string;
  img?: string;
}

/** What a creator marks: a pre-roll, a mid-roll at a time or at a chapter start, a post-roll. */
export interface AdBreakInput {
  position: 'pre' | 'mid' | 'post';
  /** Content time of a mid-roll. */
  atMs?: number;
  /** Index into the episode's chapters: the mid-roll plays where that chapter starts. */
  chapter?: number;
  maxDurationMs?: number;
  maxAds?: number;
}

const limits = { maxDurationMs: 300_000, maxAds: 10, breaks: 20, defaultDurationMs: 60_000, defaultAds: 2 };

function bounded(value: unknown, fallback: number, max: number): number | null {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : null;
}

/**
 * Turns what the creator marked into the breaks the ad server fills. Rules: at most one
 * pre-roll (at 0) and one post-roll (at the duration); mid-rolls strictly inside the
 * content, by time or by chapter start, no two at the same time; sorted by time; ids
 * "pre", "mid-1", "mid-2"... in time order, "post". Pure: the same input, the same breaks.
 */
export function normalizeAdBreaks(
  inputs: readonly AdBreakInput[],
  durationMs: number,
  chapters: readonly Chapter[],
): Result<AdBreak[]> {
  if (!Array.isArray(inputs)) return fail('CAT_BAD_AD_BREAKS', 'ad breaks must be a list');
  if (inputs.length > limits.breaks) return fail('CAT_BAD_AD_BREAKS', `at most ${limits.breaks} ad breaks`);
  const out: Omit<AdBreak, 'id'>[] = [];
  const seen = new Set<string>();
  for (const [i, b] of inputs.entries()) {
    const where = `ad break ${i + 1}`;
    if (typeof b !== 'object' || b === null) return fail('CAT_BAD_AD_BREAKS', `${where}: not an object`);
    const maxDurationMs = bounded(b.maxDurationMs, limits.defaultDurationMs, limits.maxDurationMs);
    const maxAds = bounded(b.maxAds, limits.defaultAds, limits.maxAds);
    if (maxDurationMs === null) {
      return fail('CAT_BAD_AD_BREAKS', `${where}: maxDurationMs must be 1..${limits.maxDurationMs}`);
    }
    if (maxAds === null) return fail('CAT_BAD_AD_BREAKS', `${where}: maxAds must be 1..${limits.maxAds}`);
    let offsetMs: number;
    if (b.position === 'pre') offsetMs = 0;
    else if (b.position === 'post') offsetMs = durationMs;
    else if (b.position === 'mid') {
      if (b.chapter !== undefined && b.chapter !== null) {
        const c = Number.isInteger(b.chapter) ? chapters[b.chapter] : undefined;
        if (!c) return fail('CAT_BAD_AD_BREAKS', `${where}: no chapter ${b.chapter}`);
        offsetMs = c.startMs;
      } else {
        offsetMs = Number(b.atMs);
        if (!Number.isInteger(offsetMs)) return fail('CAT_BAD_AD_BREAKS', `${where}: atMs must be whole ms`);
      }
      // Said the way the creator typed it: "2:30 must be before 2:00, the end of the episode".
      if (offsetMs <= 0) {
        return fail('CAT_BAD_AD_BREAKS', `a mid-roll at 0:00 is a pre-roll: pick a time after 0:00`);
      }
      if (offsetMs >= durationMs) {
        return fail(
          'CAT_BAD_AD_BREAKS',
          `mid-roll at ${formatClock(offsetMs)} must be before ${formatClock(durationMs)}, the end of the episode`,
        );
      }
    } else return fail('CAT_BAD_AD_BREAKS', `${where}: position must be pre, mid or post`);
    const key = `${b.position}@${offsetMs}`;
    if (seen.has(key) || (b.position !== 'mid' && seen.has(b.position))) {
      return fail('CAT_BAD_AD_BREAKS', `${where}: a break is already there`);
    }
    seen.add(key);
    seen.add(b.position === 'mid' ? key : b.position);
    out.push({ position: b.position, offsetMs, maxDurationMs, maxAds });
  }
  const rank = { pre: 0, mid: 1, post: 2 };
  out.sort((a, b) => rank[a.position] - rank[b.position] || a.offsetMs - b.offsetMs);
  let mid = 0;
  return ok(out.map((b) => ({ id: b.position === 'mid' ? `mid-${++mid}` : b.position, ...b })));
}
