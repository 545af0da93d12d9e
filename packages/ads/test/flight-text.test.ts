import { describe, expect, it } from 'vitest';
import { flightText } from '../src/http/dashboard.ts';

describe("a campaign's flight on the dashboard", () => {
  const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
  it('reads as dates, or says which end is open instead of printing 1970 or 2100', () => {
    expect(flightText(day('2026-11-23'), day('2026-11-30'))).toBe('2026-11-23 – 2026-11-30');
    // The house campaign runs from the epoch to 2100.
    expect(flightText(0, day('2100-01-01'))).toBe('Always on');
    expect(flightText(day('2026-12-01'), day('2100-01-01'))).toBe('From 2026-12-01');
    expect(flightText(0, day('2027-01-31'))).toBe('Until 2027-01-31');
  });
});
