import { encodeMacroValue, substituteMacros, vastClock } from '@swarmcast/player/vast-macros';

/**
 * VAST 4 macros: `[NAME]` (or `%5BNAME%5D`) placeholders a player (or we, server-side)
 * replace in URLs. Finding and replacing them has one owner, the player's
 * `substituteMacros`; this names every IAB macro, so a server fill answers all of them.
 * Rules from the IAB VAST 4.x macro list (data in data/iab-vast/macros-data.json):
 * - the value is URL-encoded where it goes;
 * - `-1` when the value is unknown or not applicable;
 * - `-2` when the value is known but withheld (policy, consent);
 * - a bracketed name that is not a VAST macro is left untouched.
 */
export const vastMacroNames: ReadonlySet<string> = new Set(
  (
    'TIMESTAMP CACHEBUSTING CONTENTPLAYHEAD MEDIAPLAYHEAD BREAKPOSITION BLOCKEDADCATEGORIES ADCATEGORIES ADCOUNT ' +
    'TRANSACTIONID PLACEMENTTYPE ADTYPE UNIVERSALADID BREAKMAXDURATION BREAKMAXADS BREAKMINADLENGTH ' +
    'BREAKMAXADLENGTH IFA IFATYPE CLIENTUA SERVERUA DEVICEUA SERVERSIDE DEVICEIP LATLONG DOMAIN PAGEURL ' +
    'APPBUNDLE VASTVERSIONS APIFRAMEWORKS EXTENSIONS VERIFICATIONVENDORS OMIDPARTNER MEDIAMIME ' +
    'PLAYERCAPABILITIES CLICKTYPE PLAYERSTATE INVENTORYSTATE PLAYERSIZE ADPLAYHEAD ASSETURI CONTENTID ' +
    'CONTENTURI PODSEQUENCE ADSERVINGID CLICKPOS ERRORCODE REASON LIMITADTRACKING REGULATIONS GDPRCONSENT ' +
    'STOREID STOREURL PLAYBACKMETHODS CONTENTCAT GPPSTRING GPPSECTIONID DSAREQUIRED DSAPARAMS DSAPUBRENDER'
  ).split(' '),
);

/** A known value, `withheld` (-> "-2"), or absent (-> "-1"). */
export type MacroValue = string | number | 'withheld' | undefined;
export const withheld = 'withheld' as const;

/** Fills every IAB macro of `template`, bracketed or percent-encoded, from `values`. */
export function expandMacros(template: string, values: Readonly<Record<string, MacroValue>>): string {
  return substituteMacros(template, (name) => {
    if (!vastMacroNames.has(name)) return undefined;
    const v = Object.hasOwn(values, name) ? values[name] : undefined;
    if (v === undefined) return '-1';
    if (v === withheld) return '-2';
    return encodeMacroValue(v);
  });
}

/** Reads a macro-filled query value back: "-1" -> unknown, "-2" -> withheld. */
export function macroValue(
  raw: string | undefined,
): { kind: 'value'; value: string } | { kind: 'unknown' | 'withheld' } {
  if (raw === undefined || raw === '' || raw === '-1') return { kind: 'unknown' };
  if (raw === '-2') return { kind: 'withheld' };
  // An unreplaced macro means the player did not know it.
  if (/^\[[A-Z0-9_]+\]$/.test(raw)) return { kind: 'unknown' };
  return { kind: 'value', value: raw };
}

/** VAST [BREAKPOSITION]: 1 pre-roll, 2 mid-roll, 3 post-roll, 4 standalone. */
export function breakPositionMacro(position: 'pre' | 'mid' | 'post'): number {
  return position === 'pre' ? 1 : position === 'mid' ? 2 : 3;
}

/** HH:MM:SS.mmm, the format of VAST Duration, offsets and [ADPLAYHEAD] (one owner: the player's). */
export const clockTime: (ms: number) => string = vastClock;
