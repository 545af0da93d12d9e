import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { originErrors } from '../src/index.ts';

it('lists every ORG_ code in docs/errors.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
  expect(Object.keys(originErrors).filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
});
