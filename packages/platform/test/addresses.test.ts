import { isIPv4 } from 'node:net';
import { prng } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, unmapIPv4 } from '../src/index.ts';

/** What ipv4ToNumber was before it read characters itself: node:net's isIPv4, then split. */
function reference(ip: string): number | null {
  if (!isIPv4(ip)) return null;
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

describe('ipv4ToNumber (addresses of every beacon and announce)', () => {
  it('reads what isIPv4 accepts and refuses the rest', () => {
    const cases: Array<[string, number | null]> = [
      ['0.0.0.0', 0],
      ['255.255.255.255', 4294967295],
      ['127.0.0.1', 2130706433],
      ['203.0.113.77', 3405803853],
      ['256.0.0.1', null],
      ['1.2.3', null],
      ['1.2.3.4.5', null],
      ['01.2.3.4', null],
      ['1.2.3.04', null],
      ['1..2.3', null],
      ['.1.2.3', null],
      ['1.2.3.', null],
      [' 1.2.3.4', null],
      ['1.2.3.4\n', null],
      ['1.2.3.4/24', null],
      ['１.2.3.4', null],
      ['::ffff:1.2.3.4', null],
      ['', null],
      ['999999999999999', null],
    ];
    for (const [ip, want] of cases) {
      expect(ipv4ToNumber(ip), JSON.stringify(ip)).toBe(want);
      expect(reference(ip), JSON.stringify(ip)).toBe(want);
    }
  });

  it('agrees with isIPv4 on 200,000 hostile and near-valid strings', () => {
    const seed = Date.now() >>> 0;
    const random = prng(seed);
    const alphabet = '0123456789..:afx \n%/-+e';
    for (let i = 0; i < 200_000; i++) {
      let ip: string;
      if (random() < 0.5) {
        ip = '';
        const len = Math.floor(random() * 18);
        for (let k = 0; k < len; k++) ip += alphabet[Math.floor(random() * alphabet.length)];
      } else {
        const parts = Array.from({ length: 3 + Math.floor(random() * 3) }, () =>
          String(Math.floor(random() * 300)).padStart(random() < 0.1 ? 3 : 1, '0'),
        );
        ip = parts.join('.');
      }
      if (ipv4ToNumber(ip) !== reference(ip)) {
        throw new Error(
          `seed ${seed}: ${JSON.stringify(ip)} -> ${ipv4ToNumber(ip)}, isIPv4 says ${reference(ip)}`,
        );
      }
    }
  });

  it('unmapIPv4 unwraps only ::ffff:a.b.c.d', () => {
    expect(unmapIPv4('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(unmapIPv4('::FFFF:203.0.113.9')).toBe('203.0.113.9');
    expect(unmapIPv4('203.0.113.9')).toBe('203.0.113.9');
    expect(unmapIPv4('::1')).toBe('::1');
    expect(unmapIPv4('2001:db8::1')).toBe('2001:db8::1');
    expect(unmapIPv4('')).toBe('');
  });
});
