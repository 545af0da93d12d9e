import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c) => (text.out += c));
  stderr.on('data', (c) => (text.err += c));
  const value: CommandIo = { stdout, stderr, env: {}, signal: new AbortController().signal };
  return { value, text };
}

describe('swarmcast', () => {
  it('lists its commands', async () => {
    const { value, text } = io();
    expect(await main(['--help'], value)).toBe(0);
    expect(text.out).toMatch(/version\s+print the version/);
  });

  it('exits 2 with a pointer to --help for an unknown command', async () => {
    const { value, text } = io();
    expect(await main(['frobnicate'], value)).toBe(2);
    expect(text.err).toContain('unknown command "frobnicate"');
  });

  it('refuses command names that could escape the commands folder', async () => {
    const { value } = io();
    expect(await main(['../main'], value)).toBe(2);
  });

  it('lists every command file in its registry (the bundle cannot read the folder)', async () => {
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { commandModules } = await import('../src/commands/registry.ts');
    const files = readdirSync(join(import.meta.dirname, '..', 'src', 'commands'))
      .filter((f) => f.endsWith('.ts') && f !== 'registry.ts')
      .map((f) => f.slice(0, -3))
      .sort();
    expect(Object.keys(commandModules).sort()).toEqual(files);
  });

  it('runs a command', async () => {
    const { value, text } = io();
    expect(await main(['version'], value)).toBe(0);
    expect(text.out).toMatch(/^swarmcast \d+\.\d+\.\d+\n$/);
  });
});
