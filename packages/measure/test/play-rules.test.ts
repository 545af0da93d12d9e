import { describe, expect, it } from 'vitest';
import type { PlayBeacon } from '../src/beacon-types.ts';
import {
  corroborated,
  isAnnounceEvidence,
  isDownloadEvidence,
  listenerCounts,
  listenThrough,
  type PlayRow,
  p2pOffload,
  periodStart,
  uniqueListeners,
  webSeedFallback,
} from '../src/rules/play-metrics.ts';
import {
  type HeldPlayBeacon,
  judgePlayBeacon,
  type PlaySession,
  releaseHeldPlays,
} from '../src/rules/play-sequence.ts';
import { suppress } from '../src/rules/suppress.ts';
import { announce, dl, key, range } from './support/facts.ts';
import { playBeacon } from './support/world.ts';

const t = Date.UTC(2026, 10, 4, 10);
const b = (over: Partial<PlayBeacon>): PlayBeacon => playBeacon({ sessionId: 's', listenerId: 'L', ...over });

function run(beacons: [Partial<PlayBeacon>, number][], ivt: (string | null)[] = []) {
  let s: PlaySession | null = null;
  return beacons.map(([over, at], i) => {
    const j = judgePlayBeacon(s, b(over), at, 600_000, ivt[i] ?? null);
    s = j.session;
    return j;
  });
}

