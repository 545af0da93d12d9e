import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportSigningKey, generateSigningKey } from '@swarmcast/ads';
import { signingKeyFile } from '@swarmcast/node';
import { scratchDir } from '@swarmcast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import keysCommand from '../src/commands/keys.ts';

describe('swarmcast keys', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeEach(async () => {
    dir = await scratchDir('keys-cli-');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('without a node started there: a clear failure, no file made', async () => {
    let err = '';
    const io = {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      },
      env: {},
      signal: new AbortController().signal,
    } as unknown as Parameters<typeof keysCommand.run>[1];
    expect(await keysCommand.run(['list', '--data', dir.path], io)).toBe(1);
    expect(err).toMatch(/no signing keys in .*start the node once first/);
    await expect(readFile(join(dir.path, signingKeyFile))).rejects.toThrow(/ENOENT/);
  });

  it('rotate and list: states, public halves only; bad options are usage errors', async () => {
    await writeFile(
      join(dir.path, signingKeyFile),
      JSON.stringify(exportSigningKey(generateSigningKey('node-first'))),
    );
    let out = '';
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          out += s;
          return true;
        },
      },
      env: {},
      signal: new AbortController().signal,
    } as unknown as Parameters<typeof keysCommand.run>[1];
    expect(await keysCommand.run(['rotate', '--data', dir.path, '--in', '60'], io)).toBe(0);
    expect(out).toMatch(/^added k\S+, signing from \d{4}-/);
    out = '';
    expect(await keysCommand.run(['list', '--data', dir.path], io)).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/\tactive\t/);
    expect(lines[1]).toMatch(/\tnext, signs from /);
    const file = JSON.parse(await readFile(join(dir.path, signingKeyFile), 'utf8')) as {
      keys: Array<{ d: string }>;
    };
    for (const k of file.keys) expect(out).not.toContain(k.d);
    await expect(keysCommand.run(['rotate', '--data', dir.path, '--in', '5'], io)).rejects.toThrow(/--in/);
    await expect(keysCommand.run(['spin', '--data', dir.path], io)).rejects.toThrow(/list/);
  });
});
