/**
 * Money as people read it: "€0.04", "$12.50". Amounts are integer micro-units (the ledger's
 * and the ad server's unit); below one cent the value keeps up to four decimals ("€0.0042")
 * so a new creator's first earnings do not show as zero.
 */
export function formatMoney(micros: number, currency: string): string {
  const units = micros / 1e6;
  const small = micros !== 0 && Math.abs(micros) < 10_000;
  try {
    return new Intl.NumberFormat('en', {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: small ? 4 : 2,
    }).format(units);
  } catch {
    // Not an ISO 4217 code Intl knows: the number and the code as given.
    return `${units.toFixed(small ? 4 : 2)} ${currency}`;
  }
}

/** "1:05", "1:02:03" from milliseconds (the way players show times). */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
