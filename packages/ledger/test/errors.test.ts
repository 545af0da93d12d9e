import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ledgerErrors } from '../src/index.ts';

it('every ledger error code is listed in docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const missing = Object.keys(ledgerErrors).filter((c) => !new RegExp(`\\|\\s*${c}\\s*\\|`).test(doc));
  expect(missing).toEqual([]);
});
