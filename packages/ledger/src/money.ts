/**
 * Money is integer micro-units (1 unit = 1,000,000 micros) held in JS numbers that must
 * stay safe integers (|x| < 2^53, i.e. about 9 billion units): every arithmetic result is
 * checked so that a float or an overflow can never reach the books.
 */
export type Micros = number & { readonly __unit?: 'micros' };

/** Parts per ten thousand (basis points): 7000 = 70 %. */
export type BasisPoints = number;

/** The creator's default share of ad revenue. */
export const defaultCreatorShareBps: BasisPoints = 7000;

/** Throws (a programmer error) when x is not a safe integer amount. */
export function assertMicros(x: number, what = 'amount'): Micros {
  if (!Number.isSafeInteger(x)) throw new RangeError(`${what} must be a safe integer of micros, got ${x}`);
  return x;
}

/**
 * Price of one impression from a CPM in micros: floor(cpm / 1000). The sub-micro remainder
 * (at most 999/1000 of a micro) is not charged: the advertiser never pays for a fraction
 * that the books could not carry.
 */
export function impressionPrice(cpmMicros: Micros): Micros {
  assertMicros(cpmMicros, 'cpmMicros');
  if (cpmMicros < 0) throw new RangeError('cpmMicros must not be negative');
  return Math.floor(cpmMicros / 1000);
}

/**
 * Splits an amount between creator and platform: the creator gets floor(amount * bps /
 * 10000), the platform the rest, so the parts always add up to the amount exactly.
 */
export function splitShare(
  amount: Micros,
  creatorShareBps: BasisPoints,
): { creator: Micros; platform: Micros } {
  assertMicros(amount);
  if (!Number.isInteger(creatorShareBps) || creatorShareBps < 0 || creatorShareBps > 10_000) {
    throw new RangeError(`creatorShareBps must be an integer in 0..10000, got ${creatorShareBps}`);
  }
  // amount * bps stays exact below 2^53 for amounts below ~9e11 micros; guard the rest.
  const product = amount * creatorShareBps;
  const creator = Number.isSafeInteger(product)
    ? Math.floor(product / 10_000)
    : Number((BigInt(amount) * BigInt(creatorShareBps)) / 10_000n);
  return { creator, platform: amount - creator };
}

/** "12.345678" for display; exact (no float division). */
export function formatMicros(x: Micros): string {
  assertMicros(x);
  const sign = x < 0 ? '-' : '';
  const abs = Math.abs(x);
  const units = Math.floor(abs / 1_000_000);
  const frac = String(abs % 1_000_000).padStart(6, '0');
  return `${sign}${units}.${frac}`;
}
