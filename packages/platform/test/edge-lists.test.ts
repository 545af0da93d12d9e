import { describe, expect, it } from 'vitest';
import {
  classifyReferrer,
  noSafeAddresses,
  parseReferrerExclusions,
  parseSafeAddresses,
  safeListMaxAgeMs,
} from '../src/index.ts';

/** The IAB v2.3 5.5.2 edge lists: referrer classes (1.2.3) and known safe addresses (1.2 note). */
describe('referrer classes', () => {
  const excluded = parseReferrerExclusions(
    '# sources that are not listeners\nInflate.example.\n\nbots.test # farm\n',
  );
  it('parses the exclusion list: lower case, comments and a trailing dot dropped', () => {
    expect([...excluded].sort()).toEqual(['bots.test', 'inflate.example']);
  });
  it.each([
    [undefined, 'none'],
    ['', 'none'],
    ['https://listener.example/episode/1', 'valid'],
    ['http://127.0.0.1:8080/e/1', 'valid'],
    ['https://inflate.example/x', 'excluded'],
    ['https://WWW.Inflate.Example./x?y=1', 'excluded'],
    ['https://a.b.bots.test/', 'excluded'],
    ['https://notinflate.example/', 'valid'],
    ['https://example/', 'valid'],
    ['not a url', 'malformed'],
    ['//listener.example/', 'malformed'],
    ['javascript:alert(1)', 'malformed'],
    ['data:text/html,hi', 'malformed'],
    ['file:///etc/passwd', 'malformed'],
    ['ftp://listener.example/', 'malformed'],
    ['http://', 'malformed'],
    [`https://listener.example/${'a'.repeat(5000)}`, 'malformed'],
    ['https://\u0000/', 'malformed'],
  ] as const)('%j -> %s', (header, want) => {
    expect(classifyReferrer(header, excluded)).toBe(want);
  });
});

describe('known safe addresses', () => {
  const now = Date.UTC(2026, 11, 7);
  const list = (validated: string | null) =>
    `${validated ? `# validated: ${validated}\n` : ''}203.0.113.0/24\n2001:db8:1::/48\n`;
  it('applies a list re-validated within 90 days', () => {
    const s = parseSafeAddresses(list('2026-11-01'), now);
    expect(s.stale).toBe(false);
    expect(s.validatedAt).toBe(Date.UTC(2026, 10, 1));
    expect(s.contains('203.0.113.9')).toBe(true);
    expect(s.contains('::ffff:203.0.113.9')).toBe(true);
    expect(s.contains('2001:db8:1:2::1')).toBe(true);
    expect(s.contains('203.0.114.1')).toBe(false);
  });
  it('does not apply a list older than 90 days, without a validation day, or dated in the future', () => {
    const old = new Date(now - safeListMaxAgeMs - 86_400_000).toISOString().slice(0, 10);
    for (const text of [list(old), list(null), list('2027-01-01'), list('2026-13-45')]) {
      const s = parseSafeAddresses(text, now);
      expect(s.stale, text).toBe(true);
      expect(s.contains('203.0.113.9'), text).toBe(false);
    }
    expect(parseSafeAddresses(list(old), now).validatedAt).toBe(Date.parse(`${old}T00:00:00Z`));
  });
  it('rejects a malformed address line with a coded error', () => {
    expect(() => parseSafeAddresses('# validated: 2026-11-01\n203.0.113.0/33\n', now)).toThrow(
      expect.objectContaining({ code: 'PLT_ADDRESS_LIST_INVALID' }),
    );
  });
  it('no list exempts nobody', () => {
    expect(noSafeAddresses.contains('203.0.113.9')).toBe(false);
  });
});
