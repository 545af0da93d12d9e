import { describe, expect, it } from 'vitest';
import {
  checkEntry,
  formatMicros,
  impressionEntry,
  impressionPrice,
  payoutEntry,
  refundEntry,
  splitShare,
} from '../src/index.ts';

describe('money', () => {
  it.each([
    [25_000_000, 25_000],
    [1_000, 1],
    [999, 0],
    [12_345_678, 12_345],
    [0, 0],
  ])('impressionPrice(%i) = %i (floor of CPM / 1000)', (cpm, price) => {
    expect(impressionPrice(cpm)).toBe(price);
  });

  it('rejects a non-integer or negative CPM', () => {
    expect(() => impressionPrice(1.5)).toThrow(RangeError);
    expect(() => impressionPrice(-1)).toThrow(RangeError);
  });

  it.each([
    [25_000, 7000, 17_500, 7_500],
    [1, 7000, 0, 1],
    [3, 5000, 1, 2],
    [12_345, 7000, 8_641, 3_704],
    [10, 10_000, 10, 0],
    [10, 0, 0, 10],
  ])('splitShare(%i, %i bps) = creator %i + platform %i', (amount, bps, creator, platform) => {
    const s = splitShare(amount, bps);
    expect(s).toEqual({ creator, platform });
    expect(s.creator + s.platform).toBe(amount);
  });

  it('splits huge amounts exactly through BigInt', () => {
    const amount = 9_000_000_000_000_000;
    const s = splitShare(amount, 7001);
    expect(BigInt(s.creator)).toBe((BigInt(amount) * 7001n) / 10_000n);
  });

  it('formats micros without float error', () => {
    expect(formatMicros(1_234_567)).toBe('1.234567');
    expect(formatMicros(-5)).toBe('-0.000005');
  });
});

describe('journal entries', () => {
  const charge = { decisionId: 'd1', advertiserId: 'a1', creatorId: 'c1', cpmMicros: 30_000_000, time: 5 };

  it('an impression moves CPM/1000 from the advertiser, 70 % to the creator, the rest to the platform', () => {
    const e = impressionEntry(charge, 7000);
    expect(e.id).toBe('imp:d1');
    expect(checkEntry(e)).toBeNull();
    const by = (acc: string) => e.lines.filter((l) => l.account === acc).reduce((s, l) => s + l.amount, 0);
    expect(by('advertiser:a1')).toBe(-30_000);
    expect(by('creator:c1')).toBe(21_000);
    expect(by('platform')).toBe(9_000);
    expect(by('revenue')).toBe(0);
  });

  it('a refund is the exact negation of the charge', () => {
    const e = impressionEntry(charge, 7000);
    const r = refundEntry(e, 9);
    expect(r.id).toBe('refund:d1');
    expect(checkEntry(r)).toBeNull();
    expect(r.lines.map((l, i) => l.amount + (e.lines[i]?.amount ?? 0))).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects unbalanced, empty, fractional and unknown-account entries with codes', () => {
    const base = { id: 'x', kind: 'payout' as const, ref: 'x', time: 0 };
    expect(checkEntry({ ...base, lines: [{ account: 'creator:c', amount: 1 }] })?.code).toBe(
      'LED_UNBALANCED',
    );
    expect(checkEntry({ ...base, lines: [] })?.code).toBe('LED_EMPTY_ENTRY');
    expect(
      checkEntry({
        ...base,
        lines: [
          { account: 'creator:c', amount: 0.5 },
          { account: 'payouts', amount: -0.5 },
        ],
      })?.code,
    ).toBe('LED_BAD_AMOUNT');
    expect(
      checkEntry({
        ...base,
        lines: [
          { account: 'nobody:c', amount: 1 },
          { account: 'payouts', amount: -1 },
        ],
      })?.code,
    ).toBe('LED_UNKNOWN_ACCOUNT');
    expect(checkEntry(payoutEntry('p', 'c', 10, 0))).toBeNull();
  });
});
