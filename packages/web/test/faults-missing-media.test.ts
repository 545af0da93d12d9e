import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  type CatalogContext,
  catalogMigrations,
  createAccount,
  createShow,
  demoMediaDir,
  makeHybridTorrent,
  publishEpisode,
  storeUpload,
} from '@swarmcast/catalog';
import { ManualClock, migrate, openDb } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { type Seeding, seedPublished } from '../src/node/seeding.ts';

/**
 * A second node on the same database with another data dir (issue 14): it died at start
 * with a stack trace when a published file was not in its media folder. Now the episode is
 * reported (and not seeded); the episodes whose file is there are seeded as before.
 */
describe('fault: a published file missing from this node', () => {
  it('is reported and skipped at start, never a crash', async () => {
    const dir = await scratchDir('faults-missing-');
    const db = await openDb({ inMemory: true });
    try {
      await migrate(db, catalogMigrations);
      const ctx: CatalogContext = {
        db,
        clock: new ManualClock(Date.UTC(2026, 11, 7)),
        mediaDir: join(dir.path, 'node-a', 'media'),
        uploadsDir: join(dir.path, 'node-a', 'uploads'),
        maxUploadBytes: 5_000_000,
        mediaUrl: (p) => `http://a.test/media/${p}`,
        publicUrl: () => 'http://a.test',
        trackers: () => [],
        torrents: { make: makeHybridTorrent },
      };
      const ada = await createAccount(db, {
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long password',
      });
      if (!ada.ok) throw new Error(ada.message);
      await createShow(db, ada.value, { slug: 'shared', title: 'Shared' });
      const up = await storeUpload(ctx, ada.value, createReadStream(join(demoMediaDir, 'swarm.mp3')), {});
      if (!up.ok) throw new Error(up.message);
      const ep = await publishEpisode(ctx, ada.value, {
        showSlug: 'shared',
        uploadId: up.value.id,
        title: 'On A only',
      });
      if (!ep.ok) throw new Error(ep.message);
      // Node B: same database, its own (empty) media folder.
      const seeded: string[] = [];
      const fakeSeeding: Seeding = {
        port: 0,
        seeded: () => seeded,
        seed: async (_t, path) => {
          seeded.push(path);
        },
        unseed: async () => {},
        close: async () => {},
      };
      const missing: Array<{ id: string; path: string }> = [];
      const n = await seedPublished(db, join(dir.path, 'node-b', 'media'), fakeSeeding, (id, path) =>
        missing.push({ id, path }),
      );
      expect(n).toBe(0);
      expect(missing).toEqual([{ id: ep.value.id, path: ep.value.media!.path }]);
      expect(seeded).toEqual([]);
      // Node A has the file: seeded as before.
      expect(await seedPublished(db, ctx.mediaDir, fakeSeeding)).toBe(1);
      console.log(
        '[fault missing-media] published 1 on node A; node B reported 1 missing, seeded 0, did not crash',
      );
    } finally {
      await db.close();
      await dir.remove();
    }
  });
});
