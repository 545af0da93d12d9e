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

  it('runs a command', async () => {
    const { value, text } = io();
    expect(await main(['version'], value)).toBe(0);
    expect(text.out).toMatch(/^swarmcast \d+\.\d+\.\d+\n$/);
  });
});
