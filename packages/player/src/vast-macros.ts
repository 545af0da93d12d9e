/**
 * VAST 4.3 macros the player fills in tracking and error URLs (IAB VAST 4.x macro list):
 * the value is URL-encoded; `-1` when unknown or not applicable; `-2` when known but
 * withheld (privacy). A bracketed name the player does not handle is left as it is, so the
 * server can still tell "the player did not know" from a value.
 */

/** VAST [BREAKPOSITION]: 1 pre-roll, 2 mid-roll, 3 post-roll, 4 standalone. */
export type BreakPositionCode = 1 | 2 | 3 | 4;

export interface MacroContext {
  /** Wall clock, ms since the epoch -> [TIMESTAMP] (ISO 8601 with milliseconds). */
  nowMs: number;
  /** Playhead in the ad, ms -> [ADPLAYHEAD]; null when unknown. */
  adPlayheadMs: number | null;
  /** Playhead in the content, ms -> [MEDIAPLAYHEAD] / [CONTENTPLAYHEAD]; null when unknown. */
  mediaPlayheadMs: number | null;
  /** -> [CACHEBUSTING]: 8 random digits from the caller. */
  cacheBusting: string;
  /** -> [ERRORCODE]; null outside error URLs. */
  errorCode: number | null;
  breakPosition: BreakPositionCode | null;
  /** Macro names the listener's privacy choice withholds (-> -2). */
  withheld?: ReadonlySet<string>;
}

/** `HH:MM:SS.mmm`, the VAST time format (hours not wrapped). */
export function vastClock(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = Math.floor((t % 60_000) / 1000);
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(t % 1000, 3)}`;
}

/** 8 decimal digits from a uniform [0, 1) source (the caller's random). */
export function cacheBuster(random: () => number): string {
  return String(Math.floor(random() * 1e8)).padStart(8, '0');
}

const handled = [
  'TIMESTAMP',
  'ADPLAYHEAD',
  'MEDIAPLAYHEAD',
  'CONTENTPLAYHEAD',
  'CACHEBUSTING',
  'ERRORCODE',
  'BREAKPOSITION',
] as const;
type Handled = (typeof handled)[number];
const handledSet: ReadonlySet<string> = new Set(handled);

function macroValueOf(name: Handled, c: MacroContext): string | number | null {
  switch (name) {
    case 'TIMESTAMP':
      return Number.isFinite(c.nowMs) ? new Date(c.nowMs).toISOString() : null;
    case 'ADPLAYHEAD':
      return c.adPlayheadMs === null ? null : vastClock(c.adPlayheadMs);
    case 'MEDIAPLAYHEAD':
    case 'CONTENTPLAYHEAD':
      return c.mediaPlayheadMs === null ? null : vastClock(c.mediaPlayheadMs);
    case 'CACHEBUSTING':
      return c.cacheBusting;
    case 'ERRORCODE':
      return c.errorCode;
    case 'BREAKPOSITION':
      return c.breakPosition;
  }
}

/** Fills the macros of one tracking URL. */
export function fillMacros(url: string, c: MacroContext): string {
  return url.replace(/\[([A-Z][A-Z0-9_]*)\]/g, (whole, name: string) => {
    if (!handledSet.has(name)) return whole;
    if (c.withheld?.has(name)) return '-2';
    const v = macroValueOf(name as Handled, c);
    return v === null ? '-1' : encodeURIComponent(String(v));
  });
}
