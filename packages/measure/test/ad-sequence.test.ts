import { describe, expect, it } from 'vitest';
import { type DecisionState, judgeAdBeacon } from '../src/rules/ad-sequence.ts';

const claims = { creativeDurationMs: 30_000 };
const t = 1_000_000;
const empty = (): DecisionState => ({ decisionId: 'd', seen: {}, invalid: null });
const beacon = (event: Parameters<typeof judgeAdBeacon>[1]['event'], receivedAt: number, extra = {}) => ({
  event,
  receivedAt,
  adPlayheadMs: null,
  offsetMs: null,
  ...extra,
});

/** Runs a sequence and returns the reasons. */
function run(events: [Parameters<typeof beacon>[0], number, object?][], ivt: (string | null)[] = []) {
  let state = empty();
  return events.map(([e, at, extra], i) => {
    const j = judgeAdBeacon(state, beacon(e, at, extra), claims, ivt[i] ?? null);
    state = j.state;
    return j;
  });
}

describe('judgeAdBeacon: one test per rule', () => {
  it('a well-timed sequence is valid and counts one impression', () => {
    const r = run([
      ['impression', t],
      ['start', t],
      ['firstQuartile', t + 7_500],
      ['midpoint', t + 15_000],
      ['thirdQuartile', t + 22_500],
      ['complete', t + 30_000],
      ['click', t + 31_000],
    ]);
    expect(r.map((j) => j.reason)).toEqual([null, null, null, null, null, null, null]);
    expect(r.filter((j) => j.countImpression)).toHaveLength(1);
  });
  it('2 duplicate: a replayed impression, quartile or click is kept as duplicate', () => {
    const r = run([
      ['impression', t],
      ['impression', t + 1],
      ['start', t],
      ['start', t + 2],
      ['click', t + 3],
      ['click', t + 4],
    ]);
    expect(r.map((j) => j.reason)).toEqual([null, 'duplicate', null, 'duplicate', null, 'duplicate']);
    expect(r.filter((j) => j.countImpression)).toHaveLength(1);
  });
  it('3 out-of-order: a quartile before start, or after a later quartile; a click before the impression', () => {
    expect(run([['midpoint', t]])[0]?.reason).toBe('out-of-order');
    expect(run([['click', t]])[0]?.reason).toBe('out-of-order');
    const r = run([
      ['impression', t],
      ['start', t],
      ['thirdQuartile', t + 23_000],
      ['midpoint', t + 24_000],
    ]);
    expect(r[3]?.reason).toBe('out-of-order');
  });
  it('a lost quartile beacon does not make the next one out of order', () => {
    const r = run([
      ['impression', t],
      ['start', t],
      ['midpoint', t + 15_000],
    ]);
    expect(r[2]?.reason).toBeNull();
  });
  it('4 too-fast: complete 5 s after start of a 30 s ad invalidates the decision', () => {
    const r = run([
      ['impression', t],
      ['start', t],
      ['complete', t + 5_000],
      ['click', t + 31_000],
    ]);
    expect(r[2]).toMatchObject({ reason: 'too-fast', invalidateDecision: true });
    expect(r[3]?.reason).toBe('decision-invalid');
  });
  it('4 too-fast applies to progress offsets too; tolerance allows a little clock skew', () => {
    expect(
      run([
        ['impression', t],
        ['start', t],
        ['progress', t + 5_000, { offsetMs: 20_000 }],
      ])[2]?.reason,
    ).toBe('too-fast');
    expect(
      run([
        ['impression', t],
        ['start', t],
        ['complete', t + 27_000],
      ])[2]?.reason,
    ).toBeNull();
  });
  it('5 contradiction: a playhead beyond the creative', () => {
    const r = run([
      ['impression', t, { adPlayheadMs: 90_000 }],
      ['impression', t + 1, { adPlayheadMs: 0 }],
    ]);
    expect(r[0]?.reason).toBe('contradiction');
    expect(r[1]?.reason).toBeNull();
  });
  it('1 decision-invalid and IVT: an invalid-traffic impression is kept with its reason and poisons the decision', () => {
    const r = run(
      [
        ['impression', t],
        ['start', t],
      ],
      ['bot', null],
    );
    expect(r[0]).toMatchObject({ reason: 'bot', countImpression: false });
    expect(r[1]?.reason).toBe('decision-invalid');
  });
  it('the judge does not modify the prior state', () => {
    const prior = empty();
    judgeAdBeacon(prior, beacon('impression', t), claims, null);
    expect(prior.seen).toEqual({});
  });
});
