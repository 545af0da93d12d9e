import { createHmac } from 'node:crypto';
import { ipv4ToNumber, ipv6ToBigInt, unmapIPv4 } from '../classify/addresses.ts';
import type { AudienceKey } from '../facts.ts';
import type { SaltStore } from './salt-store.ts';

/** The last day utcDay formatted: every beacon and fact is keyed with it (~1 us a call). */
let lastDayNumber = Number.NaN;
let lastDay = '';

/** The UTC calendar day of a time, "YYYY-MM-DD": salts rotate at UTC midnight. */
export function utcDay(timeMs: number): string {
  const dayNumber = Math.floor(timeMs / 86_400_000);
  if (dayNumber !== lastDayNumber) {
    lastDay = new Date(timeMs).toISOString().slice(0, 10);
    lastDayNumber = dayNumber;
  }
  return lastDay;
}

/**
 * The part of an address that identifies a household: the whole IPv4 address, or the
 * first 64 bits of an IPv6 address (one customer's LAN; the IAB guidelines' rule). Mapped
 * IPv4 (::ffff:a.b.c.d) counts as IPv4. Anything unparsable is used as given.
 */
export function addressPrefix(ip: string | undefined): string {
  // Fastify's req.ip is undefined once the client has gone (its socket has no address any
  // more); a fact recorded then must still get a key, not throw in a detached promise.
  const plain = unmapIPv4((ip ?? '').trim());
  if (ipv4ToNumber(plain) !== null) return plain;
  const v6 = ipv6ToBigInt(plain);
  if (v6 === null) return plain;
  const top = v6 >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((s) => ((top >> s) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}

/** HMAC-SHA256 of (address prefix, user agent) under a salt, in hex. */
export function audienceKeyWithSalt(salt: Uint8Array, ip: string, userAgent: string): AudienceKey {
  return createHmac('sha256', salt)
    .update(`${addressPrefix(ip)}\n${userAgent}`)
    .digest('hex') as AudienceKey;
}

export interface AudienceKeys {
  /** The listener's pseudonym for the UTC day of `timeMs`. */
  audienceKey(ip: string, userAgent: string, timeMs: number): Promise<AudienceKey>;
}

/**
 * Audience keys under the daily salt of a {@link SaltStore}. The same person (address
 * prefix + user agent) gets the same key all day, on every process sharing the store, and
 * an unrelated key the next day; once the store destroys a salt, nobody can link the
 * day's keys back to addresses.
 */
export function createAudienceKeys(store: SaltStore): AudienceKeys {
  return {
    async audienceKey(ip, userAgent, timeMs) {
      const salt = await store.saltFor(utcDay(timeMs));
      return audienceKeyWithSalt(salt, ip, userAgent);
    },
  };
}
