import { describe, expect, it } from 'vitest';
import { buildPlayerBundle } from '../build/bundle.ts';

describe('browser bundle', () => {
  it('builds for the browser with no node: import and exposes the player', async () => {
    const js = await buildPlayerBundle({ minify: false });
    expect(js.length).toBeGreaterThan(10_000);
    expect(js).not.toMatch(/\brequire\(\s*["'](node:)?(fs|path|net|crypto|url|http|https|stream)["']\s*\)/);
    expect(js).not.toMatch(/from\s*["']node:|require\(\s*["']node:/);
    expect(js).toMatch(/var Swarmcast\s*=/);
    expect(js).toContain('mountPlayer');
    expect(js).toContain('data-swarmcast-player');
  }, 60_000);

  it('the bundle evaluates without a DOM and exposes its API', async () => {
    const js = await buildPlayerBundle();
    const api = new Function(`${js}; return Swarmcast;`)() as Record<string, unknown>;
    expect(typeof api.mountPlayer).toBe('function');
    expect(typeof api.mountAll).toBe('function');
  }, 60_000);
});

describe('the swarm engine in a browser bundle', () => {
  it('TorrentSession, WebSocket tracker, data channels and the web seed bundle for the browser', async () => {
    const { build } = await import('esbuild');
    const r = await build({
      stdin: {
        contents: `import { TorrentSession, WebSocketTrackerClient, DataChannelTransport, WebSeed, MemoryStorage, parseTorrent, subtleHasher } from '@swarmcast/bittorrent';
          globalThis.__engine = { TorrentSession, WebSocketTrackerClient, DataChannelTransport, WebSeed, MemoryStorage, parseTorrent, subtleHasher };`,
        resolveDir: import.meta.dirname,
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const js = r.outputFiles[0]?.text ?? '';
    expect(js).not.toMatch(/from\s*["']node:|require\(\s*["']node:/);
    expect(js).toContain('TorrentSession');
    expect(r.errors).toEqual([]);
  }, 60_000);
});
