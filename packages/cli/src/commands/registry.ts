/**
 * Every command, by name, loaded on demand. A list rather than a directory listing so that
 * the CLI also runs as one JavaScript bundle (scripts/build.mjs), where there is no folder
 * of TypeScript files to import at run time. test/main.test.ts checks that every file in
 * this folder is listed.
 */
import type { Command } from '../command.ts';

type Loader = () => Promise<{ default: Command }>;

export const commandModules: Readonly<Record<string, Loader>> = {
  admin: () => import('./admin.ts'),
  create: () => import('./create.ts'),
  get: () => import('./get.ts'),
  import: () => import('./import.ts'),
  keys: () => import('./keys.ts'),
  publish: () => import('./publish.ts'),
  seed: () => import('./seed.ts'),
  subscribe: () => import('./subscribe.ts'),
  tracker: () => import('./tracker.ts'),
  up: () => import('./up.ts'),
  'verify-statement': () => import('./verify-statement.ts'),
  version: () => import('./version.ts'),
};
