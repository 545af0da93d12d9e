import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import {
  breakForMove,
  breakToPrefetch,
  parseTimeOffset,
  resolveBreaks,
  type ScheduledBreak,
  type TimelineMove,
  type VmapBreak,
} from '../src/ad-schedule.ts';
import { readVmap } from '../src/vmap-read.ts';

describe('parseTimeOffset', () => {
  it.each([
    ['start', { kind: 'start' }],
    ['end', { kind: 'end' }],
    ['00:10:00.000', { kind: 'time', ms: 600_000 }],
    ['00:00:05', { kind: 'time', ms: 5000 }],
    ['01:02:03.5', { kind: 'time', ms: 3_723_500 }],
    ['33.333%', { kind: 'percent', percent: 33.333 }],
    ['100%', { kind: 'percent', percent: 100 }],
    ['#2', { kind: 'position', n: 2 }],
    ['101%', null],
    ['00:61:00', null],
    ['#0', null],
    ['', null],
    ['soon', null],
  ])('%s', (s, want) => {
    expect(parseTimeOffset(s)).toEqual(want);
  });
});

const vb = (breakId: string, timeOffset: string): VmapBreak => ({
  breakId,
  timeOffset,
  adTagUri: `/ads/vast?break=${breakId}`,
});

describe('resolveBreaks', () => {
  it.each([
    [
      'time form',
      [vb('pre', 'start'), vb('m1', '00:10:00.000'), vb('post', 'end')],
      1_800_000,
      [],
      [
        ['pre', 'pre', 0],
        ['m1', 'mid', 600_000],
        ['post', 'post', 1_800_000],
      ],
      [],
    ],
    ['percent without duration waits', [vb('m1', '50%')], null, [], [], [['m1', 'needs-duration']]],
    [
      'percent with duration',
      [vb('m1', '50%'), vb('p', '100%')],
      60_000,
      [],
      [
        ['m1', 'mid', 30_000],
        ['p', 'post', 60_000],
      ],
      [],
    ],
    ['time 0 is a pre-roll', [vb('z', '00:00:00.000')], 60_000, [], [['z', 'pre', 0]], []],
    [
      'offset past the end is a post-roll',
      [vb('late', '01:00:00')],
      60_000,
      [],
      [['late', 'post', 60_000]],
      [],
    ],
    [
      'post without duration sorts last',
      [vb('post', 'end'), vb('m', '00:00:10')],
      null,
      [],
      [
        ['m', 'mid', 10_000],
        ['post', 'post', Number.POSITIVE_INFINITY],
      ],
      [],
    ],
    [
      'position form uses opportunities',
      [vb('a', '#1'), vb('b', '#2'), vb('c', '#3')],
      60_000,
      [0, 20_000],
      [
        ['a', 'pre', 0],
        ['b', 'mid', 20_000],
      ],
      [['c', 'no-opportunity']],
    ],
    ['bad offsets are reported', [vb('x', 'soon')], 60_000, [], [], [['x', 'bad-offset']]],
    [
      'duplicate ids keep the first',
      [vb('a', '00:00:10'), vb('a', '00:00:20')],
      60_000,
      [],
      [['a', 'mid', 10_000]],
      [],
    ],
    [
      'sorted by offset',
      [vb('b', '00:00:40'), vb('a', '00:00:20'), vb('p', 'start')],
      60_000,
      [],
      [
        ['p', 'pre', 0],
        ['a', 'mid', 20_000],
        ['b', 'mid', 40_000],
      ],
      [],
    ],
  ] as const)('%s', (_name, vmap, duration, opps, want, unplaced) => {
    const r = resolveBreaks(vmap, duration, opps);
    expect(r.breaks.map((b) => [b.id, b.position, b.offsetMs])).toEqual(want);
    expect(r.unplaced.map((u) => [u.breakId, u.reason])).toEqual(unplaced);
  });
});

