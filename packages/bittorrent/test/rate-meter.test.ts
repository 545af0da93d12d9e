import { describe, expect, it } from 'vitest';
import { RateMeter } from '../src/peer/rate-meter.ts';

/** The engine's one rate meter (connection, choker, request depth and stats read it). */
describe('RateMeter', () => {
  it('reads 0 before the first sample and counts every byte in `bytes`', () => {
    const m = new RateMeter();
    expect(m.rate(0)).toBe(0);
    m.add(1000, 10);
    m.add(500, 20_000);
    expect(m.bytes).toBe(1500);
  });

  it('a young meter divides by its age and one bucket, not by the whole window', () => {
    const m = new RateMeter(5000, 500);
    for (let t = 0; t < 1000; t += 100) m.add(10_000, t); // 100 kB in the first second
    // 100 kB over 1.499 s, not over the 5 s window (20 kB/s)
    expect(m.rate(999)).toBeCloseTo(100_000 / 1.499, 6);
  });

  it('a steady stream reads its rate once the window is full', () => {
    const m = new RateMeter(5000, 500);
    for (let t = 0; t <= 20_000; t += 10) m.add(1000, t); // 100 kB/s for 20 s
    // the newest bucket has just begun: 9.02 buckets' bytes over the 5 s window
    expect(m.rate(20_000)).toBeCloseTo(451_000 / 5, 6);
  });

  it('forgets bytes older than the window, even across a long silence', () => {
    const m = new RateMeter(5000, 500);
    m.add(1_000_000, 0);
    expect(m.rate(4000)).toBeGreaterThan(0);
    expect(m.rate(5600)).toBe(0);
    m.add(5000, 60_000);
    expect(m.rate(60_000)).toBe(1000); // 5 kB over the 5 s window
  });
});
