import { vastClock } from '@swarmcast/player/vast-macros';
import { describe, expect, it } from 'vitest';
import {
  AdsStore,
  capsAllow,
  clockTime,
  expandMacros,
  formatTimeOffset,
  inDayPart,
  macroValue,
  matchesTargeting,
  pace,
  parseTimeOffset,
  plannedAt,
  type Targeting,
  type TargetingContext,
  type TimeOffset,
  withheld,
} from '../src/index.ts';
import { t0 } from './helpers.ts';

const ctx: TargetingContext = {
  showId: 'show-1',
  categories: ['Technology', 'news'],
  language: 'de-CH',
  position: 'mid',
  country: 'CH',
  device: 'phone',
  now: t0 + 9 * 3_600_000, // Monday 09:00 UTC
};

describe('targeting', () => {
  const cases: Array<[string, Targeting, Partial<TargetingContext>, boolean]> = [
    ['empty admits all', {}, {}, true],
    ['empty lists admit all', { showIds: [], countries: [] }, {}, true],
    ['show listed', { showIds: ['show-1'] }, {}, true],
    ['show not listed', { showIds: ['show-2'] }, {}, false],
    ['category case-insensitive', { categories: ['technology'] }, {}, true],
    ['category absent', { categories: ['sports'] }, {}, false],
    ['language prefix', { languages: ['de'] }, {}, true],
    ['language exact', { languages: ['de-CH'] }, {}, true],
    ['language other region', { languages: ['de-AT'] }, {}, false],
    ['language is not a bare prefix', { languages: ['d'] }, {}, false],
    ['position', { positions: ['pre', 'mid'] }, {}, true],
    ['position miss', { positions: ['post'] }, {}, false],
    ['country', { countries: ['CH', 'DE'] }, {}, true],
    ['country miss', { countries: ['DE'] }, {}, false],
    ['unknown country never matches a list', { countries: ['CH'] }, { country: null }, false],
    ['device', { devices: ['phone'] }, {}, true],
    ['device miss', { devices: ['speaker'] }, {}, false],
    ['day-part in', { dayParts: [{ days: [1], fromHour: 6, toHour: 10 }] }, {}, true],
    ['day-part other day', { dayParts: [{ days: [2], fromHour: 6, toHour: 10 }] }, {}, false],
    ['day-part end is exclusive', { dayParts: [{ days: [1], fromHour: 6, toHour: 9 }] }, {}, false],
    ['all fields must hold', { showIds: ['show-1'], devices: ['tv'] }, {}, false],
  ];
  it.each(cases)('%s', (_n, t, over, want) => {
    expect(matchesTargeting(t, { ...ctx, ...over })).toBe(want);
  });

  const wrap = { days: [1], fromHour: 22, toHour: 2 }; // Monday 22:00 to Tuesday 02:00
  const dayPartCases: Array<[string, number, boolean]> = [
    ['Monday 23:00', t0 + 23 * 3_600_000, true],
    ['Tuesday 01:00 (started Monday)', t0 + 25 * 3_600_000, true],
    ['Tuesday 02:00', t0 + 26 * 3_600_000, false],
    ['Monday 01:00 (started Sunday)', t0 + 1 * 3_600_000, false],
  ];
  it.each(dayPartCases)('day-part past midnight: %s', (_n, now, want) => {
    expect(inDayPart(wrap, now)).toBe(want);
  });
});

describe('frequency caps', () => {
  const hour = 3_600_000;
  const cases: Array<[string, Array<{ max: number; periodMs: number }>, string | null, number[], boolean]> = [
    ['no caps, anonymous', [], null, [], true],
    ['capped item, anonymous listener', [{ max: 5, periodMs: hour }], null, [], false],
    ['under cap', [{ max: 2, periodMs: hour }], 'l', [t0 - 10], true],
    ['at cap', [{ max: 2, periodMs: hour }], 'l', [t0 - 10, t0 - 20], false],
    ['old impressions slide out', [{ max: 2, periodMs: hour }], 'l', [t0 - hour, t0 - 2 * hour], true],
    [
      'second cap binds',
      [
        { max: 5, periodMs: hour },
        { max: 1, periodMs: 24 * hour },
      ],
      'l',
      [t0 - 3 * hour],
      false,
    ],
  ];
  it.each(cases)('%s', (_n, caps, listener, seen, want) => {
    expect(capsAllow(caps, listener, seen, t0)).toBe(want);
  });
});

