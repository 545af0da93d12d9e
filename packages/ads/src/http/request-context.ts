/**
 * Reading who is asking, from outside bytes: the player's random listener id, the country
 * the operator's proxy put in a header, and a device class. Anything malformed is treated
 * as unknown, never guessed.
 */
import { macroValue } from '../macros.ts';
import { type DeviceClass, deviceClasses } from '../model.ts';

/** The player's random rotating id: 8 to 64 URL-safe characters. Anything else is no id. */
export function parseListenerId(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const v = macroValue(raw);
  if (v.kind !== 'value') return null;
  return /^[A-Za-z0-9_-]{8,64}$/.test(v.value) ? v.value : null;
}

/** ISO 3166-1 alpha-2 from the operator's header (one owner: @swarmcast/platform). */
export { parseCountry } from '@swarmcast/platform';

/** A device class named by the player, or one guessed from the User-Agent. */
export function deviceClass(param: unknown, userAgent: unknown): DeviceClass {
  if (typeof param === 'string' && (deviceClasses as readonly string[]).includes(param))
    return param as DeviceClass;
  return deviceFromUserAgent(typeof userAgent === 'string' ? userAgent.slice(0, 512) : '');
}

const uaRules: Array<[RegExp, DeviceClass]> = [
  [/watch/i, 'watch'],
  [/CarPlay|Android Auto/i, 'car'],
  [/Sonos|Alexa|Echo|HomePod|Google-Speech|CrKey.*Audio/i, 'speaker'],
  [/SmartTV|SMART-TV|AppleTV|Roku|BRAVIA|Tizen.*TV|\bTV\b|CrKey/i, 'tv'],
  [/iPad|Tablet/i, 'tablet'],
  [/iPhone|Mobile|Android/i, 'phone'],
  [/Windows|Macintosh|X11|Linux|CrOS/i, 'computer'],
];

export function deviceFromUserAgent(ua: string): DeviceClass {
  for (const [re, cls] of uaRules) if (re.test(ua)) return cls;
  return 'unknown';
}
