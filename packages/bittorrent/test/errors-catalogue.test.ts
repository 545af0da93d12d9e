import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('BT_ error catalogue', () => {
  it('lists every code used in packages/bittorrent/src in docs/errors.md', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const used = new Set<string>();
    for (const f of files(join(root, 'packages', 'bittorrent', 'src'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/'(BT_[A-Z0-9_]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(5);
    const missing = [...used].filter((code) => !new RegExp(`\\|\\s*\`?${code}\`?\\s*\\|`).test(doc));
    expect(missing).toEqual([]);
  });
});
