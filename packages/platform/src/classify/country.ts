/**
 * The listener's country as the operator's proxy states it in a header (e.g. from its GeoIP):
 * ISO 3166-1 alpha-2; "XX"/"ZZ" style unknowns and junk are null, never guessed.
 */
export function parseCountry(raw: unknown): string | null {
  const s = Array.isArray(raw) ? raw[0] : raw;
  if (typeof s !== 'string') return null;
  const c = s.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(c) && c !== 'XX' && c !== 'ZZ' ? c : null;
}

/** The header the operator's proxy sets with the country, unless configured otherwise. */
export const defaultCountryHeader = 'x-swarmcast-country';

/**
 * The country of a request, from `header`, but only when the request reached us through a
 * trusted proxy (SWARMCAST_TRUST_PROXY): Fastify's `ips` then holds the socket's address and
 * at least one forwarded one. A client talking to us directly could write any header.
 */
export function trustedCountry(
  req: { ips?: readonly string[] | undefined; headers: Record<string, unknown> },
  header: string = defaultCountryHeader,
): string | null {
  if ((req.ips?.length ?? 0) < 2) return null;
  return parseCountry(req.headers[header.toLowerCase()]);
}
