import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mediaErrors } from '../src/index.ts';

const root = join(import.meta.dirname, '..', '..', '..');

describe('media error catalogue and purity', () => {
  it('lists every MEDIA_ code in docs/errors.md', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    expect(Object.keys(mediaErrors).filter((code) => !doc.includes(`\`${code}\``))).toEqual([]);
  });
  it('uses only the MEDIA_ prefix', () => {
    expect(Object.keys(mediaErrors).filter((c) => !c.startsWith('MEDIA_'))).toEqual([]);
  });
  it('imports no node: module outside src/node (so other runtimes can reuse it)', () => {
    const src = join(root, 'packages', 'media', 'src');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)],
      );
    const offenders = files(src)
      .filter((f) => !relative(src, f).startsWith('node'))
      .filter((f) => /from\s+['"](node:|fs['"]|path['"]|worker_threads)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
