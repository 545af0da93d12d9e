import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The core must run in a browser: bundle src/index.ts for the browser platform and fail if
 * anything in its import graph (ours or a dependency's) pulls a node: module or a Node builtin.
 */
describe('browser bundle of the core', () => {
  it('builds for platform "browser" without any Node module', async () => {
    const pulled: string[] = [];
    const result = await build({
      entryPoints: [join(import.meta.dirname, '..', 'src', 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'no-node',
          setup(b) {
            b.onResolve(
              { filter: /^(node:|fs$|net$|dgram$|crypto$|worker_threads$|path$|os$|stream$|buffer$)/ },
              (args) => {
                pulled.push(`${args.path} (from ${args.importer})`);
                return { path: args.path, external: true };
              },
            );
          },
        },
      ],
    });
    expect(result.errors).toEqual([]);
    expect(pulled).toEqual([]);
    expect(result.outputFiles[0]!.text.length).toBeGreaterThan(1000);
  });
});
