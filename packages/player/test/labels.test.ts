import { describe, expect, it } from 'vitest';
import { adLabel, clockLabel, cueDisplayText, p2pStatus, skipLabel } from '../src/ui/labels.ts';

describe('labels', () => {
  it.each([
    [0, '0:00'],
    [1, '0:01'],
    [12_000, '0:12'],
    [11_001, '0:12'],
    [600_000, '10:00'],
    [3_723_000, '1:02:03'],
    [-5, '0:00'],
    [Number.NaN, '0:00'],
  ])('clockLabel(%d) = %s', (ms, want) => {
    expect(clockLabel(ms)).toBe(want);
  });

  it.each([
    [0, 2, 12_000, 'Ad 1 of 2 · 0:12'],
    [1, 2, 500, 'Ad 2 of 2 · 0:01'],
    [0, 1, 0, 'Ad 1 of 1 · 0:00'],
  ])('adLabel(%i, %i, %i)', (i, n, ms, want) => {
    expect(adLabel(i, n, ms)).toBe(want);
  });

  it.each([
    [null, 0, null],
    [5000, 0, 'Skip in 5'],
    [5000, 4100, 'Skip in 1'],
    [5000, 5000, 'Skip ad'],
    [0, 0, 'Skip ad'],
  ])('skipLabel(%s, %i)', (offset, at, want) => {
    expect(skipLabel(offset, at)).toBe(want);
  });
});

describe('p2pStatus', () => {
  it('says where the episode comes from in words, with the share from peers', () => {
    expect(p2pStatus(0, 0, 0)).toEqual({
      text: 'Streaming from the server · no other listeners nearby yet',
      share: 0,
    });
    expect(p2pStatus(1, 750, 250)).toEqual({
      text: 'Sharing with 1 other listener · 75% of this episode came from them',
      share: 75,
    });
    expect(p2pStatus(3, 0, 100).text).toBe(
      'Sharing with 3 other listeners · 0% of this episode came from them',
    );
  });

  it.each([
    ['plain', 'plain'],
    ['<v Ada>Hello &amp; welcome', 'Ada: Hello & welcome'],
    ['<v.loud Bob Smith>Hi', 'Bob Smith: Hi'],
    ['<i>in</i> <b>bold</b> <c.yellow>class</c> <00:00:01.000>later', 'in bold class later'],
    ['a &lt;tag&gt; as text', 'a <tag> as text'],
    ['line one\nline two', 'line one\nline two'],
    ['<script>x</script>', 'x'],
  ])('cueDisplayText(%j) = %j', (raw, want) => {
    expect(cueDisplayText(raw)).toBe(want);
  });
});
