import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw } from '../src/site/html.ts';

describe('html', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    [`"quoted" & 'single'`, '&quot;quoted&quot; &amp; &#39;single&#39;'],
    ['plain', 'plain'],
  ])('escapes %s', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
    expect(html`<p>${input}</p>`.value).toBe(`<p>${expected}</p>`);
  });

  it('does not double-escape nested templates and keeps raw markup', () => {
    const inner = html`<b>${'a<b'}</b>`;
    expect(html`<p>${inner}${raw('<i>x</i>')}</p>`.value).toBe('<p><b>a&lt;b</b><i>x</i></p>');
  });

  it('renders arrays and drops null, undefined and booleans', () => {
    expect(html`${['<', null, undefined, false, 1]}`.value).toBe('&lt;1');
  });
});
