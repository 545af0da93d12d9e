/**
 * VAST 4.3 macros the player fills in tracking and error URLs (IAB VAST 4.x macro list):
 * the value is URL-encoded; `-1` when unknown or not applicable; `-2` when known but
 * withheld (privacy). A bracketed name the player does not handle is left as it is, so the
 * server can still tell "the player did not know" from a value.
 *
 * `substituteMacros` is the one place a macro is found and replaced, for the player
 * (`fillMacros`) and for the server (`expandMacros` in @swarmcast/ads), in both forms ad
 * servers write: `[NAME]` and, percent-encoded, `%5BNAME%5D`.
 */

/**
 * A macro: `[NAME]` or `%5BNAME%5D` (the hex digits in either case, as RFC 3986 allows; some
 * ad servers encode the brackets when they build tracking URLs). NAME is the VAST form:
 * an upper-case letter, then up to 63 upper-case letters, digits or underscores (the IAB
 * list's longest is 19), which keeps a hostile URL's scan linear. Nothing else is a macro:
 * lower-case names, mixed forms (`%5BNAME]`), double-encoded ones (`%255BNAME%255D`),
 * `%%NAME%%` are left as they are.
 */
const macroPattern = /\[([A-Z][A-Z0-9_]{0,63})\]|%5[Bb]([A-Z][A-Z0-9_]{0,63})%5[Dd]/g;

/**
 * Replaces each macro of `template` with `resolve(name)` (text already encoded for a URL),
 * or leaves it as it was when that is undefined. One left-to-right pass: a replacement is
 * never scanned again, so a value cannot bring in a macro, and nested brackets
 * (`[[TIMESTAMP]]`) fill the inner one only. Never throws on malformed percent-encoding: the
 * template is not decoded.
 */
export function substituteMacros(template: string, resolve: (name: string) => string | undefined): string {
  return template.replace(
    macroPattern,
    (whole, bracketed: string | undefined, encoded: string | undefined) => {
      const v = resolve((bracketed ?? encoded) as string);
      return v === undefined ? whole : v;
    },
  );
}

/**
 * A macro value for a URL: `encodeURIComponent`, which throws on a lone UTF-16 surrogate;
 * such a code unit becomes U+FFFD instead (a value is data, never a reason to fail a beacon).
 */
export function encodeMacroValue(v: string | number): string {
  const s = String(v);
  try {
    return encodeURIComponent(s);
  } catch {
    // A pair passes whole, a lone half is replaced (no lookbehind: older Safari cannot parse one).
    return encodeURIComponent(
      s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g, (m) => (m.length === 2 ? m : '\uFFFD')),
    );
  }
}

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

/** Fills the macros of one tracking URL (bracketed or percent-encoded; see `substituteMacros`). */
export function fillMacros(url: string, c: MacroContext): string {
  return substituteMacros(url, (name) => {
    if (!handledSet.has(name)) return undefined;
    if (c.withheld?.has(name)) return '-2';
    const v = macroValueOf(name as Handled, c);
    return v === null ? '-1' : encodeMacroValue(v);
  });
}
