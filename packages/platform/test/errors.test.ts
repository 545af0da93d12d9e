import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platformErrors } from '../src/index.ts';

describe('platform error catalogue', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
  it('lists every PLT_ code in docs/errors.md', () => {
    const missing = Object.keys(platformErrors).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
  it('uses only the PLT_ prefix', () => {
    expect(Object.keys(platformErrors).filter((c) => !c.startsWith('PLT_'))).toEqual([]);
  });
});
