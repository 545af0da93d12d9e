/**
 * Builds the player's browser bundle with esbuild (platform browser, one IIFE exposing
 * `window.Swarmcast`). Node-side tooling, kept outside src/ (which is browser code).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const playerEntry = fileURLToPath(new URL('../src/browser-entry.ts', import.meta.url));

/** The bundle's JavaScript text, ready to serve as `application/javascript`. */
export async function buildPlayerBundle(options: { minify?: boolean } = {}): Promise<string> {
  const r = await build({
    entryPoints: [playerEntry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'Swarmcast',
    target: 'es2022',
    minify: options.minify ?? true,
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]?.text ?? '';
}
