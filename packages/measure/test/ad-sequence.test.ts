import { describe, expect, it } from 'vitest';
import { type HeldAdBeacon, releaseHeldBeacons } from '../src/rules/ad-hold.ts';
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
  it('3 out-of-order is by receive time, not by the order judged (another consumer may judge first)', () => {
    // Nothing of the predecessor seen yet: out of order so far, naming what it awaits.
    expect(run([['midpoint', t]])[0]).toMatchObject({ reason: 'out-of-order', awaiting: 'start' });
    expect(run([['click', t]])[0]).toMatchObject({ reason: 'out-of-order', awaiting: 'impression' });
    expect(run([['progress', t, { offsetMs: 5_000 }]])[0]).toMatchObject({ awaiting: 'impression' });
    expect(
      run([
        ['impression', t],
        ['progress', t + 6_000, { offsetMs: 5_000 }],
      ])[1],
    ).toMatchObject({ reason: 'out-of-order', awaiting: 'start' });
    // The predecessor seen, received after this one: out of order for good (not too-fast).
    const late = run([
      ['impression', t + 100],
      ['start', t + 100],
      ['firstQuartile', t + 50],
      ['click', t + 60],
    ]);
    expect(late.slice(2).map((j) => [j.reason, j.awaiting, j.invalidateDecision])).toEqual([
      ['out-of-order', null, false],
      ['out-of-order', null, false],
    ]);
    // A later quartile judged first but received after this one: both in order.
    const swapped = run([
      ['impression', t],
      ['start', t],
      ['midpoint', t + 15_000],
      ['firstQuartile', t + 7_500],
      ['complete', t + 30_000],
      ['thirdQuartile', t + 22_500],
    ]);
    expect(swapped.map((j) => j.reason)).toEqual([null, null, null, null, null, null]);
    expect(swapped.every((j) => j.awaiting === null)).toBe(true);
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

describe('releaseHeldBeacons: beacons held for a predecessor', () => {
  const held = (
    id: string,
    event: HeldAdBeacon['event'],
    receivedAt: number,
    until = t + 60_000,
  ): HeldAdBeacon => ({
    ...beacon(event, receivedAt),
    id,
    audienceKey: 'k',
    until,
  });
  const started = (): DecisionState => ({
    decisionId: 'd',
    seen: { impression: t, start: t },
    invalid: null,
  });

  it('judges them in receive order once the predecessor is in the state', () => {
    const r = releaseHeldBeacons(
      started(),
      [
        held('b', 'midpoint', t + 15_000),
        held('a', 'firstQuartile', t + 7_500),
        held('c', 'midpoint', t + 16_000),
      ],
      claims,
      t + 20_000,
    );
    expect(r.judged.map((j) => [j.beacon.id, j.judgement.reason])).toEqual([
      ['a', null],
      ['b', null],
      ['c', 'duplicate'],
    ]);
    expect(r.held).toEqual([]);
    expect(r.state.seen).toMatchObject({ firstQuartile: t + 7_500, midpoint: t + 15_000 });
  });
  it('keeps them while the predecessor is missing and their hold lasts; then out of order', () => {
    const q = held('q', 'firstQuartile', t + 7_500, t + 60_000);
    const waiting = releaseHeldBeacons(empty(), [q], claims, t + 59_999);
    expect(waiting).toMatchObject({ judged: [], held: [q] });
    const over = releaseHeldBeacons(empty(), [q], claims, t + 60_000);
    expect(over.held).toEqual([]);
    expect(over.judged[0]?.judgement).toMatchObject({ reason: 'out-of-order', awaiting: 'start' });
  });
  it('times them by receive time: a quartile received too soon after its start is too-fast, whenever judged', () => {
    const r = releaseHeldBeacons(started(), [held('q', 'complete', t + 2_000)], claims, t + 600_000);
    expect(r.judged[0]?.judgement).toMatchObject({ reason: 'too-fast', invalidateDecision: true });
  });
});
