import { isIP } from 'node:net';
import { PlatformError } from '../errors.ts';

/** Names Fastify (proxy-addr) understands for whole reserved ranges. */
const namedRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * The reverse proxies whose `X-Forwarded-For` / `Forwarded` headers the node believes
 * (SWARMCAST_TRUST_PROXY): a comma- or space-separated list of addresses, CIDR ranges, or
 * `loopback` / `linklocal` / `uniquelocal`. Empty (the default) trusts nobody: every
 * request's address is its socket's. Returns the list for Fastify's `trustProxy`.
 *
 * Never "trust everyone": a listener could then choose the address its downloads, beacons
 * and rate limits are counted under by sending a header.
 */
export function parseTrustedProxies(value: string | undefined, name = 'SWARMCAST_TRUST_PROXY'): string[] {
  if (value === undefined || value.trim() === '') return [];
  const entries = value
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    if (namedRanges.has(entry)) continue;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const ok =
      family !== 0 &&
      rest.length === 0 &&
      (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)));
    if (!ok) {
      throw new PlatformError(
        'PLT_CONFIG_INVALID',
        `${name}=${JSON.stringify(value)}: ${JSON.stringify(entry.slice(0, 60))} is not an address, a CIDR range or loopback/linklocal/uniquelocal`,
      );
    }
  }
  return entries;
}