describe('judgePlayBeacon: one test per rule', () => {
  it('a real session: start, progress every 10 s, complete', () => {
    const r = run([
      [{}, t],
      [
        {
          seq: 1,
          event: 'progress',
          positionMs: 10_000,
          listenedMs: 10_000,
          bytesFromPeers: 5,
          bytesFromWebSeed: 1,
        },
        t + 10_000,
      ],
      [
        {
          seq: 2,
          event: 'complete',
          positionMs: 600_000,
          listenedMs: 600_000,
          bytesFromPeers: 50,
          bytesFromWebSeed: 9,
        },
        t + 600_000,
      ],
    ]);
    expect(r.map((j) => j.reason)).toEqual([null, null, null]);
    expect(r[2]?.session).toMatchObject({ completed: true, maxPositionMs: 600_000, bytesFromPeers: 50 });
  });
  it('2 duplicate seq', () => {
    expect(
      run([
        [{}, t],
        [{ seq: 0, event: 'progress' }, t + 1],
      ])[1]?.reason,
    ).toBe('duplicate');
  });
  it('2 a seq skipped and judged later is judged by the place it claims, not as a duplicate', () => {
    const p = (seq: number, ms: number, at = t + ms + 500) =>
      [{ seq, event: 'progress', positionMs: ms, listenedMs: ms, bytesFromPeers: ms }, at] as [
        Partial<PlayBeacon>,
        number,
      ];
    // Seq 2 judged before seq 1 (another consumer committed it first): both count.
    const r = run([[{}, t], p(2, 120_000), p(1, 60_000), p(1, 60_000)]);
    expect(r.map((j) => j.reason)).toEqual([null, null, null, 'duplicate']);
    expect(r[1]?.session).toMatchObject({ lastSeq: 2, gaps: [[1, 1]], countersSeq: 2 });
    expect(r[2]?.session).toMatchObject({ lastSeq: 2, gaps: [], countersSeq: 2, listenedMs: 120_000 });
    // A skipped seq claiming more than a later one has: its counters go backwards in seq order.
    expect(run([[{}, t], p(2, 120_000), p(1, 180_000, t + 200_000)])[2]?.reason).toBe('contradiction');
    // Gaps are bounded: the lowest ranges are forgotten, and their seqs count as seen.
    const skipping = run([[{}, t], ...Array.from({ length: 20 }, (_, i) => p(2 * (i + 1), 1_000 * i))]);
    const last = skipping.at(-1)!.session!;
    expect(last.gaps).toHaveLength(16);
    expect(last.gaps[0]).toEqual([9, 9]);
    let s: PlaySession | null = last;
    const late = [1, 9].map((seq) => {
      const j = judgePlayBeacon(s, b({ seq, event: 'progress' }), t + 30_000, 600_000, null);
      s = j.session;
      return j.reason;
    });
    expect(late).toEqual(['duplicate', null]);
  });
  it('1 a seq skipped before the beacon that invalidated the session is judged as before it', () => {
    const r = run([
      [{}, t],
      [{ seq: 2, event: 'progress', positionMs: 120_000, listenedMs: 600_000 }, t + 120_500],
      [{ seq: 1, event: 'progress', positionMs: 60_000, listenedMs: 60_000 }, t + 60_500],
      [{ seq: 3, event: 'progress', positionMs: 180_000, listenedMs: 180_000 }, t + 180_500],
    ]);
    expect(r.map((j) => j.reason)).toEqual([null, 'too-fast', null, 'session-invalid']);
    expect(r[2]?.session).toMatchObject({ invalid: 'too-fast', listenedMs: 60_000, countersSeq: 1 });
  });
  it('3 out-of-order: progress before start (awaiting it: held by the pipeline), or a second start (final)', () => {
    expect(run([[{ event: 'progress' }, t]])[0]).toMatchObject({ reason: 'out-of-order', awaiting: 'start' });
    expect(
      run([
        [{}, t],
        [{ seq: 1 }, t + 1],
      ])[1],
    ).toMatchObject({ reason: 'out-of-order', awaiting: null });
  });
  it('4 unknown episode', () => {
    expect(judgePlayBeacon(null, b({}), t, null, null).reason).toBe('unknown-episode');
  });
  it('5 contradiction: position past the end, wrong duration, counters backwards, early complete', () => {
    expect(run([[{ positionMs: 700_000 }, t]])[0]?.reason).toBe('contradiction');
    expect(run([[{ durationMs: 300_000 }, t]])[0]?.reason).toBe('contradiction');
    expect(
      run([
        [{ bytesFromPeers: 10 }, t],
        [{ seq: 1, event: 'progress', bytesFromPeers: 5 }, t + 10_000],
      ])[1]?.reason,
    ).toBe('contradiction');
    expect(
      run([
        [{}, t],
        [{ seq: 1, event: 'complete', positionMs: 100_000 }, t + 600_000],
      ])[1]?.reason,
    ).toBe('contradiction');
    // A contradicting start opens an invalid session: what follows is judged at once
    // (session-invalid), never held for a start that has been judged.
    const after = run([
      [{ durationMs: 3_600_000 }, t],
      [{ seq: 1, event: 'progress', positionMs: 10_000, listenedMs: 10_000 }, t + 10_000],
    ]);
    expect(after.map((j) => [j.reason, j.awaiting])).toEqual([
      ['contradiction', null],
      ['session-invalid', null],
    ]);
    expect(after[0]?.session?.invalid).toBe('contradiction');
    // A session belongs to the episode it started on.
    expect(
      run([
        [{}, t],
        [{ seq: 1, event: 'progress', episodeId: 'ep2' }, t + 10_000],
      ])[1]?.reason,
    ).toBe('contradiction');
  });
  it('6 too-fast: ten minutes listened 20 s after start', () => {
    const r = run([
      [{}, t],
      [{ seq: 1, event: 'complete', positionMs: 600_000, listenedMs: 600_000 }, t + 20_000],
      [{ seq: 2, event: 'stop' }, t + 30_000],
    ]);
    expect(r[1]?.reason).toBe('too-fast');
    expect(r[2]?.reason).toBe('session-invalid');
  });
  it('IVT opens an invalid session', () => {
    const r = run(
      [
        [{}, t],
        [{ seq: 1, event: 'progress' }, t + 10_000],
      ],
      ['bot'],
    );
    expect(r.map((j) => j.reason)).toEqual(['bot', 'session-invalid']);
  });
});

const row = (over: Partial<PlayRow>): PlayRow => ({
  sessionId: 's',
  episodeId: 'ep1',
  audienceKey: key('k1'),
  listenerId: null,
  startedAt: t,
  maxPositionMs: 0,
  durationMs: 100,
  completed: false,
  bytesFromPeers: 0,
  bytesFromWebSeed: 0,
  invalid: null,
  ...over,
});

