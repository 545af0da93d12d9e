import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { catalogErrors } from '../src/index.ts';

it('every catalog error code is listed in docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  for (const code of Object.keys(catalogErrors)) expect(doc).toMatch(new RegExp(`\\| ${code} +\\|`));
});
