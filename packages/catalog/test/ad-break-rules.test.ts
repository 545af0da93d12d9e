import { describe, expect, it } from 'vitest';
import { type AdBreakInput, normalizeAdBreaks } from '../src/ad-break-rules.ts';

const chapters = [
  { title: 'Intro', startMs: 0 },
  { title: 'Interview', startMs: 40_000 },
];

describe('normalizeAdBreaks', () => {
  it.each<[string, AdBreakInput[], string]>([
    ['none', [], ''],
    ['pre and post', [{ position: 'post' }, { position: 'pre' }], 'pre@0 post@100000'],
    [
      'mids sorted and numbered by time',
      [
        { position: 'mid', atMs: 70_000 },
        { position: 'mid', atMs: 30_000 },
      ],
      'mid-1@30000 mid-2@70000',
    ],
    ['mid at a chapter start', [{ position: 'mid', chapter: 1 }], 'mid-1@40000'],
    [
      'all kinds',
      [{ position: 'mid', atMs: 50_000 }, { position: 'post' }, { position: 'pre' }],
      'pre@0 mid-1@50000 post@100000',
    ],
  ])('accepts %s', (_name, input, expected) => {
    const r = normalizeAdBreaks(input, 100_000, chapters);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.map((b) => `${b.id}@${b.offsetMs}`).join(' ')).toBe(expected);
  });

  it.each<[string, unknown[]]>([
    ['two pre-rolls', [{ position: 'pre' }, { position: 'pre' }]],
    ['a mid at 0', [{ position: 'mid', atMs: 0 }]],
    ['a mid at the end', [{ position: 'mid', atMs: 100_000 }]],
    ['a mid past the end', [{ position: 'mid', atMs: 100_001 }]],
    ['a fractional time', [{ position: 'mid', atMs: 1.5 }]],
    [
      'two mids at one time',
      [
        { position: 'mid', atMs: 5000 },
        { position: 'mid', atMs: 5000 },
      ],
    ],
    ['a chapter that does not exist', [{ position: 'mid', chapter: 7 }]],
    ['a chapter at 0 (that is a pre-roll)', [{ position: 'mid', chapter: 0 }]],
    ['an unknown position', [{ position: 'middle' }]],
    ['too many ads', [{ position: 'pre', maxAds: 11 }]],
    ['a zero length', [{ position: 'pre', maxDurationMs: 0 }]],
    ['a string', ['pre']],
    ['too many breaks', Array.from({ length: 21 }, (_, i) => ({ position: 'mid', atMs: 1000 + i }))],
  ])('refuses %s', (_name, input) => {
    const r = normalizeAdBreaks(input as AdBreakInput[], 100_000, chapters);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('CAT_BAD_AD_BREAKS');
  });

  it('fills in default limits', () => {
    const r = normalizeAdBreaks([{ position: 'pre' }], 10_000, []);
    expect(r.ok && r.value[0]).toEqual({
      id: 'pre',
      position: 'pre',
      offsetMs: 0,
      maxDurationMs: 60_000,
      maxAds: 2,
    });
  });
});
