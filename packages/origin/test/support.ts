import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createAudienceKeys,
  memorySaltStore,
  parseAddressList,
  parseReferrerExclusions,
  parseSafeAddresses,
} from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { memoryFactSink, type OriginOptions, originPlugin } from '../src/index.ts';

export interface Fixture {
  app: FastifyInstance;
  root: string;
  files: Record<string, Buffer>;
  facts: ReturnType<typeof memoryFactSink>;
  close(): Promise<void>;
}

/** A media root with a few files, hostile neighbours (a dotfile, symlinks) and the plugin on /media. */
export async function originFixture(
  sizes: Record<string, number> = {},
  more: Partial<OriginOptions> = {},
): Promise<Fixture> {
  const dir = await scratchDir('swarmcast-origin-');
  const root = join(dir.path, 'media');
  await mkdir(join(root, 'show', 'season 1'), { recursive: true });
  const files: Record<string, Buffer> = {
    'episode.mp3': randomBytes(sizes['episode.mp3'] ?? 100_000),
    'video.mp4': randomBytes(2000),
    'show/season 1/ep 1.m4a': randomBytes(3000),
    'show/ep.torrent': randomBytes(300),
    'empty.ogg': Buffer.alloc(0),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data);
  await writeFile(join(root, '.secret'), 'do not serve');
  await writeFile(join(dir.path, 'outside.mp3'), 'outside the root');
  await symlink(join(dir.path, 'outside.mp3'), join(root, 'escape.mp3'));
  await symlink(join(root, 'episode.mp3'), join(root, 'alias.mp3'));
  const facts = memoryFactSink();
  const app = Fastify();
  await app.register(originPlugin, {
    prefix: '/media',
    mediaRoot: root,
    facts,
    audienceKeys: createAudienceKeys(memorySaltStore()),
    addresses: parseAddressList('192.0.2.0/24\n'),
    safeAddresses: parseSafeAddresses(
      '# validated: 2026-03-01\n192.0.2.128/25\n',
      Date.parse('2026-03-04T10:00:00Z'),
    ),
    referrerExclusions: parseReferrerExclusions('inflate.example\n'),
    clock: { now: () => Date.parse('2026-03-04T10:00:00Z') },
    ...more,
  });
  await app.ready();
  return {
    app,
    root,
    files,
    facts,
    close: async () => {
      await app.close();
      await dir.remove();
    },
  };
}

/** Facts are pushed once the key is computed (a microtask after the response ends). */
export async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}