describe('play metrics', () => {
  it('listen-through: share of valid plays reaching each decile', () => {
    const plays = [
      row({ maxPositionMs: 100, completed: true }),
      row({ maxPositionMs: 50 }),
      row({ maxPositionMs: 5 }),
      row({ invalid: 'bot', maxPositionMs: 100 }),
    ];
    const c = listenThrough(plays);
    expect(c[0]).toBe(1);
    expect(c[1]).toBeCloseTo(2 / 3);
    expect(c[5]).toBeCloseTo(2 / 3);
    expect(c[6]).toBeCloseTo(1 / 3);
    expect(c[10]).toBeCloseTo(1 / 3);
  });
  it('corroboration needs real transport evidence: media bytes or a downloading/completed announce', () => {
    const yes = [
      dl({ time: t }),
      range(1000, 999_999, t),
      announce({ time: t, event: 'completed' }),
      announce({ time: t, event: 'update', left: 10, downloadedDelta: 16_384 }),
    ];
    for (const f of yes)
      expect(f.kind === 'download' ? isDownloadEvidence(f) : isAnnounceEvidence(f), f.id).toBe(true);
    // A 0-1 probe, a HEAD, a 304, a body-less answer, a bot; an announce that downloaded nothing.
    const noDownloads = [
      range(0, 1, t),
      dl({ time: t, method: 'HEAD', bytesSent: 0, rangeStart: null, rangeEnd: null }),
      dl({ time: t, status: 304, bytesSent: 0, rangeStart: null, rangeEnd: null }),
      dl({ time: t, status: 200, bytesSent: 0 }),
      dl({ time: t, client: { app: 'Googlebot', device: 'bot', os: 'unknown', bot: true } }),
    ];
    for (const f of noDownloads) expect(isDownloadEvidence(f), JSON.stringify(f)).toBe(false);
    expect(isAnnounceEvidence(announce({ time: t, event: 'started', left: 100, downloadedDelta: 0 }))).toBe(
      false,
    );
    expect(isAnnounceEvidence(announce({ time: t, event: 'stopped', left: 100, downloadedDelta: 0 }))).toBe(
      false,
    );
  });
  it('corroboration: same key, same episode, within 24 h', () => {
    const plays = [
      row({ sessionId: 'a' }),
      row({ sessionId: 'b', audienceKey: key('k2') }),
      row({ sessionId: 'c', episodeId: 'ep2' }),
    ];
    const s = corroborated(plays, [
      { episodeId: 'ep1', audienceKey: key('k1'), time: t - 3_600_000 },
      { episodeId: 'ep1', audienceKey: key('k2'), time: t + 90_000_000 },
    ]);
    expect([...s]).toEqual(['a']);
  });
  it('unique listeners per day, week (Monday) and month, exact', () => {
    const plays = [
      row({ listenerId: 'A' }),
      row({ listenerId: 'A', startedAt: t + 86_400_000 }),
      row({ listenerId: 'B' }),
      row({ audienceKey: key('k7') }),
      row({ listenerId: 'Z', invalid: 'bot' }),
    ];
    expect([...uniqueListeners(plays, 'day').values()]).toEqual([3, 1]);
    expect([...uniqueListeners(plays, 'week').values()]).toEqual([3]);
    expect([...uniqueListeners(plays, 'month').keys()]).toEqual([Date.UTC(2026, 10, 1)]);
    expect(periodStart(t, 'week')).toBe(Date.UTC(2026, 10, 2));
  });
  it('listener counts say when they are exact: monthly ids; weeks inside one month; no keyless plays', () => {
    const at = (y: number, m: number, d: number) => Date.UTC(y, m, d, 12);
    // Monday 23 Nov to Sunday 29 Nov 2026 lies in November; Monday 30 Nov reaches into December.
    const inside = [
      row({ listenerId: 'A', startedAt: at(2026, 10, 23) }),
      row({ listenerId: 'A', startedAt: at(2026, 10, 29) }),
      row({ listenerId: 'B', startedAt: at(2026, 10, 24) }),
    ];
    const across = [
      row({ listenerId: 'A', startedAt: at(2026, 10, 30) }),
      // The same browser on 1 December has December's id: counted again.
      row({ listenerId: 'A2', startedAt: at(2026, 11, 1) }),
    ];
    const weeks = listenerCounts([...inside, ...across], 'week');
    expect([...weeks]).toEqual([
      [Date.UTC(2026, 10, 23), { count: 2, exact: true }],
      [Date.UTC(2026, 10, 30), { count: 2, exact: false }],
    ]);
    const months = listenerCounts([...inside, ...across], 'month');
    expect([...months]).toEqual([
      [Date.UTC(2026, 10, 1), { count: 2, exact: true }],
      [Date.UTC(2026, 11, 1), { count: 1, exact: true }],
    ]);
    // A listener without an id (DNT / GPC) has a new key every day: weeks and months become bounds.
    const keyless = [
      row({ audienceKey: key('d1'), startedAt: at(2026, 10, 23) }),
      row({ audienceKey: key('d2'), startedAt: at(2026, 10, 24) }),
    ];
    expect(listenerCounts([...inside, ...keyless], 'week').get(Date.UTC(2026, 10, 23))).toEqual({
      count: 4,
      exact: false,
    });
    expect(listenerCounts(keyless, 'month').get(Date.UTC(2026, 10, 1))).toEqual({ count: 2, exact: false });
    for (const c of listenerCounts([...inside, ...keyless, ...across], 'day').values())
      expect(c.exact).toBe(true);
    // Invalid plays are not listeners and do not spoil exactness.
    expect(
      listenerCounts([...inside, row({ invalid: 'bot', startedAt: at(2026, 10, 25) })], 'month'),
    ).toEqual(new Map([[Date.UTC(2026, 10, 1), { count: 2, exact: true }]]));
  });
  it('P2P offload counts valid plays only', () => {
    expect(
      p2pOffload([
        row({ bytesFromPeers: 3, bytesFromWebSeed: 1 }),
        row({ bytesFromPeers: 100, invalid: 'rate' }),
      ]),
    ).toEqual({
      peers: 3,
      webSeed: 1,
      share: 0.75,
    });
  });
  it('counts listeners who could use peers and fell back to the web seed (valid plays only)', () => {
    expect(
      webSeedFallback([
        row({ peerMode: 'share', bytesFromPeers: 5, bytesFromWebSeed: 1 }),
        row({ peerMode: 'share', bytesFromPeers: 0, bytesFromWebSeed: 9 }),
        row({ peerMode: 'relay', bytesFromPeers: 0, bytesFromWebSeed: 9 }),
        // Did not try peers: not a fallback.
        row({ peerMode: 'off', bytesFromPeers: 0, bytesFromWebSeed: 9 }),
        row({ peerMode: 'none', bytesFromPeers: 0, bytesFromWebSeed: 9 }),
        row({ peerMode: null, bytesFromPeers: 0, bytesFromWebSeed: 9 }),
        // Got nothing at all yet: not counted as fallen back.
        row({ peerMode: 'share', bytesFromPeers: 0, bytesFromWebSeed: 0 }),
        row({ peerMode: 'share', bytesFromPeers: 0, bytesFromWebSeed: 9, invalid: 'rate' }),
      ]),
    ).toEqual({ couldUsePeers: 4, fellBack: 2 });
  });
  it('k = 5 suppression', () => {
    expect(suppress(42, 4)).toBeNull();
    expect(suppress(42, 5)).toBe(42);
  });
});

