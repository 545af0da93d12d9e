import { describe, expect, it } from 'vitest';
import { formatClock, formatMoney, html, messagePage, navigationOf, page, wantsHtml } from '../src/index.ts';

describe('the site layout', () => {
  it('frames every page with the header, favicon, skip link and log-out for a viewer', () => {
    const out = page(
      { title: 'T <1>', viewer: { id: 'a1', name: 'Ada <x>', role: 'creator' }, current: '/dashboard' },
      html`<h1>Hi</h1>`,
    );
    expect(out).toContain('<title>T &lt;1&gt; · Swarmcast</title>');
    expect(out).toContain('rel="icon"');
    expect(out).toContain('href="#main"');
    expect(out).toContain('action="/logout"');
    expect(out).toContain('Ada &lt;x&gt;');
    expect(out).toContain('<a href="/dashboard" aria-current="page">My shows</a>');
    expect(out).toContain('/measure/creator/a1');
    expect(out).not.toContain('href="/login"');
  });

  it('links each role to its own places and anonymous visitors to log in', () => {
    expect(navigationOf(null)).toEqual([]);
    expect(navigationOf({ name: 'b', role: 'advertiser' }).map((l) => l[0])).toEqual(['/ads/dashboard']);
    expect(navigationOf({ id: 'x', name: 'c', role: 'admin' }).map((l) => l[0])).toEqual([
      '/dashboard',
      '/ads/dashboard',
      '/admin',
    ]);
    expect(page({ title: 'x' }, html``)).toContain('href="/login"');
  });

  it('message pages say what happened and where to go, with the way back encoded', () => {
    const p401 = messagePage(401, { returnTo: '/measure/admin?x="1"' });
    expect(p401).toContain('href="/login?next=%2Fmeasure%2Fadmin%3Fx%3D%221%22"');
    expect(messagePage(404, {})).toContain('Page not found');
    expect(messagePage(403, {})).toContain('Not for this account');
    expect(wantsHtml('text/html,application/xhtml+xml')).toBe(true);
    expect(wantsHtml('application/json')).toBe(false);
    expect(wantsHtml(undefined)).toBe(false);
  });

  it('writes money with its currency and times the way players do', () => {
    expect(formatMoney(40_000, 'EUR')).toBe('€0.04');
    expect(formatMoney(12_500_000, 'USD')).toBe('$12.50');
    expect(formatMoney(4_200, 'EUR')).toBe('€0.0042');
    expect(formatMoney(0, 'EUR')).toBe('€0.00');
    expect(formatMoney(1_000_000, 'ZZZ')).toMatch(/1\.00/);
    expect(formatClock(45_000)).toBe('0:45');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });
});
