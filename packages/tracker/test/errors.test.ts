import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trackerErrors } from '../src/errors.ts';

describe('error catalogue', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
  it.each(Object.keys(trackerErrors))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`| ${code} | tracker |`);
  });
  it('every message fits what clients display (short, one line)', () => {
    for (const m of Object.values(trackerErrors)) expect(m.length < 80 && !m.includes('\n')).toBe(true);
  });
});