describe('pacing', () => {
  const flight = { startsAt: t0, endsAt: t0 + 24 * 3_600_000 };
  const goal = { kind: 'impressions' as const, impressions: 24_000 };
  const at = (h: number) => t0 + h * 3_600_000;
  const cases: Array<[string, number, number, 'even' | 'asap', string, boolean]> = [
    ['before flight', 0, at(-1), 'even', 'not-started', false],
    ['on plan', 12_000, at(12), 'even', 'on-track', true],
    ['exactly at the lookahead ceiling', 12_000 + 33, at(12), 'even', 'on-track', true],
    ['ahead of plan beyond lookahead', 12_100, at(12), 'even', 'on-track', false],
    ['far ahead', 20_000, at(12), 'even', 'ahead', false],
    ['behind', 5_000, at(12), 'even', 'behind', true],
    ['asap ignores plan', 20_000, at(12), 'asap', 'ahead', true],
    ['goal met', 24_000, at(12), 'even', 'complete', false],
    ['flight over', 10, at(24), 'even', 'ended', false],
  ];
  it.each(cases)('%s', (_n, delivered, now, mode, status, eligible) => {
    const p = pace(goal, { impressions: delivered, spendMilliMicros: 0 }, flight, mode, now);
    expect(p.status).toBe(status);
    expect(p.eligible).toBe(eligible);
  });

  it('measures spend goals in thousandths of a micro-unit', () => {
    const p = pace(
      { kind: 'spend', micros: 1_000_000 },
      { impressions: 0, spendMilliMicros: 500_000_000 },
      flight,
      'even',
      at(12),
    );
    expect(p.planned).toBe(500_000_000);
    expect(p.status).toBe('on-track');
  });
});

describe('VMAP time offsets', () => {
  const cases: Array<[string, TimeOffset | null]> = [
    ['start', { kind: 'start' }],
    ['end', { kind: 'end' }],
    ['00:10:00.000', { kind: 'time', ms: 600_000 }],
    ['01:02:03', { kind: 'time', ms: 3_723_000 }],
    ['25%', { kind: 'percent', percent: 25 }],
    ['33.333%', { kind: 'percent', percent: 33.333 }],
    ['#3', { kind: 'position', n: 3 }],
    ['101%', null],
    ['#0', null],
    ['00:61:00', null],
    ['10', null],
    ['', null],
  ];
  it.each(cases)('%s', (s, want) => {
    expect(parseTimeOffset(s)).toEqual(want);
    if (want) expect(parseTimeOffset(formatTimeOffset(want))).toEqual(want);
  });
});

