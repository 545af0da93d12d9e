import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { seedTorrent } from '../src/node/api.ts';
import { createTorrent } from '../src/node/create-torrent.ts';

describe('seedTorrent dataVerified', () => {
  it('skips the start-up hash check only when asked (the publisher just hashed the file)', async () => {
    const dir = await scratchDir();
    try {
      const path = join(dir.path, 'episode.bin');
      await writeFile(path, randomBytes(5 * 16384 + 77));
      const made = await createTorrent(path, { version: 'hybrid', pieceLength: 16384, threads: 1 });
      if (!made.ok) throw new Error(made.error.message);
      const pieces = made.value.plan.pieceCount;
      const honest = await seedTorrent({ torrent: made.value.torrent, dataPath: path, host: '127.0.0.1' });
      expect(honest.stats().pieces).toBe(pieces);
      await honest.close();
      // Same length, other bytes: the normal check finds no valid piece; the trusted start
      // does not read them, which is the point (and why only a fresh publish may ask for it).
      await writeFile(path, randomBytes(5 * 16384 + 77));
      const checked = await seedTorrent({ torrent: made.value.torrent, dataPath: path, host: '127.0.0.1' });
      expect(checked.stats().pieces).toBe(0);
      await checked.close();
      const trusted = await seedTorrent({
        torrent: made.value.torrent,
        dataPath: path,
        host: '127.0.0.1',
        dataVerified: true,
      });
      expect(trusted.stats().pieces).toBe(pieces);
      await trusted.close();
    } finally {
      await dir.remove();
    }
  });
});
