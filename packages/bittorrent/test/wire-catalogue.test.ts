import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerErrorCode } from '../src/peer/index.ts';
import { WireErrorCode } from '../src/wire/index.ts';

const catalogues: Record<string, Record<string, string>> = { WireErrorCode, PeerErrorCode };

describe('wire and peer error codes', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
  for (const [name, codes] of Object.entries(catalogues)) {
    it(`${name}: every code is documented in docs/errors.md and unique`, () => {
      const values = Object.values(codes);
      const documented = (c: string) => new RegExp('\\| `?' + c + '`? +\\|').test(doc);
      expect(values.filter((c) => !documented(c))).toEqual([]);
      expect(new Set(values).size).toBe(values.length);
    });
  }
});