describe('macros', () => {
  const cases: Array<[string, Record<string, string | number | 'withheld' | undefined>, string]> = [
    ['a?ts=[TIMESTAMP]', { TIMESTAMP: '2026-11-23T10:00:00.000Z' }, 'a?ts=2026-11-23T10%3A00%3A00.000Z'],
    ['a?ah=[ADPLAYHEAD]', {}, 'a?ah=-1'],
    ['a?ip=[DEVICEIP]', { DEVICEIP: withheld }, 'a?ip=-2'],
    ['a?x=[NOTAMACRO]', {}, 'a?x=[NOTAMACRO]'],
    ['a?c=[ERRORCODE]&p=[BREAKPOSITION]', { ERRORCODE: 303, BREAKPOSITION: 2 }, 'a?c=303&p=2'],
    // Percent-encoded, as some ad servers write them: filled the same (one substitution,
    // the player's substituteMacros); an encoded non-macro is left as it came.
    ['a?ts=%5BTIMESTAMP%5D&ip=%5bDEVICEIP%5d', { TIMESTAMP: 't', DEVICEIP: withheld }, 'a?ts=t&ip=-2'],
    ['a?x=%5BNOTAMACRO%5D&y=%5BTIMESTAMP]', {}, 'a?x=%5BNOTAMACRO%5D&y=%5BTIMESTAMP]'],
    // A value is data: encoded, never scanned again, a lone surrogate no URIError.
    [
      'a?p=[PAGEURL]',
      { PAGEURL: 'https://x/?a=[CACHEBUSTING]' },
      'a?p=https%3A%2F%2Fx%2F%3Fa%3D%5BCACHEBUSTING%5D',
    ],
    ['a?p=[PAGEURL]', { PAGEURL: '\uD800x' }, 'a?p=%EF%BF%BDx'],
    // Inherited names are not values.
    ['a?c=[CONTENTID]', Object.create({ CONTENTID: 'proto' }) as Record<string, string>, 'a?c=-1'],
  ];
  it.each(cases)('%s', (tpl, values, want) => {
    expect(expandMacros(tpl, values)).toBe(want);
  });
  it("one HH:MM:SS.mmm formatter (the player's)", () => {
    expect(clockTime).toBe(vastClock);
    expect(clockTime(3_723_004)).toBe('01:02:03.004');
  });
  it('reads -1, -2 and unreplaced macros back', () => {
    expect(macroValue('-1')).toEqual({ kind: 'unknown' });
    expect(macroValue('-2')).toEqual({ kind: 'withheld' });
    expect(macroValue('[ADPLAYHEAD]')).toEqual({ kind: 'unknown' });
    expect(macroValue('00:00:03.000')).toEqual({ kind: 'value', value: '00:00:03.000' });
  });
});

describe('store', () => {
  it('keeps only the impression times caps need', () => {
    const s = new AdsStore();
    s.putCampaign({
      id: 'c',
      advertiserId: 'a',
      name: 'c',
      startsAt: 0,
      endsAt: 1e15,
      currency: 'EUR',
      totalBudgetMicros: 1e9,
      dailyBudgetMicros: 0,
      paused: false,
    });
    s.putLineItem({
      id: 'li',
      campaignId: 'c',
      name: 'li',
      priority: 'standard',
      goal: { kind: 'impressions', impressions: 100 },
      cpmMicros: 1000,
      targeting: {},
      caps: [{ max: 1, periodMs: 1000 }],
      pacing: 'asap',
      exclusionCategories: [],
      creativeIds: [],
      paused: false,
    });
    s.recordImpression('li', 'l1', 0);
    s.recordImpression('li', 'l1', 5000);
    expect(s.seen('l1', 'li')).toEqual([5000]);
    s.pruneSeen(10_000);
    expect(s.seen('l1', 'li')).toEqual([]);
  });
});

describe('pacing with day-parts', () => {
  const flight = { startsAt: t0, endsAt: t0 + 2 * 86_400_000 }; // Monday and Tuesday
  const morning = [{ days: [1, 2], fromHour: 6, toHour: 10 }]; // 8 open hours in the flight
  const at = (h: number) => t0 + h * 3_600_000;
  const cases: Array<[string, number, number]> = [
    ['before the first window', at(5), 0],
    ['half way through the first window', at(8), 200],
    ['between windows the plan stands still', at(20), 400],
    ['end of the second window', at(34), 800],
    ['after the last window', at(47), 800],
  ];
  it.each(cases)('%s', (_n, t, want) => {
    expect(plannedAt(800, flight.startsAt, flight.endsAt, t, morning)).toBeCloseTo(want, 6);
  });
  it('plans nothing when no window falls in the flight', () => {
    expect(
      plannedAt(800, flight.startsAt, flight.endsAt, at(30), [{ days: [5], fromHour: 1, toHour: 2 }]),
    ).toBe(0);
  });
});
