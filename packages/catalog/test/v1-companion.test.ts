import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTorrent, toHex } from '@swarmcast/bittorrent';
import { createTorrent, nodeHasher } from '@swarmcast/bittorrent/node';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { makeHybridTorrent, v1Companion } from '../src/index.ts';

describe('v1 companion of a hybrid torrent', () => {
  it('is exactly the v1 torrent of the same file (same info-hash as a fresh v1 creation), without re-hashing', async () => {
    const dir = await scratchDir();
    try {
      const path = join(dir.path, 'ep.mp3');
      await writeFile(path, randomBytes(3 * 1024 * 1024 + 123));
      const trackers = ['http://n.test/announce', 'udp://n.test:1/announce', 'ws://n.test/announce'];
      const webSeeds = ['http://n.test/media/show/ep.mp3'];
      const hybrid = await makeHybridTorrent({ path, name: 'ep.mp3' }, { announce: trackers, webSeeds });
      const companion = v1Companion(hybrid.torrent);
      const parsed = await parseTorrent(companion.torrent, nodeHasher);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const hyb = await parseTorrent(hybrid.torrent, nodeHasher);
      if (!hyb.ok) throw new Error(hyb.error.message);
      expect(parsed.value.version).toBe('v1');
      expect(toHex(parsed.value.infoHash.v1!)).toBe(companion.infoHashV1);
      expect(companion.infoHashV1).not.toBe(hybrid.infoHashV1);
      expect(parsed.value.announce).toEqual(trackers.map((t) => [t]));
      expect(parsed.value.urlList).toEqual(webSeeds);
      expect(parsed.value.length).toBe(hyb.value.length);
      // The reference: a v1 torrent made from the bytes on disk with the same piece length.
      const fresh = await createTorrent(path, {
        name: 'ep.mp3',
        version: 'v1',
        pieceLength: hyb.value.pieceLength,
        threads: 1,
      });
      if (!fresh.ok) throw new Error(fresh.error.message);
      expect(toHex(fresh.value.infoHash.v1!)).toBe(companion.infoHashV1);
      expect(companion.magnet).toBe(
        `magnet:?xt=urn:btih:${companion.infoHashV1}&dn=ep.mp3&xl=${3 * 1024 * 1024 + 123}&${trackers.map((t) => `tr=${encodeURIComponent(t)}`).join('&')}&ws=${encodeURIComponent(webSeeds[0]!)}`,
      );
    } finally {
      await dir.remove();
    }
  });

  it('refuses what is not a single-file torrent with v1 pieces', () => {
    expect(() => v1Companion(new TextEncoder().encode('garbage'))).toThrow(/hybrid torrent/);
    expect(() => v1Companion(new TextEncoder().encode('d4:infod4:name1:xee'))).toThrow(/single-file/);
  });
});
