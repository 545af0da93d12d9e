/**
 * When ad breaks play, as pure functions over the VMAP breaks and the content timeline.
 *
 * Rules (the IMA / broadcast behaviour the issue asks for):
 * 1. The pre-roll (`start`, or a time offset of 0) plays before the first content frame.
 * 2. A mid-roll plays when the playhead crosses its offset going forward, by playback or by
 *    a seek: `from < offset <= to`.
 * 3. A forward move that crosses several unplayed mid-rolls plays only the last one crossed
 *    (seeking to 40:00 past breaks at 10:00 and 20:00 plays the 20:00 break once).
 * 4. A break that was attempted never replays, whether it filled, failed or was skipped:
 *    the caller adds its id to `played` as soon as it starts it.
 * 5. Moving backwards plays nothing.
 * 6. The post-roll (`end`) plays when the content ends.
 * After a break the content resumes at the move's target (`to`), exactly where it was.
 */

/** A VMAP timeOffset, every VMAP 1.0 form. */
export type TimeOffset =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'time'; ms: number }
  | { kind: 'percent'; percent: number }
  | { kind: 'position'; n: number };

/** Parses a VMAP timeOffset; null when it is none of the forms. */
export function parseTimeOffset(s: string): TimeOffset | null {
  const t = s.trim();
  if (t === 'start' || t === 'end') return { kind: t };
  let m = /^(\d{1,4}):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$/.exec(t);
  if (m) {
    const ms =
      Number(m[1]) * 3_600_000 +
      Number(m[2]) * 60_000 +
      Number(m[3]) * 1000 +
      Number((m[4] ?? '0').padEnd(3, '0'));
    return { kind: 'time', ms };
  }
  m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(t);
  if (m) {
    const percent = Number(m[1]);
    return percent <= 100 ? { kind: 'percent', percent } : null;
  }
  m = /^#([1-9]\d{0,5})$/.exec(t);
  if (m) return { kind: 'position', n: Number(m[1]) };
  return null;
}

/** A break as the VMAP gives it. */
export interface VmapBreak {
  breakId: string;
  timeOffset: string;
  /** The VAST ad tag to ask just before the break. */
  adTagUri: string;
}

/** Where a break sits once resolved against the content. */
export type BreakPosition = 'pre' | 'mid' | 'post';

export interface ScheduledBreak {
  id: string;
  position: BreakPosition;
  /** Content time of a mid-roll; 0 for pre, the duration (or Infinity) for post. */
  offsetMs: number;
  adTagUri: string;
}

export interface ResolveResult {
  breaks: ScheduledBreak[];
  /** Breaks that could not be placed, with why (bad offset, percent without a duration...). */
  unplaced: { breakId: string; reason: 'bad-offset' | 'needs-duration' | 'no-opportunity' }[];
}

/**
 * Places the VMAP breaks on the content timeline, sorted by offset.
 * `durationMs` is null until the media's metadata is known (percent offsets wait for it);
 * `opportunitiesMs` are the content's cue points for the `#n` form (n-th opportunity,
 * 1-based), where `#1` at 0 is the pre-roll. A break id seen twice keeps its first entry.
 */
export function resolveBreaks(
  vmap: readonly VmapBreak[],
  durationMs: number | null,
  opportunitiesMs: readonly number[] = [],
): ResolveResult {
  const breaks: ScheduledBreak[] = [];
  const unplaced: ResolveResult['unplaced'] = [];
  const seen = new Set<string>();
  for (const b of vmap) {
    if (seen.has(b.breakId)) continue;
    seen.add(b.breakId);
    const o = parseTimeOffset(b.timeOffset);
    let ms: number | 'end';
    if (o === null) {
      unplaced.push({ breakId: b.breakId, reason: 'bad-offset' });
      continue;
    }
    if (o.kind === 'start') ms = 0;
    else if (o.kind === 'end') ms = 'end';
    else if (o.kind === 'time') ms = o.ms;
    else if (o.kind === 'percent') {
      if (durationMs === null) {
        unplaced.push({ breakId: b.breakId, reason: 'needs-duration' });
        continue;
      }
      ms = o.percent >= 100 ? 'end' : Math.round((o.percent / 100) * durationMs);
    } else {
      const at = opportunitiesMs[o.n - 1];
      if (at === undefined) {
        unplaced.push({ breakId: b.breakId, reason: 'no-opportunity' });
        continue;
      }
      ms = at;
    }
    if (ms !== 'end' && durationMs !== null && ms >= durationMs) ms = 'end';
    const position: BreakPosition = ms === 0 ? 'pre' : ms === 'end' ? 'post' : 'mid';
    breaks.push({
      id: b.breakId,
      position,
      offsetMs: ms === 'end' ? (durationMs ?? Number.POSITIVE_INFINITY) : ms,
      adTagUri: b.adTagUri,
    });
  }
  const rank = { pre: 0, mid: 1, post: 2 } as const;
  breaks.sort((a, b) => rank[a.position] - rank[b.position] || a.offsetMs - b.offsetMs);
  return { breaks, unplaced };
}

/** What moved the content playhead. */
export type TimelineMove =
  | { kind: 'before-first-frame' }
  | { kind: 'advance'; fromMs: number; toMs: number }
  | { kind: 'ended'; atMs: number };

/** The break to play now, and where content resumes after it; null when none. */
export interface BreakCue {
  breakId: string;
  resumeAtMs: number;
}

/** Which break plays for this move (rules in the file comment). Pure. */
export function breakForMove(
  breaks: readonly ScheduledBreak[],
  played: ReadonlySet<string>,
  move: TimelineMove,
): BreakCue | null {
  if (move.kind === 'before-first-frame') {
    const pre = breaks.find((b) => b.position === 'pre' && !played.has(b.id));
    return pre ? { breakId: pre.id, resumeAtMs: 0 } : null;
  }
  if (move.kind === 'ended') {
    const post = breaks.find((b) => b.position === 'post' && !played.has(b.id));
    return post ? { breakId: post.id, resumeAtMs: move.atMs } : null;
  }
  if (!(move.toMs > move.fromMs)) return null;
  let last: ScheduledBreak | null = null;
  for (const b of breaks) {
    if (b.position !== 'mid' || played.has(b.id)) continue;
    if (move.fromMs < b.offsetMs && b.offsetMs <= move.toMs) {
      if (last === null || b.offsetMs >= last.offsetMs) last = b;
    }
  }
  return last ? { breakId: last.id, resumeAtMs: move.toMs } : null;
}

/**
 * The next break worth asking the ad server for now, so it starts with no wait: the first
 * unplayed mid- or post-roll ahead of the playhead within `leadMs` (a post-roll of unknown
 * offset is never prefetched). Pure; the caller asks once per break id.
 */
export function breakToPrefetch(
  breaks: readonly ScheduledBreak[],
  played: ReadonlySet<string>,
  positionMs: number,
  leadMs: number,
): ScheduledBreak | null {
  for (const b of breaks) {
    if (b.position === 'pre' || played.has(b.id) || !Number.isFinite(b.offsetMs)) continue;
    const ahead = b.offsetMs - positionMs;
    if (ahead > 0 && ahead <= leadMs) return b;
  }
  return null;
}
