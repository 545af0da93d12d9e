import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseTorrent, toHex } from '@swarmcast/bittorrent';
import { nodeHasher } from '@swarmcast/bittorrent/node';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('swarmcast create', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-cli-create-');
    writeFileSync(
      join(dir.path, 'episode.mp3'),
      new Uint8Array(100_000).map((_, i) => i * 7),
    );
  });
  afterAll(async () => dir?.remove());

  it('writes a hybrid torrent and prints its info-hashes and magnet as JSON', async () => {
    const { value, text } = io();
    const out = join(dir.path, 'ep.torrent');
    const code = await main(
      [
        'create',
        join(dir.path, 'episode.mp3'),
        '-o',
        out,
        '--hybrid',
        '--piece-length',
        '16K',
        '--announce',
        'http://127.0.0.1:9/announce',
        '--webseed',
        'http://127.0.0.1:9/media/episode.mp3',
        '--private',
        '--json',
      ],
      value,
    );
    expect(text.err).toBe('');
    expect(code).toBe(0);
    const printed = JSON.parse(text.out);
    const parsed = await parseTorrent(readFileSync(out), nodeHasher);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(printed.infoHashV1).toBe(toHex(parsed.value.infoHash.v1!));
    expect(printed.infoHashV2).toBe(toHex(parsed.value.infoHash.v2!));
    expect(printed.magnet).toContain(`xt=urn:btih:${printed.infoHashV1}`);
    expect(parsed.value).toMatchObject({
      private: true,
      pieceLength: 16384,
      urlList: ['http://127.0.0.1:9/media/episode.mp3'],
    });
  });

  it('prints plain progress lines and the info-hash when not on a terminal', async () => {
    const { value, text } = io();
    expect(
      await main(['create', join(dir.path, 'episode.mp3'), '-o', join(dir.path, 'v1.torrent')], value),
    ).toBe(0);
    expect(text.out).toMatch(/^info-hash v1: [0-9a-f]{40}$/m);
    expect(text.err).toMatch(/hashing 100%/);
  });

  const usageCases: [string, string[]][] = [
    ['no output', ['x']],
    ['two formats', ['x', '-o', 'y', '--v1', '--v2']],
    ['bad piece length text', ['x', '-o', 'y', '--piece-length', 'big']],
    ['bad tracker URL', ['x', '-o', 'y', '--announce', 'nope']],
    ['unknown option', ['x', '-o', 'y', '--frobnicate']],
  ];
  for (const [what, args] of usageCases) {
    it(`exits 2 on ${what}`, async () => {
      const { value, text } = io();
      expect(await main(['create', ...args], value)).toBe(2);
      expect(text.err).toContain('swarmcast create');
    });
  }

  it('exits 1 with a coded message when the path does not exist', async () => {
    const { value, text } = io();
    expect(await main(['create', join(dir.path, 'missing'), '-o', join(dir.path, 'm.torrent')], value)).toBe(
      1,
    );
    expect(text.err).toContain('BT_CREATE_NOT_FOUND');
  });
});
