import { join } from 'node:path';
import { type Db, ManualClock, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CatalogContext,
  catalogMigrations,
  episodesOfShow,
  getShow,
  makeHybridTorrent,
  seedDemo,
} from '../src/index.ts';

/**
 * Several processes started together on one PostgreSQL and one data dir (issue 19): each
 * seeded the demo show by check-then-create, and all but one died with `demo show: a show
 * called "swarmcast-demo" already exists` (or both published the same episode). Three
 * "processes" here are three separate connection pools starting at once.
 */
const pg = await requireServices('demo seeding by several processes at once', 'postgres');

describe.skipIf(pg.skip)('demo seeding started by several processes at once (PostgreSQL)', () => {
  let scratch: Awaited<ReturnType<typeof scratchPostgres>>;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const dbs: Db[] = [];

  beforeAll(async () => {
    scratch = await scratchPostgres('swarmcast_demo_race');
    dir = await scratchDir('demo-race-');
    for (let i = 0; i < 3; i++) dbs.push(await openDb({ databaseUrl: scratch.url }));
    // Migrations already take their own lock; every process runs them at start too.
    await Promise.all(dbs.map((db) => migrate(db, catalogMigrations)));
  });
  afterAll(async () => {
    for (const db of dbs) await db.close();
    await scratch?.drop();
    await dir?.remove();
  });

  it('all succeed, and the show and each episode exist once', async () => {
    const contexts: CatalogContext[] = dbs.map((db) => ({
      db,
      clock: new ManualClock(Date.UTC(2026, 11, 7)),
      // One shared data dir, as the processes share it.
      mediaDir: join(dir.path, 'media'),
      uploadsDir: join(dir.path, 'uploads'),
      maxUploadBytes: 50_000_000,
      mediaUrl: (p) => `http://node.test/media/${p}`,
      publicUrl: () => 'http://node.test',
      trackers: () => ['http://node.test/announce'],
      torrents: { make: makeHybridTorrent },
    }));
    const published = await Promise.all(contexts.map((ctx) => seedDemo(ctx)));
    // The three demo episodes were published once in all; the later ones found them done.
    expect(published.reduce((a, b) => a + b, 0)).toBe(3);
    const shows = await dbs[0]!.query<{ n: number }>(
      `select count(*)::int as n from catalog_shows where slug = 'swarmcast-demo'`,
    );
    expect(shows.rows[0]!.n).toBe(1);
    const show = await getShow(dbs[0]!, 'swarmcast-demo');
    const titles = (await episodesOfShow(dbs[0]!, show!.id)).map((e) => e.title);
    expect(titles.length).toBe(3);
    expect(new Set(titles).size).toBe(3);
    const accounts = await dbs[0]!.query<{ n: number }>(
      `select count(*)::int as n from catalog_accounts where email = 'demo@swarmcast.invalid'`,
    );
    expect(accounts.rows[0]!.n).toBe(1);
  }, 180_000);
});