describe('breakForMove', () => {
  const breaks: ScheduledBreak[] = resolveBreaks(
    [
      vb('pre', 'start'),
      vb('m10', '00:00:10'),
      vb('m20', '00:00:20'),
      vb('m40', '00:00:40'),
      vb('post', 'end'),
    ],
    60_000,
  ).breaks;
  const adv = (fromMs: number, toMs: number): TimelineMove => ({ kind: 'advance', fromMs, toMs });
  it.each([
    [
      'pre-roll before the first frame',
      [],
      { kind: 'before-first-frame' },
      { breakId: 'pre', resumeAtMs: 0 },
    ],
    ['pre-roll never replays', ['pre'], { kind: 'before-first-frame' }, null],
    ['playback crossing a mid-roll', ['pre'], adv(9_800, 10_050), { breakId: 'm10', resumeAtMs: 10_050 }],
    [
      'landing exactly on the offset plays it',
      [],
      adv(9_000, 10_000),
      { breakId: 'm10', resumeAtMs: 10_000 },
    ],
    ['starting exactly on the offset does not', [], adv(10_000, 10_200), null],
    ['no mid-roll crossed', [], adv(11_000, 12_000), null],
    ['seek past two plays the last crossed', [], adv(5_000, 30_000), { breakId: 'm20', resumeAtMs: 30_000 }],
    ['seek past three plays the last crossed', [], adv(0, 59_000), { breakId: 'm40', resumeAtMs: 59_000 }],
    ['a played break is not replayed', ['m20'], adv(15_000, 25_000), null],
    [
      'the last unplayed crossed one plays',
      ['m40'],
      adv(5_000, 50_000),
      { breakId: 'm20', resumeAtMs: 50_000 },
    ],
    ['seeking backwards plays nothing', [], adv(50_000, 5_000), null],
    ['post-roll at the end', [], { kind: 'ended', atMs: 60_000 }, { breakId: 'post', resumeAtMs: 60_000 }],
    ['post-roll only once', ['post'], { kind: 'ended', atMs: 60_000 }, null],
    [
      'mid-roll never fires at ended',
      [],
      { kind: 'ended', atMs: 60_000 },
      { breakId: 'post', resumeAtMs: 60_000 },
    ],
  ] as const)('%s', (_name, played, move, want) => {
    expect(breakForMove(breaks, new Set(played), move)).toEqual(want);
  });

  it('a seek past a mid-roll plays it exactly once over a whole session', () => {
    const played = new Set<string>();
    const plays: string[] = [];
    const moves: TimelineMove[] = [
      { kind: 'before-first-frame' },
      adv(0, 5_000),
      adv(5_000, 25_000), // seek past m10 and m20
      adv(25_000, 5_000), // seek back
      adv(5_000, 25_000), // play through again: m10 still unplayed, m20 played
      adv(25_000, 60_000),
      { kind: 'ended', atMs: 60_000 },
      { kind: 'ended', atMs: 60_000 },
    ];
    for (const m of moves) {
      const cue = breakForMove(breaks, played, m);
      if (cue) {
        played.add(cue.breakId);
        plays.push(cue.breakId);
      }
    }
    expect(plays).toEqual(['pre', 'm20', 'm10', 'm40', 'post']);
  });
});

describe('readVmap (@dailymotion/vmap)', () => {
  const parse = (s: string) => new DOMParser().parseFromString(s, 'text/xml');
  const doc = (body: string) =>
    `<?xml version="1.0"?><vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0">${body}</vmap:VMAP>`;
  const brk = (id: string, offset: string, uri: string, type = 'linear') =>
    `<vmap:AdBreak timeOffset="${offset}" breakType="${type}" breakId="${id}"><vmap:AdSource id="${id}-s" allowMultipleAds="true" followRedirects="true"><vmap:AdTagURI templateType="vast4">${uri}</vmap:AdTagURI></vmap:AdSource></vmap:AdBreak>`;

  it('reads the breaks the ads part renders', () => {
    const xml = doc(
      brk('pre-1', 'start', 'https://n.example/ads/vast?episode=e&amp;break=pre-1') +
        brk('mid-1', '00:10:00.000', 'https://n.example/ads/vast?episode=e&amp;break=mid-1') +
        brk('post-1', 'end', 'https://n.example/ads/vast?episode=e&amp;break=post-1'),
    );
    expect(readVmap(parse(xml))).toEqual([
      { breakId: 'pre-1', timeOffset: 'start', adTagUri: 'https://n.example/ads/vast?episode=e&break=pre-1' },
      {
        breakId: 'mid-1',
        timeOffset: '00:10:00.000',
        adTagUri: 'https://n.example/ads/vast?episode=e&break=mid-1',
      },
      { breakId: 'post-1', timeOffset: 'end', adTagUri: 'https://n.example/ads/vast?episode=e&break=post-1' },
    ]);
  });

  it.each([
    ['an empty VMAP', doc(''), 0],
    ['a non-linear break', doc(brk('n', 'start', 'https://x/', 'nonlinear')), 0],
    ['a break with no ad tag', doc(brk('n', 'start', '')), 0],
    ['a break with no id', doc(brk('', 'start', 'https://x/')), 0],
    ['not a VMAP at all', '<html><body>hi</body></html>', 0],
  ])('hostile input: %s', (_name, xml, n) => {
    expect(readVmap(parse(xml))).toHaveLength(n);
  });
});

describe('breakToPrefetch', () => {
  const breaks = resolveBreaks(
    [vb('pre', 'start'), vb('m10', '00:00:10'), vb('m20', '00:00:20'), vb('post', 'end')],
    60_000,
  ).breaks;
  it.each([
    ['nothing within the lead', [], 0, 5_000, null],
    ['the next mid-roll within the lead', [], 5_000, 5_000, 'm10'],
    ['never the pre-roll', [], 0, 100_000, 'm10'],
    ['skips played breaks', ['m10'], 5_000, 20_000, 'm20'],
    ['not a break already behind', [], 10_000, 5_000, null],
    ['the post-roll near the end', ['m10', 'm20'], 55_000, 10_000, 'post'],
  ] as const)('%s', (_name, played, at, lead, want) => {
    expect(breakToPrefetch(breaks, new Set(played), at, lead)?.id ?? null).toBe(want);
  });

  it('a post-roll of unknown offset is not prefetched', () => {
    const open = resolveBreaks([vb('post', 'end')], null).breaks;
    expect(breakToPrefetch(open, new Set(), 1e12, 1e15)).toBeNull();
  });
});
