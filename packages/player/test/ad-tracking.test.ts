import { describe, expect, it } from 'vitest';
import {
  type AdView,
  type Beacon,
  canSkip,
  initialTracking,
  type MediaSignal,
  track,
} from '../src/ad-tracking.ts';
import { mediaErrorToVast, vastErrors } from '../src/vast-errors.ts';
import { cacheBuster, fillMacros, substituteMacros, vastClock } from '../src/vast-macros.ts';

const trackers = {
  impression: ['https://a/imp1', 'https://b/imp2'],
  error: ['https://a/err?code=[ERRORCODE]'],
  events: {
    loaded: ['u:loaded'],
    start: ['u:start'],
    firstQuartile: ['u:q1'],
    midpoint: ['u:mid'],
    thirdQuartile: ['u:q3'],
    complete: ['u:complete'],
    pause: ['u:pause'],
    resume: ['u:resume'],
    mute: ['u:mute'],
    unmute: ['u:unmute'],
    skip: ['u:skip'],
    closeLinear: ['u:close'],
  },
  progress: [{ offsetMs: 5000, urls: ['u:progress5'] }],
};
const video: AdView = { kind: 'video', durationMs: 20_000, skipOffsetMs: 5000, trackers };
const audio: AdView = { kind: 'audio', durationMs: 20_000, skipOffsetMs: null, trackers };

function run(view: AdView, signals: MediaSignal[], muted = false, volume = 1): Beacon[] {
  let s = initialTracking(muted, volume);
  const all: Beacon[] = [];
  for (const sig of signals) {
    const r = track(view, s, sig);
    s = r.state;
    all.push(...r.beacons);
  }
  return all;
}
const names = (b: Beacon[]) => b.map((x) => x.event);
const t = (ms: number): MediaSignal => ({ type: 'timeupdate', ms });

describe('VAST tracking state machine', () => {
  it.each<[string, AdView, MediaSignal[], string[], boolean?, number?]>([
    [
      'video: impression at the first frame, not at playing',
      video,
      [{ type: 'loadedmetadata' }, { type: 'playing' }],
      ['loaded'],
    ],
    [
      'video: first frame gives impression then start',
      video,
      [{ type: 'first-frame' }],
      ['impression', 'start'],
    ],
    [
      'video: a full play',
      video,
      [{ type: 'first-frame' }, t(5000), t(10_000), t(15_000), { type: 'ended' }],
      ['impression', 'start', 'firstQuartile', 'progress', 'midpoint', 'thirdQuartile', 'complete'],
    ],
    [
      'a jump fires every quartile passed, in order',
      video,
      [{ type: 'first-frame' }, t(16_000)],
      ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'progress'],
    ],
    [
      'quartiles fire once',
      video,
      [{ type: 'first-frame' }, t(5000), t(5100), t(5200)],
      ['impression', 'start', 'firstQuartile', 'progress'],
    ],
    [
      'ended fires the quartiles not yet seen',
      video,
      [{ type: 'first-frame' }, { type: 'ended' }],
      ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'progress', 'complete'],
    ],
    [
      'nothing after complete',
      video,
      [
        { type: 'first-frame' },
        { type: 'ended' },
        { type: 'pause' },
        { type: 'ended' },
        { type: 'error', code: 405 },
      ],
      ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'progress', 'complete'],
    ],
    ['ended before start fires nothing', video, [{ type: 'ended' }], []],
    ['audio: impression at playing when audible', audio, [{ type: 'playing' }], ['impression', 'start']],
    [
      'audio muted: start but no impression until unmuted',
      audio,
      [{ type: 'playing' }, t(1000), { type: 'volume', muted: false, volume: 1 }],
      ['start', 'unmute', 'impression'],
      true,
    ],
    ['audio at volume 0 is not an impression', audio, [{ type: 'playing' }], ['start'], false, 0],
    [
      'audio: volume up while paused is no impression yet',
      audio,
      [{ type: 'volume', muted: false, volume: 0.5 }, { type: 'playing' }],
      ['impression', 'start'],
      false,
      0,
    ],
    [
      'pause and resume after start',
      video,
      [{ type: 'first-frame' }, { type: 'pause' }, { type: 'pause' }, { type: 'playing' }],
      ['impression', 'start', 'pause', 'resume'],
    ],
    ['pause before start is not tracked', video, [{ type: 'pause' }, { type: 'playing' }], []],
    [
      'mute and unmute on transitions only',
      video,
      [
        { type: 'first-frame' },
        { type: 'volume', muted: true, volume: 1 },
        { type: 'volume', muted: true, volume: 0.2 },
        { type: 'volume', muted: false, volume: 0 },
        { type: 'volume', muted: false, volume: 0.3 },
      ],
      ['impression', 'start', 'mute', 'unmute'],
    ],
    [
      'skip before the skip offset is ignored',
      video,
      [{ type: 'first-frame' }, t(4000), { type: 'skip' }],
      ['impression', 'start'],
    ],
    [
      'skip after the skip offset ends the ad',
      video,
      [{ type: 'first-frame' }, t(6000), { type: 'skip' }, t(12_000), { type: 'ended' }],
      ['impression', 'start', 'firstQuartile', 'progress', 'skip'],
    ],
    [
      'a non-skippable ad ignores skip',
      audio,
      [{ type: 'playing' }, t(19_000), { type: 'skip' }],
      ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'progress'],
    ],
    [
      'error before render fires error only',
      video,
      [{ type: 'loadedmetadata' }, { type: 'error', code: 402 }, { type: 'first-frame' }],
      ['loaded', 'error'],
    ],
    [
      'close ends the ad',
      video,
      [{ type: 'first-frame' }, { type: 'close' }, t(10_000)],
      ['impression', 'start', 'closeLinear'],
    ],
  ])('%s', (_name, view, signals, want, muted = false, volume = 1) => {
    expect(names(run(view, signals, muted, volume))).toEqual(want);
  });

  it('all impression URLs are fired together in one beacon', () => {
    const imp = run(video, [{ type: 'first-frame' }]).filter((b) => b.event === 'impression');
    expect(imp).toHaveLength(1);
    expect(imp[0]?.urls).toEqual(['https://a/imp1', 'https://b/imp2']);
  });

  it('beacons carry the ad playhead and the error code', () => {
    const b = run(video, [
      { type: 'first-frame' },
      t(7000),
      { type: 'error', code: vastErrors.mediaDisplay },
    ]);
    expect(b.at(-1)).toEqual({ event: 'error', urls: trackers.error, adPlayheadMs: 7000, errorCode: 405 });
    expect(b.find((x) => x.event === 'firstQuartile')?.adPlayheadMs).toBe(7000);
  });

  it.each([
    [4999, false],
    [5000, true],
  ])('canSkip at %i ms is %s', (ms, want) => {
    let s = initialTracking(false, 1);
    s = track(video, s, { type: 'first-frame' }).state;
    s = track(video, s, t(ms)).state;
    expect(canSkip(video, s)).toBe(want);
    expect(canSkip(audio, s)).toBe(false);
  });

  it('the playhead never passes the duration nor goes back', () => {
    let s = initialTracking(false, 1);
    for (const sig of [{ type: 'first-frame' }, t(50_000), t(3000)] as MediaSignal[])
      s = track(video, s, sig).state;
    expect(s.playheadMs).toBe(20_000);
  });
});

