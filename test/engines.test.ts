/**
 * The root `engines` is what we promise; every installed package must accept its lowest
 * Node, or `npm ci` on that Node prints EBADENGINE (cookie@2, under Fastify's
 * light-my-request, wanted Node 22: held at cookie@1.1, same API, by an override).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// semver is in the tree through npm tooling dependencies; read, not added, for this check.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};
const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

it('every locked package accepts the lowest Node our engines field allows', () => {
  const lowest = semver.minVersion(pkg.engines.node)?.version;
  expect(lowest).toBeDefined();
  const refusing = Object.entries(lock.packages)
    .filter(([, p]) => {
      const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
      return node !== undefined && !semver.satisfies(lowest as string, node);
    })
    .map(([path, p]) => `${path}@${p.version}`);
  expect(refusing).toEqual([]);
  // The lock's copy of our own engines field matches package.json (npm ci compares them).
  expect((lock.packages[''] as { engines?: { node?: string } }).engines?.node).toBe(pkg.engines.node);
});
