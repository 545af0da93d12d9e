import { describe, expect, it } from 'vitest';
import { parseByteRange } from '../src/node/stream-server.ts';
import { prng } from './prng.ts';

describe('Range header of the --stream server', () => {
  it('reads the single-range forms players send', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseByteRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseByteRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseByteRange(undefined, 1000)).toBeUndefined();
  });

  it('answers 416 only for well-formed ranges outside the file', () => {
    expect(parseByteRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=5-4', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-0', 0)).toBe('unsatisfiable');
  });

  it('ignores what it does not understand (RFC 9110): several ranges, other units, garbage', () => {
    for (const h of [
      'bytes=0-1,5-6',
      'items=0-1',
      'bytes=',
      'bytes=-',
      'bytes=a-b',
      'bytes=99999999999999999-',
      '',
    ]) {
      expect(parseByteRange(h, 1000), h).toBeUndefined();
    }
    const rand = prng(7);
    for (let i = 0; i < 2000; i++) {
      const h = Array.from({ length: Math.floor(rand() * 24) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 95)),
      ).join('');
      const size = Math.floor(rand() * 5000);
      const r = parseByteRange(`bytes=${h}`, size);
      if (r && r !== 'unsatisfiable') {
        expect(r.start).toBeGreaterThanOrEqual(0);
        expect(r.end).toBeLessThan(size);
        expect(r.start).toBeLessThanOrEqual(r.end);
      }
    }
  });
});
