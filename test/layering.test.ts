import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The arrows of docs/architecture.md, enforced: a part may import only parts of a lower
 * layer, `bittorrent` imports nothing of Swarmcast, and browser code (the bittorrent core
 * and the player) imports no `node:` module. Adapters for Node live in `bittorrent/src/node/`.
 */
const layer: Record<string, number> = {
  bittorrent: 0,
  platform: 0,
  media: 0,
  testkit: 0,
  tracker: 1,
  origin: 1,
  player: 1,
  catalog: 2,
  ads: 3,
  ledger: 3,
  measure: 4,
  web: 5,
  node: 6,
  cli: 7,
};

const root = join(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(ts|tsx|js|mjs)$/.test(name) && !name.endsWith('.min.js')) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    found.push((m[1] ?? m[2]) as string);
  }
  return found;
}

const parts = readdirSync(packagesDir).filter((p) => statSync(join(packagesDir, p)).isDirectory());

describe('layering', () => {
  it('knows the layer of every part', () => {
    expect(parts.filter((p) => !(p in layer))).toEqual([]);
  });

  for (const part of parts) {
    it(`${part}: declares and imports only lower parts`, () => {
      const pkg = JSON.parse(readFileSync(join(packagesDir, part, 'package.json'), 'utf8'));
      const declared = Object.keys(pkg.dependencies ?? {})
        .filter((d) => d.startsWith('@swarmcast/'))
        .map((d) => d.slice('@swarmcast/'.length));
      const wrong = declared.filter((d) => d === 'testkit' || (layer[d] ?? 99) >= (layer[part] ?? -1));
      expect(wrong, `${part} may not depend on ${wrong.join(', ')}`).toEqual([]);

      const srcDir = join(packagesDir, part, 'src');
      const undeclared: string[] = [];
      for (const file of sourceFiles(srcDir)) {
        for (const spec of importsOf(file)) {
          const m = /^@swarmcast\/([^/]+)/.exec(spec);
          if (m && m[1] !== part && !declared.includes(m[1] as string)) {
            undeclared.push(`${relative(root, file)} -> ${spec}`);
          }
        }
      }
      expect(undeclared).toEqual([]);
    });
  }

  /**
   * One composition root (issue 19): `node` wires the parts into a node; the CLI starts nodes
   * through it and never reaches into the web server, which wires nothing.
   */
  it('the CLI reaches the node only through the composition root', () => {
    const cli = JSON.parse(readFileSync(join(packagesDir, 'cli', 'package.json'), 'utf8'));
    expect(Object.keys(cli.dependencies ?? {})).toContain('@swarmcast/node');
    expect(Object.keys(cli.dependencies ?? {})).not.toContain('@swarmcast/web');
    const startsNode = sourceFiles(join(packagesDir, 'web', 'src')).filter((f) =>
      /export (async )?function startNode\b/.test(readFileSync(f, 'utf8')),
    );
    expect(startsNode.map((f) => relative(root, f))).toEqual([]);
  });

  it('browser code imports no node: module', () => {
    const browserDirs = [join(packagesDir, 'player', 'src'), join(packagesDir, 'bittorrent', 'src')];
    const offenders: string[] = [];
    for (const dir of browserDirs) {
      for (const file of sourceFiles(dir)) {
        if (file.includes(`${join('bittorrent', 'src', 'node')}`)) continue;
        for (const spec of importsOf(file)) {
          if (
            spec.startsWith('node:') ||
            ['fs', 'net', 'dgram', 'crypto', 'worker_threads', 'path'].includes(spec)
          ) {
            offenders.push(`${relative(root, file)} -> ${spec}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  /**
   * A part reads and writes only its own tables (named by its prefix); another part's data
   * comes through that part's functions (issue 19: web read catalog_media in a seed hook,
   * ads_advertisers for report access...). Allowed below: what is left, each with its reason.
   */
  it('a part touches only its own tables', () => {
    const owner: Record<string, string> = {
      catalog: 'catalog',
      ads: 'ads',
      ledger: 'ledger',
      measure: 'measure',
      platform: 'platform',
      swarmcast: 'platform',
    };
    // Nothing left: measure's money reports and statements read the ledger's postings through
    // `Ledger.postings` and attribute them with their own tables (measure/src/reports/money.ts).
    const allowed = new Set<string>([]);
    // SQL keywords in either case; table names are lower case (an env var after "from" is not).
    const statement =
      /\b(?:from|FROM|join|JOIN|into|INTO|update|UPDATE|(?:table|TABLE)(?: (?:if|IF) (?:not |NOT )?(?:exists|EXISTS))?)\s+([a-z]+)_[a-z0-9_]+/g;
    const offenders: string[] = [];
    for (const part of parts) {
      for (const file of sourceFiles(join(packagesDir, part, 'src'))) {
        const text = readFileSync(file, 'utf8');
        const touched = new Set<string>();
        for (const m of text.matchAll(statement)) {
          const other = owner[m[1] as string];
          if (other && other !== part) touched.add(other);
        }
        for (const other of touched) {
          const entry = `${relative(root, file)} -> ${other}`;
          if (!allowed.has(entry)) offenders.push(entry);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
