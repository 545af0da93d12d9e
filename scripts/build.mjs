/**
 * Builds the CLI (and so the node: `swarmcast up`) into JavaScript: dist/swarmcast.mjs and a chunk per command in dist/chunks/,
 * so that `npm start` runs without a TypeScript loader. tsx at run time cost ~95 MiB of
 * resident memory (all packages imported: 196 MiB under tsx, 100 MiB bundled) and transpiled
 * every file at start. Runs at install (`prepare`) and before `npm start`; esbuild is local,
 * so it needs no network, and a build takes a couple of seconds.
 *
 * Our packages are bundled from their TypeScript sources; every npm dependency stays an
 * import resolved from node_modules. Files that find their data next to themselves
 * (import.meta.dirname / url: demo media, shipped lists, assets, worker entry points) keep
 * their source location: those expressions are replaced by the source file's own path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const entry = join(root, 'packages', 'cli', 'src', 'main.ts');

const external = new Set();
const addDeps = (file) => {
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  for (const d of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies })) {
    if (!d.startsWith('@swarmcast/')) external.add(d);
  }
};
addDeps(join(root, 'package.json'));
for (const p of readdirSync(join(root, 'packages'))) {
  try {
    addDeps(join(root, 'packages', p, 'package.json'));
  } catch {
    // not a package
  }
}

/** import.meta.{dirname,filename,url} -> the source file's own values (see above). */
const keepSourceLocation = {
  name: 'keep-source-location',
  setup(b) {
    // Any of our TypeScript files (src/, and tooling such as packages/player/build/ that finds
    // the player's sources next to itself), never a dependency's.
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/].*\.ts$/ }, async (args) => {
      if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
      let text = await readFile(args.path, 'utf8');
      if (text.includes('import.meta')) {
        text = text
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
          .replaceAll('import.meta.filename', JSON.stringify(args.path));
        // The CLI's entry keeps its own URL: "am I the program being run?" compares it
        // with process.argv[1], which is the bundle.
        if (args.path !== entry)
          text = text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

/**
 * A dependency installed under one package (packages/<p>/node_modules, when its version
 * differs from the root's) cannot be found from dist/: it is imported by its absolute path
 * instead. Everything in the root node_modules stays a bare import.
 */
const nestedDependencies = {
  name: 'nested-dependencies',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!args.importer || args.path.startsWith('node:')) return undefined;
      const name = args.path.startsWith('@')
        ? args.path.split('/').slice(0, 2).join('/')
        : args.path.split('/')[0];
      if (!external.has(name)) return undefined;
      const pkgDir = args.importer.match(/^(.*[\\/]packages[\\/][^\\/]+)[\\/]/)?.[1];
      if (!pkgDir || !existsSync(join(pkgDir, 'node_modules', name))) return undefined;
      return { path: createRequire(args.importer).resolve(args.path), external: true };
    });
  },
};

const started = Date.now();
// Chunks of an earlier build would otherwise pile up (their names carry a content hash).
await rm(join(root, 'dist', 'chunks'), { recursive: true, force: true });
// The hash pool's worker thread, bundled here as it would be at run time (hash-pool.ts), so
// that `swarmcast create` and the node start no esbuild service to hash.
const hashWorker = join(root, 'dist', 'hash-worker.cjs');
const workerBuild = await build({
  metafile: true,
  entryPoints: [join(root, 'packages', 'bittorrent', 'src', 'node', 'hash-worker.ts')],
  outfile: hashWorker,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
});
const cliBuild = await build({
  metafile: true,
  define: { __SWARMCAST_HASH_WORKER__: JSON.stringify(hashWorker) },
  entryPoints: { swarmcast: entry },
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.mjs' },
  // Each command is its own chunk, loaded when it runs (commands/registry.ts imports them on
  // demand): `swarmcast get` no longer parses the whole node and every dependency of the
  // portal, the ads server and the databases at start.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: [...external].flatMap((d) => [d, `${d}/*`]),
  plugins: [nestedDependencies, keepSourceLocation],
  // Bundled CommonJS helpers need a require in an ES module.
  banner: {
    js: "import { createRequire as __scCreateRequire } from 'node:module'; const require = __scCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
// Our source files in this build, with when it started: packages/cli/bin/swarmcast.js runs this
// bundle only while none of them is newer (else the sources, through tsx).
const sources = new Set();
for (const r of [workerBuild, cliBuild])
  for (const input of Object.keys(r.metafile.inputs)) {
    const path = relative(root, resolve(input));
    if (path.startsWith('packages/') && !path.includes('node_modules')) sources.add(path);
  }
await writeFile(
  join(root, 'dist', 'sources.json'),
  `${JSON.stringify({ builtAt: started, sources: [...sources].sort() })}\n`,
);
if (process.argv.includes('--verbose')) console.log(`built dist/swarmcast.mjs in ${Date.now() - started} ms`);
