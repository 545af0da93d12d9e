/**
 * Builds the player's browser bundle with esbuild (platform browser, one IIFE exposing
 * `window.Swarmcast`). Node-side tooling, kept outside src/ (which is browser code). esbuild is
 * imported when a bundle is first asked for, so a node nobody visits does not load it.
 */
import { fileURLToPath } from 'node:url';

export const playerEntry = fileURLToPath(new URL('../src/browser-entry.ts', import.meta.url));

/** The bundle's JavaScript text, ready to serve as `application/javascript`. */
export async function buildPlayerBundle(options: { minify?: boolean } = {}): Promise<string> {
  const { build } = await import('esbuild');
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

export const serviceWorkerEntry = fileURLToPath(new URL('../src/p2p/service-worker.ts', import.meta.url));

/**
 * The Service Worker script (serve it at `/assets/player-sw.js` with the header
 * `Service-Worker-Allowed: /`, so it may control the episode pages).
 */
export async function buildServiceWorkerBundle(options: { minify?: boolean } = {}): Promise<string> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [serviceWorkerEntry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: options.minify ?? true,
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]?.text ?? '';
}
