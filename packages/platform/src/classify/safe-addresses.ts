import { readFile } from 'node:fs/promises';
import { parseAddressList } from './addresses.ts';

/**
 * Known "safe" addresses (dorms, corporations: many real listeners behind one address),
 * IAB Podcast Measurement Technical Guidelines v2.3, 5.5.2 note: "should be maintained in
 * an inclusion-list and be allowed for counting. These inclusion lists must be
 * re-validated at least every 90 days."
 *
 * File format: the CIDR list of addresses.ts plus one line `# validated: YYYY-MM-DD`, the
 * day the operator last re-validated the list. A list without that line, or validated more
 * than 90 days ago, is not applied (`contains` is false for every address) and says so in
 * `stale`, so a forgotten list cannot keep exempting addresses for ever.
 */
export interface SafeAddresses {
  contains(ip: string): boolean;
  /** The re-validation day (ms, UTC midnight), or null when the file has none. */
  validatedAt: number | null;
  /** True when the list is not applied: never or too long ago validated. */
  stale: boolean;
  rangeCount: number;
}

export const safeListMaxAgeMs = 90 * 86_400_000;

export function parseSafeAddresses(text: string, now: number, source = 'safe address list'): SafeAddresses {
  const list = parseAddressList(text, source);
  const m = /^#\s*validated:\s*(\d{4}-\d{2}-\d{2})\s*$/m.exec(text);
  const validatedAt = m ? Date.parse(`${m[1]}T00:00:00Z`) : null;
  const fresh =
    validatedAt !== null &&
    !Number.isNaN(validatedAt) &&
    validatedAt <= now &&
    now - validatedAt <= safeListMaxAgeMs;
  return {
    contains: (ip) => fresh && list.isDatacenter(ip),
    validatedAt: validatedAt !== null && !Number.isNaN(validatedAt) ? validatedAt : null,
    stale: !fresh,
    rangeCount: list.rangeCount,
  };
}

/** No list: nothing is exempt. */
export const noSafeAddresses: SafeAddresses = {
  contains: () => false,
  validatedAt: null,
  stale: false,
  rangeCount: 0,
};

export async function loadSafeAddresses(
  path: string | null | undefined,
  now: number,
): Promise<SafeAddresses> {
  if (!path) return noSafeAddresses;
  return parseSafeAddresses(await readFile(path, 'utf8'), now, path);
}
