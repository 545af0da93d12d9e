import { readFileSync } from 'node:fs';

/**
 * The OPAWG user-agents v2 data (packages/platform/data/opawg-user-agents, MIT, see its
 * SOURCE.md), loaded as shipped and compiled once. Entries keep their file order, which is
 * the order the data's own comments say to match in.
 */
export interface OpawgEntry {
  name: string;
  re: RegExp;
  category?: string;
}

export interface OpawgData {
  bots: OpawgEntry[];
  apps: OpawgEntry[];
  libraries: OpawgEntry[];
  browsers: OpawgEntry[];
  devices: OpawgEntry[];
}

const dataDir = new URL('../../data/opawg-user-agents/', import.meta.url);

function load(file: string): OpawgEntry[] {
  const json = JSON.parse(readFileSync(new URL(`${file}.json`, dataDir), 'utf8')) as {
    entries: { name: string; pattern: string; category?: string }[];
  };
  return json.entries.map((e) => ({
    name: e.name,
    re: new RegExp(e.pattern),
    ...(e.category ? { category: e.category } : {}),
  }));
}

let cached: OpawgData | undefined;

/** Loads and compiles the data on first use (about 1,000 patterns, a few milliseconds). */
export function opawgData(): OpawgData {
  cached ??= {
    bots: load('bots'),
    apps: load('apps'),
    libraries: load('libraries'),
    browsers: load('browsers'),
    devices: load('devices'),
  };
  return cached;
}
