import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

describe('swarmcast up', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  it('serves the portal on the port it prints, and stops on abort', async () => {
    const dir = await scratchDir();
    cleanup.push(dir.remove);
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c) => (out += c));
    const controller = new AbortController();
    const io: CommandIo = { stdout, stderr: new PassThrough(), env: {}, signal: controller.signal };
    const running = main(['up', '--port', '0', '--data', dir.path], io);
    const url = (await waitFor(
      () => /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0],
      // A node's first start hashes the demo show: on a loaded machine that takes a minute.
      180_000,
      'the URL line',
    )) as string;
    expect(out).toContain(`Admin token: in ${join(dir.path, 'admin-token')}`);
    expect(out).not.toContain(await readFile(join(dir.path, 'admin-token'), 'utf8'));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1>');
    controller.abort();
    expect(await running).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  }, 240_000);

  it('refuses a bad port with a usage error', async () => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c) => (err += c));
    const io: CommandIo = {
      stdout: new PassThrough(),
      stderr,
      env: {},
      signal: new AbortController().signal,
    };
    expect(await main(['up', '--port', 'eighty'], io)).toBe(2);
    expect(err).toContain('--port');
  });
});
