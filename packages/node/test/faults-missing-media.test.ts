import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  type CatalogContext,
  catalogMigrations,
  createAccount,
  createSession,
  createShow,
  demoMediaDir,
  makeHybridTorrent,
  missingMedia,
  publishEpisode,
  storeUpload,
} from '@swarmcast/catalog';
import { leaseMigrations, ManualClock, migrate, openDb } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { adminRoutes, createNodeServer, sessionCookie } from '@swarmcast/web';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { SeedRoster } from '../src/seed-roster.ts';
import type { Seeding } from '../src/seeding.ts';

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
      await migrate(db, [...leaseMigrations, ...catalogMigrations]);
      const clock = new ManualClock(Date.UTC(2026, 11, 7));
      const ctx: CatalogContext = {
        db,
        clock,
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
      const unseeded: string[] = [];
      const fakeSeeding: Seeding = {
        port: 0,
        seeded: () => seeded,
        seed: async (_t, path) => {
          seeded.push(path);
          return `hash-${seeded.length}`;
        },
        unseed: async (hash) => {
          unseeded.push(hash);
        },
        close: async () => {},
      };
      const missing: Array<{ id: string; path: string }> = [];
      const nodeB = new SeedRoster({
        db,
        mediaDir: join(dir.path, 'node-b', 'media'),
        seeding: fakeSeeding,
        clock,
        holder: 'node-b',
        onMissing: (id, path) => missing.push({ id, path }),
      });
      await nodeB.tick();
      expect(nodeB.held()).toEqual([]);
      expect(missing).toEqual([{ id: ep.value.id, path: ep.value.media!.path }]);
      expect(seeded).toEqual([]);
      // Reported once, not at every round.
      await nodeB.tick();
      expect(missing).toHaveLength(1);
      // Node A has the file: B gave its lease back, so A seeds it (hybrid and v1 companion).
      const nodeA = new SeedRoster({
        db,
        mediaDir: ctx.mediaDir,
        seeding: fakeSeeding,
        clock,
        holder: 'node-a',
      });
      await nodeA.tick();
      expect(nodeA.held()).toHaveLength(1);
      const file = join(ctx.mediaDir, ep.value.media!.path);
      expect(seeded).toEqual([file, file]);
      // Issue 19: a second seeder process with the file (same media folder) seeds nothing
      // while A's lease is live, and takes the episode over once A stops renewing (dies).
      const nodeC = new SeedRoster({
        db,
        mediaDir: ctx.mediaDir,
        seeding: fakeSeeding,
        clock,
        holder: 'node-c',
        ttlMs: 15_000,
      });
      await nodeC.tick();
      expect(nodeC.held()).toEqual([]);
      clock.advance(10_000);
      await nodeA.tick(); // A renews
      clock.advance(10_000);
      await nodeC.tick();
      expect(nodeC.held()).toEqual([]);
      clock.advance(15_001); // A died: no renewal for longer than the TTL
      await nodeC.tick();
      expect(nodeC.held()).toEqual(nodeA.held());
      expect(seeded).toEqual([file, file, file, file]);
      // A comes back from a stall: its next round sees the lease gone and stops seeding.
      expect(unseeded).toEqual([]);
      await nodeA.tick();
      expect(nodeA.held()).toEqual([]);
      expect(unseeded).toEqual(['hash-1', 'hash-2']);
      // A clean stop hands over at once, without waiting for the TTL.
      await nodeC.close();
      await nodeA.tick();
      expect(nodeA.held()).toHaveLength(1);
      console.log(
        "[fault missing-media] published 1 on node A; node B reported 1 missing, seeded 0, did not crash; the seeding lease moved A -> C after A stopped renewing, and back on C's clean stop",
      );
    } finally {
      await db.close();
      await dir.remove();
    }
  });

  it('tells the operator on the admin page which episodes have no file on this node', async () => {
    const dir = await scratchDir('faults-missing-admin-');
    const db = await openDb({ inMemory: true });
    try {
      await migrate(db, [...leaseMigrations, ...catalogMigrations]);
      const clock = new ManualClock(Date.UTC(2026, 11, 7));
      const ctxA: CatalogContext = {
        db,
        clock,
        mediaDir: join(dir.path, 'node-a', 'media'),
        uploadsDir: join(dir.path, 'node-a', 'uploads'),
        maxUploadBytes: 5_000_000,
        mediaUrl: (p) => `http://a.test/media/${p}`,
        publicUrl: () => 'http://a.test',
        trackers: () => [],
        torrents: { make: makeHybridTorrent },
      };
      const ctxB: CatalogContext = {
        ...ctxA,
        mediaDir: join(dir.path, 'node-b', 'media'),
        uploadsDir: join(dir.path, 'node-b', 'uploads'),
      };
      const ada = await createAccount(db, {
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long password',
      });
      const root = await createAccount(db, {
        email: 'root@example.org',
        name: 'Root',
        password: 'a long password',
        role: 'admin',
      });
      if (!ada.ok || !root.ok) throw new Error('accounts');
      await createShow(db, ada.value, { slug: 'shared', title: 'Shared' });
      const up = await storeUpload(ctxA, ada.value, createReadStream(join(demoMediaDir, 'swarm.mp3')), {});
      if (!up.ok) throw new Error(up.message);
      const ep = await publishEpisode(ctxA, ada.value, {
        showSlug: 'shared',
        uploadId: up.value.id,
        title: 'Only on A',
      });
      if (!ep.ok) throw new Error(ep.message);
      expect(await missingMedia(ctxA)).toEqual([]);
      expect(await missingMedia(ctxB)).toEqual([
        { episodeId: ep.value.id, title: 'Only on A', mediaPath: ep.value.media!.path },
      ]);
      const cookie = `${sessionCookie}=${encodeURIComponent(await createSession(db, root.value.id, clock))}`;
      const adminPage = async (ctx: CatalogContext) => {
        const app = Fastify();
        adminRoutes(app, ctx);
        await app.ready();
        try {
          const res = await app.inject({ url: '/admin', headers: { cookie } });
          expect(res.statusCode).toBe(200);
          return res.body;
        } finally {
          await app.close();
        }
      };
      const onB = await adminPage(ctxB);
      expect(onB).toContain('1 published episode(s) have no file in this node');
      expect(onB).toContain('Only on A');
      expect(onB).toContain(`media/${ep.value.media!.path}`);
      const onA = await adminPage(ctxA);
      expect(onA).toContain("Every published episode's file is in this node's media folder.");
      expect(onA).not.toContain('Only on A');
      console.log(
        '[fault missing-media admin] node B admin page lists the 1 missing file; node A lists none',
      );
    } finally {
      await db.close();
      await dir.remove();
    }
  });

  it('is marked unavailable in the API, left out of the feed and marked on the pages of the node without it', async () => {
    const dir = await scratchDir('faults-missing-public-');
    const db = await openDb({ inMemory: true });
    try {
      await migrate(db, [...leaseMigrations, ...catalogMigrations]);
      const clock = new ManualClock(Date.UTC(2026, 11, 7));
      const ctxA: CatalogContext = {
        db,
        clock,
        mediaDir: join(dir.path, 'node-a', 'media'),
        uploadsDir: join(dir.path, 'node-a', 'uploads'),
        maxUploadBytes: 5_000_000,
        mediaUrl: (p) => `http://a.test/media/${p}`,
        publicUrl: () => 'http://a.test',
        trackers: () => [],
        torrents: { make: makeHybridTorrent },
      };
      const ctxB: CatalogContext = {
        ...ctxA,
        mediaDir: join(dir.path, 'node-b', 'media'),
        uploadsDir: join(dir.path, 'node-b', 'uploads'),
      };
      const ada = await createAccount(db, {
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long password',
      });
      if (!ada.ok) throw new Error(ada.message);
      await createShow(db, ada.value, { slug: 'shared', title: 'Shared' });
      const publish = async (ctx: CatalogContext, title: string) => {
        const up = await storeUpload(ctx, ada.value, createReadStream(join(demoMediaDir, 'swarm.mp3')), {});
        if (!up.ok) throw new Error(up.message);
        const ep = await publishEpisode(ctx, ada.value, { showSlug: 'shared', uploadId: up.value.id, title });
        if (!ep.ok) throw new Error(ep.message);
        return ep.value;
      };
      const onlyA = await publish(ctxA, 'Only on A');
      clock.advance(60_000);
      const onBoth = await publish(ctxB, 'On B');
      // Node A lost nothing, node B never had A's file; B's own episode is on B only.
      const views = async (ctx: CatalogContext) => {
        const app = await createNodeServer({ catalog: ctx, portalCacheMs: 0 });
        await app.ready();
        try {
          const get = async (url: string) => {
            const res = await app.inject({ url });
            expect(res.statusCode, url).toBe(200);
            return res.body;
          };
          const show = JSON.parse(await get('/api/shows/shared')) as {
            episodes: { id: string; available: boolean }[];
          };
          const one = JSON.parse(await get(`/api/episodes/${onlyA.id}`)) as { available: boolean };
          return {
            listed: Object.fromEntries(show.episodes.map((e) => [e.id, e.available])),
            one: one.available,
            feed: await get('/shows/shared/feed.xml'),
            showPage: await get('/shows/shared'),
            page: await get(`/episodes/${onlyA.id}`),
          };
        } finally {
          await app.close();
        }
      };
      const b = await views(ctxB);
      expect(b.listed).toEqual({ [onlyA.id]: false, [onBoth.id]: true });
      expect(b.one).toBe(false);
      expect(b.feed).not.toContain('Only on A');
      expect(b.feed).not.toContain(onlyA.media!.path);
      expect(b.feed).toContain('On B');
      expect(b.showPage.match(/Not available on this server/g)).toHaveLength(1);
      expect(b.page).toContain('The media file is not available on this server.');
      expect(b.page).not.toContain('data-swarmcast-player');
      expect(b.page).not.toContain(`/media/${onlyA.media!.path}`);
      const a = await views(ctxA);
      expect(a.listed).toEqual({ [onlyA.id]: true, [onBoth.id]: false });
      expect(a.one).toBe(true);
      expect(a.feed).toContain('Only on A');
      expect(a.feed).toContain(`media/${onlyA.media!.path}`);
      expect(a.page).toContain('data-swarmcast-player');
      console.log(
        '[fault missing-media public] node B: its missing episode reads available=false in the API, is left out of the feed (1 of 2 items) and marked on the show and episode pages without a player; node A the same for the episode only B has',
      );
    } finally {
      await db.close();
      await dir.remove();
    }
  });
});
