import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { adsErrors } from '../src/index.ts';

it('documents every ADS_ code in docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const missing = Object.keys(adsErrors).filter((c) => !new RegExp(`\\|\\s*${c}\\s*\\|`).test(doc));
  expect(missing).toEqual([]);
});
