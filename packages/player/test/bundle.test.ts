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