describe('VAST error codes', () => {
  it.each([
    [1, 400],
    [2, 401],
    [3, 405],
    [4, 403],
    [99, 400],
  ])('MediaError %i -> %i', (code, want) => {
    expect(mediaErrorToVast(code)).toBe(want);
  });
});

describe('VAST macros', () => {
  const ctx = {
    nowMs: Date.UTC(2026, 10, 23, 21, 30, 5, 7),
    adPlayheadMs: 12_345,
    mediaPlayheadMs: 3_723_004,
    cacheBusting: '00123456',
    errorCode: null,
    breakPosition: 2 as const,
  };
  it.each([
    ['[TIMESTAMP]', '2026-11-23T21%3A30%3A05.007Z'],
    ['[ADPLAYHEAD]', '00%3A00%3A12.345'],
    ['[MEDIAPLAYHEAD]', '01%3A02%3A03.004'],
    ['[CONTENTPLAYHEAD]', '01%3A02%3A03.004'],
    ['[CACHEBUSTING]', '00123456'],
    ['[ERRORCODE]', '-1'],
    ['[BREAKPOSITION]', '2'],
    ['[IFA]', '[IFA]'],
    ['[timestamp]', '[timestamp]'],
    [
      '/beacon/ad/start?t=x.y&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]',
      '/beacon/ad/start?t=x.y&ts=2026-11-23T21%3A30%3A05.007Z&ah=00%3A00%3A12.345&cb=00123456',
    ],
  ])('%s', (tpl, want) => {
    expect(fillMacros(tpl, ctx)).toBe(want);
  });

  // Percent-encoded macros, as some ad servers write them in tracking URLs (IAB VAST 4.x:
  // the macro is the bracketed name; the brackets may reach us encoded).
  it.each([
    ['%5BTIMESTAMP%5D', '2026-11-23T21%3A30%3A05.007Z'],
    ['%5bCACHEBUSTING%5d', '00123456'],
    ['%5BADPLAYHEAD%5d', '00%3A00%3A12.345'],
    [
      'https://ads.example/t?ts=%5BTIMESTAMP%5D&cb=%5BCACHEBUSTING%5D&ah=[ADPLAYHEAD]&bp=%5BBREAKPOSITION%5D',
      'https://ads.example/t?ts=2026-11-23T21%3A30%3A05.007Z&cb=00123456&ah=00%3A00%3A12.345&bp=2',
    ],
    // Not handled by the player: left encoded as it came, like a bracketed unknown.
    ['%5BIFA%5D', '%5BIFA%5D'],
    ['%5Btimestamp%5D', '%5Btimestamp%5D'],
  ])('encoded %s', (tpl, want) => {
    expect(fillMacros(tpl, ctx)).toBe(want);
  });

  it.each([
    // Malformed or foreign encodings are left exactly as they are, and never throw.
    ['%5BTIMESTAMP]', '%5BTIMESTAMP]'],
    ['[TIMESTAMP%5D', '[TIMESTAMP%5D'],
    ['%255BTIMESTAMP%255D', '%255BTIMESTAMP%255D'],
    ['%%TIMESTAMP%%', '%%TIMESTAMP%%'],
    ['%5TIMESTAMP%5', '%5TIMESTAMP%5'],
    ['%ZZ%5B%5D[]%E0%A4%A', '%ZZ%5B%5D[]%E0%A4%A'],
    ['[ TIMESTAMP]', '[ TIMESTAMP]'],
    ['[1TIMESTAMP]', '[1TIMESTAMP]'],
    ['\uD800[CACHEBUSTING]\uDFFF', '\uD80000123456\uDFFF'],
    // Nested brackets: the inner macro is filled, the outer brackets stay.
    ['[[TIMESTAMP]]', '[2026-11-23T21%3A30%3A05.007Z]'],
    ['%5B%5BCACHEBUSTING%5D%5D', '%5B00123456%5D'],
    ['[%5BCACHEBUSTING%5D]', '[00123456]'],
    ['[[[CACHEBUSTING]', '[[00123456'],
  ])('hostile %s', (tpl, want) => {
    const raw = JSON.parse(`"${tpl}"`) as string;
    expect(fillMacros(raw, ctx)).toBe(JSON.parse(`"${want}"`));
  });

  it('one pass: a value that reads as a macro is not filled again', () => {
    const seen: string[] = [];
    const out = substituteMacros('[A]|%5BB%5D', (name) => {
      seen.push(name);
      return name === 'A' ? '%5BB%5D' : '[A]';
    });
    expect(out).toBe('%5BB%5D|[A]');
    expect(seen).toEqual(['A', 'B']);
  });

  it('very long URLs: linear, every macro filled, no catastrophic backtracking', () => {
    const unit = '&ts=[TIMESTAMP]&cb=%5BCACHEBUSTING%5D&x=[IFA]';
    const long = `https://ads.example/t?${unit.repeat(20_000)}`; // ~0.9 MB, 60,000 macros
    const t0 = performance.now();
    const out = fillMacros(long, ctx);
    const filled = performance.now() - t0;
    expect(out.split('00123456')).toHaveLength(20_001);
    expect(out.split('2026-11-23T21%3A30%3A05.007Z')).toHaveLength(20_001);
    expect(out.split('[IFA]')).toHaveLength(20_001);
    // Near-misses everywhere: an unclosed name of 1 MB, runs of brackets and of %5B.
    for (const hostile of [
      `[${'A'.repeat(1_000_000)}`,
      `%5B${'A'.repeat(1_000_000)}%5`,
      '['.repeat(1_000_000),
      '%5B'.repeat(300_000),
      `[${'A'.repeat(64)}]`.repeat(10_000),
    ]) {
      const h0 = performance.now();
      expect(fillMacros(hostile, ctx)).toBe(hostile);
      // Generous bound for a loaded machine: linear scans of these take a few ms; a
      // backtracking pattern would take minutes.
      expect(performance.now() - h0).toBeLessThan(2_000 + 10 * filled);
    }
  });

  it('unknown values are -1, withheld ones -2', () => {
    const u = { ...ctx, adPlayheadMs: null, mediaPlayheadMs: null, breakPosition: null, errorCode: 402 };
    expect(fillMacros('[ADPLAYHEAD]|[MEDIAPLAYHEAD]|[BREAKPOSITION]|[ERRORCODE]', u)).toBe('-1|-1|-1|402');
    expect(fillMacros('[MEDIAPLAYHEAD]|[ADPLAYHEAD]', { ...ctx, withheld: new Set(['MEDIAPLAYHEAD']) })).toBe(
      '-2|00%3A00%3A12.345',
    );
  });

  it.each([
    [0, '00:00:00.000'],
    [999, '00:00:00.999'],
    [61_001, '00:01:01.001'],
    [36_000_000 * 3, '30:00:00.000'],
    [-5, '00:00:00.000'],
  ])('vastClock(%i) = %s', (ms, want) => {
    expect(vastClock(ms)).toBe(want);
  });

  it.each([
    [0, '00000000'],
    [0.5, '50000000'],
    [0.999999999, '99999999'],
  ])('cacheBuster(%d) = %s', (r, want) => {
    expect(cacheBuster(() => r)).toBe(want);
  });
});