describe("releaseHeldPlays: beacons held for their session's start", () => {
  const h = (over: Partial<PlayBeacon>, at: number, until = t + 60_000): HeldPlayBeacon => ({
    id: `e${over.seq ?? 0}`,
    receivedAt: at,
    until,
    beacon: b(over),
    ivt: null,
    publishedDurationMs: 600_000,
  });
  const progress = (seq: number, ms: number) =>
    h({ seq, event: 'progress', positionMs: ms, listenedMs: ms }, t + ms + 500);

  it('judges held and new beacons together in receive order, whatever order they come in', () => {
    const r = releaseHeldPlays(null, [progress(2, 120_000), progress(1, 60_000), h({}, t)], t + 130_000);
    expect(r.judged.map((j) => [j.beacon.id, j.judgement.reason])).toEqual([
      ['e0', null],
      ['e1', null],
      ['e2', null],
    ]);
    expect(r.held).toEqual([]);
    expect(r.state).toMatchObject({ lastSeq: 2, listenedMs: 120_000 });
  });
  it('keeps them while the start is missing and their hold lasts (at most 32); then out of order', () => {
    const p = progress(1, 60_000);
    expect(releaseHeldPlays(null, [p], t + 59_999)).toMatchObject({ judged: [], held: [p] });
    const over = releaseHeldPlays(null, [p], t + 60_000);
    expect(over.judged[0]?.judgement).toMatchObject({ reason: 'out-of-order', awaiting: 'start' });
    expect(over.state).toBeNull();
    const many = Array.from({ length: 40 }, (_, i) => progress(i + 1, i));
    expect(releaseHeldPlays(null, many, t).held).toHaveLength(32);
  });
  it("ties in receive time go by seq, the player's sending order", () => {
    const r = releaseHeldPlays(
      null,
      [h({ seq: 2, event: 'progress' }, t), h({ seq: 1, event: 'progress' }, t), h({}, t)],
      t,
    );
    expect(r.judged.map((j) => [j.beacon.id, j.judgement.reason])).toEqual([
      ['e0', null],
      ['e1', null],
      ['e2', null],
    ]);
  });
});
