import {
  type CatalogContext,
  catalogMigrations,
  consumePageViews,
  getEpisode,
  streamPageViews,
} from '@swarmcast/catalog';
import {
  type Db,
  type EventStream,
  ManualClock,
  migrate,
  openDb,
  openEventStream,
  privacyMigrations,
  type StreamEvent,
} from '@swarmcast/platform';
import { gatedStream, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeServer } from '../src/server.ts';
import { oneEpisodeCatalog } from './one-episode.ts';

/**
 * An episode page is sent only once its view is on the event stream (issue 19: the views a
 * process had tallied in memory were lost when it was killed), and the views come back as
 * the episode's count through the catalog's consumer.
 */
let db: Db;
let dir: Awaited<ReturnType<typeof scratchDir>>;
let catalog: CatalogContext;
let episodeId: string;

beforeAll(async () => {
  dir = await scratchDir('page-views-');
  db = await openDb({ inMemory: true });
  await migrate(db, [...privacyMigrations, ...catalogMigrations]);
  ({ catalog, episodeId } = await oneEpisodeCatalog(db, dir.path, new ManualClock(Date.UTC(2026, 11, 8)), {
    slug: 'views',
    show: 'Views',
    episode: 'Seen',
  }));
});

afterAll(async () => {
  await db?.close();
  await dir?.remove();
});

describe('episode page views', () => {
  it('the page leaves only once its view is durable on the stream', async () => {
    const stream = gatedStream<StreamEvent>();
    const { waiting } = stream;
    const app = await createNodeServer({
      catalog,
      pageViews: streamPageViews(stream, { maxWaitMs: 60_000 }),
    });
    try {
      let answered = false;
      const page = app.inject({ url: `/episodes/${episodeId}` }).then((r) => {
        answered = true;
        return r;
      });
      await waitFor(() => waiting.length === 1, 10_000, 'the view published');
      expect(waiting[0]!.events[0]!.data).toMatchObject({ episodes: [[episodeId, 1]] });
      await new Promise((r) => setTimeout(r, 100));
      expect(answered, 'the page before its view is durable').toBe(false);
      waiting[0]!.done();
      const r = await page;
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain('Seen');
      // Other pages and a missing episode record nothing.
      expect((await app.inject({ url: '/episodes/nope' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/' })).statusCode).toBe(200);
      expect(waiting).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('views served through the embedded stream are counted into the episode once each', async () => {
    const stream: EventStream = await openEventStream({ dataDir: dir.path });
    const counter = await consumePageViews(stream, db);
    const app = await createNodeServer({ catalog, pageViews: streamPageViews(stream) });
    try {
      const before = (await getEpisode(db, episodeId))!.views;
      const pages = await Promise.all(
        Array.from({ length: 25 }, () => app.inject({ url: `/episodes/${episodeId}` })),
      );
      expect(pages.map((p) => p.statusCode)).toEqual(Array(25).fill(200));
      await waitFor(
        async () => (await getEpisode(db, episodeId))!.views >= before + 25,
        20_000,
        'the views counted',
      );
      await waitFor(async () => (await counter.pending()) === 0, 20_000, 'the counter to acknowledge');
      expect((await getEpisode(db, episodeId))!.views).toBe(before + 25);
      expect(counter.stats()).toMatchObject({ counted: 25, duplicates: 0, invalid: 0 });
    } finally {
      await app.close();
      await counter.stop();
      await stream.close();
    }
  });
});
