import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createAccount, createApiToken, createShow, demoMediaDir } from '@swarmcast/catalog';
import { type RunningNode, startNode } from '@swarmcast/node';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

function io(env: Record<string, string>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c) => (text.out += c));
  stderr.on('data', (c) => (text.err += c));
  const value: CommandIo = { stdout, stderr, env, signal: new AbortController().signal };
  return { value, text };
}

describe('swarmcast publish', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await scratchDir();
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node'), demo: false });
    const ada = await createAccount(node.db, {
      email: 'ada@example.org',
      name: 'Ada',
      password: '0123456789ab',
    });
    if (!ada.ok) throw new Error(ada.message);
    await createShow(node.db, ada.value, { slug: 'ada', title: 'Ada' });
    await createAccount(node.db, { email: 'bob@example.org', name: 'Bob', password: '0123456789ab' });
    env = { SWARMCAST_NODE: node.url, SWARMCAST_TOKEN: await createApiToken(node.db, ada.value.id, 'test') };
  });
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  it('uploads and publishes with ad breaks, printing the episode, torrent and magnet', async () => {
    const { value, text } = io(env);
    const code = await main(
      [
        'publish',
        join(demoMediaDir, 'welcome.mp3'),
        '--show',
        'ada',
        '--title',
        'From the CLI',
        '--pre',
        '--mid',
        '0:05',
        '--chapter',
        '1',
        '--post',
      ],
      value,
    );
    expect(code, text.err).toBe(0);
    const id = /episodes\/([0-9a-f-]{36})\n/.exec(text.out)?.[1];
    expect(text.out).toMatch(/magnet:\s+magnet:\?xt=urn:btih:[0-9a-f]{40}/);
    const ep = (await (await fetch(new URL(`/api/episodes/${id}`, node.url))).json()) as {
      title: string;
      adBreaks: Array<{ id: string }>;
    };
    expect(ep.title).toBe('From the CLI');
    expect(ep.adBreaks.map((b) => b.id)).toEqual(['pre', 'mid-1', 'mid-2', 'post']);
  });

  it('says clearly why a fake file, an unknown show or a bad token is refused', async () => {
    const fake = join(dir.path, 'notes.mp3');
    await writeFile(fake, 'just some text, not audio\n'.repeat(50));
    const a = io(env);
    expect(await main(['publish', fake, '--show', 'ada', '--title', 'x'], a.value)).toBe(1);
    expect(a.text.err).toMatch(/415 CAT_NOT_MEDIA.*not audio or video/);
    const b = io(env);
    expect(
      await main(['publish', join(demoMediaDir, 'swarm.mp3'), '--show', 'nope', '--title', 'x'], b.value),
    ).toBe(1);
    expect(b.text.err).toMatch(/404 CAT_NOT_FOUND/);
    const c = io({ ...env, SWARMCAST_TOKEN: 'sc_wrong' });
    expect(
      await main(['publish', join(demoMediaDir, 'swarm.mp3'), '--show', 'ada', '--title', 'x'], c.value),
    ).toBe(1);
    expect(c.text.err).toMatch(/401 CAT_UNAUTHENTICATED/);
    const d = io(env);
    expect(await main(['publish', join(demoMediaDir, 'swarm.mp3'), '--show', 'ada'], d.value)).toBe(2);
    expect(d.text.err).toContain('--title is required');
  });
});
