import type { ClientClass } from '../facts.ts';
import { type OpawgEntry, opawgData } from './opawg-data.ts';

/**
 * A user agent to a {@link ClientClass}, the OPAWG way: the first match in bots, then apps,
 * then libraries, then browsers names the client; a non-bot is also matched against the
 * devices list for its device class. Two choices of ours, both documented in README.md:
 *
 * - Watch entries of the devices list are tried first. The iPhone entry matches the bare
 *   "CFNetwork" token that every Apple OS sends, so in file order an Apple Watch
 *   ("Watch/1140 CFNetwork/... Darwin/...") would count as a phone, and the IAB Apple Watch
 *   rule could never apply.
 * - The OS is not in the OPAWG data; a short table below derives it from the device and
 *   well-known tokens.
 */
const DEVICE_OF_CATEGORY: Record<string, string> = {
  mobile: 'phone',
  computer: 'computer',
  watch: 'watch',
  smart_speaker: 'speaker',
  smart_tv: 'tv',
  auto: 'car',
};

/** Ordered: the first rule whose test passes names the OS. */
const OS_RULES: [RegExp, string][] = [
  [/watchOS|^Watch\/\d+ CFNetwork\//, 'watchOS'],
  [/tvOS|Apple ?TV|apple;apple_tv/, 'tvOS'],
  [/iPhone|iPad|iPod|\biOS\b|phone;ios/, 'iOS'],
  [/Android|android/, 'Android'],
  [/CrOS|Chromebook/, 'ChromeOS'],
  [/Macintosh|Mac OS X|macOS|OS X|macosx/, 'macOS'],
  // CFNetwork + Darwin without a Mac token: an iOS family app (Apple Podcasts on iPhone).
  [/CFNetwork\/.*Darwin\//, 'iOS'],
  [/Windows|Win32|Win64/, 'Windows'],
  [/Linux|linux|X11/, 'Linux'],
];

function firstMatch(entries: readonly OpawgEntry[], ua: string): OpawgEntry | undefined {
  for (const e of entries) if (e.re.test(ua)) return e;
  return undefined;
}

let devicesWatchFirst: OpawgEntry[] | undefined;

function deviceOf(ua: string): string {
  const data = opawgData();
  devicesWatchFirst ??= [
    ...data.devices.filter((d) => d.category === 'watch'),
    ...data.devices.filter((d) => d.category !== 'watch'),
  ];
  const d = firstMatch(devicesWatchFirst, ua);
  if (!d) return 'unknown';
  if (d.category === 'mobile' && /iPad|Tablet/i.test(d.name)) return 'tablet';
  return DEVICE_OF_CATEGORY[d.category ?? ''] ?? 'unknown';
}

function osOf(ua: string, device: string): string {
  if (device === 'watch' && /CFNetwork|Darwin|Apple Watch|Watch OS|watchOS|AppleCoreMedia/.test(ua)) {
    return 'watchOS';
  }
  for (const [re, os] of OS_RULES) if (re.test(ua)) return os;
  return 'unknown';
}

const UNKNOWN: ClientClass = Object.freeze({ app: 'unknown', device: 'unknown', os: 'unknown', bot: false });

/**
 * The IAB text (PTM v2.3, 5.5.2 step 1.2 item 7): "Duplicates on paired Apple Watch devices
 * indicated by UA's that begin with atc/ and include watchOS (for example atc/1.0 watchOS/),
 * or UA's that contain (null)/(null) watchOS". Checked before the bot list, which matches
 * some of these agents first and would file them under `bot`.
 */
export function isAppleWatchDuplicate(ua: string): boolean {
  return (ua.startsWith('atc/') && ua.includes('watchOS')) || ua.includes('(null)/(null) watchOS');
}

/** Uncached classification (see classifyUserAgent). */
export function classifyUserAgentUncached(ua: string): ClientClass {
  if (!ua) return UNKNOWN;
  if (isAppleWatchDuplicate(ua)) {
    return { app: 'Apple Watch (paired)', device: 'watch', os: 'watchOS', bot: false, watchDuplicate: true };
  }
  const data = opawgData();
  const bot = firstMatch(data.bots, ua);
  if (bot) return { app: bot.name, device: 'bot', os: 'unknown', bot: true };
  const app = firstMatch(data.apps, ua);
  const lib = app ? undefined : firstMatch(data.libraries, ua);
  if (lib?.category === 'bot') return { app: lib.name, device: 'bot', os: 'unknown', bot: true };
  const browser = app || lib ? undefined : firstMatch(data.browsers, ua);
  const device = deviceOf(ua);
  return { app: (app ?? lib ?? browser)?.name ?? 'unknown', device, os: osOf(ua, device), bot: false };
}

/** A small LRU: Map keeps insertion order, a hit is moved to the end. */
const CACHE_SIZE = 2048;
const cache = new Map<string, ClientClass>();

/**
 * Classifies a user agent with the OPAWG data (compiled once) behind a 2,048-entry LRU
 * cache: real traffic repeats a few hundred user agents. User agents over 512 characters
 * are cut before matching so a hostile header cannot make matching slow.
 */
export function classifyUserAgent(userAgent: string | undefined | null): ClientClass {
  const ua = (userAgent ?? '').slice(0, 512);
  const hit = cache.get(ua);
  if (hit) {
    cache.delete(ua);
    cache.set(ua, hit);
    return hit;
  }
  const c = Object.freeze(classifyUserAgentUncached(ua));
  cache.set(ua, c);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return c;
}
