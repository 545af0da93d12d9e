import { randomBytes } from 'node:crypto';
import { type Db, type EventStream, openEventStream, type StreamEvent } from '@swarmcast/platform';
import { gatedStream, requireServices, scratchDir, serviceUrl, waitFor } from '@swarmcast/testkit';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import {
  consumePageViews,
  countPageViews,
  createAccount,
  createShow,
  decodePageViews,
  forgetPageViews,
  maxEpisodesPerFact,
  pageViewGroup,
  pageViewSubject,
  streamPageViews,
} from '../src/index.ts';
import { type Engine, engines } from './engines.ts';

/**
 * Episode page views as facts on the event stream, counted once per event id (page-views.ts,
 * one test per rule; the recorder is page-view-recorder.ts), on both databases and both
 * stream engines.
 */
const all = await engines('page views');
const nats = await requireServices('page views on NATS JetStream', 'nats', 'postgres');
const t0 = Date.UTC(2026, 11, 8);

/** A database with one show and the episodes `ids` (0 views each). */
async function withEpisodes(engine: Engine, ids: string[]): Promise<Db> {
  const db = await engine.open();
  const ada = await createAccount(db, { email: 'ada@example.org', name: 'Ada', password: 'a long password' });
  if (!ada.ok) throw new Error(ada.message);
  const show = await createShow(db, ada.value, { slug: 'views', title: 'Views' });
  if (!show.ok) throw new Error(show.message);
  for (const id of ids) {
    await db.query(
      `insert into catalog_episodes (id, show_id, guid, title, published_at, duration_ms, media_kind)
       values ($1, $2, $3, $1, now(), 1000, 'audio')`,
      [id, show.value.id, `urn:uuid:${id}`],
    );
  }
  return db;
}

async function views(db: Db): Promise<Record<string, number>> {
  const r = await db.query<{ id: string; views: number }>(
    'select id, views from catalog_episodes order by id',
  );
  return Object.fromEntries(r.rows.map((x) => [x.id, x.views]));
}

/** A fact of `n` views of `episodeId`. */
const fact = (id: string, episodeId: string, time = t0, n = 1): StreamEvent => ({
  id,
  subject: pageViewSubject,
  data: { time, episodes: [[episodeId, n]] },
});

describe('decodePageViews (rule 4): a fact from the stream is checked, not cast', () => {
  const ok = {
    time: t0,
    episodes: [
      ['ep-1', 2],
      ['ep-2', 1],
    ],
  };
  it.each([
    [ok, ok],
    [null, null],
    ['ep-1', null],
    [{ ...ok, time: '1' }, null],
    [{ ...ok, time: 1.5 }, null],
    [{ ...ok, time: -1 }, null],
    [{ ...ok, time: Number.NaN }, null],
    [{ episodes: ok.episodes }, null],
    [{ time: t0 }, null],
    [{ time: t0, episodes: [] }, null],
    [{ time: t0, episodes: [['ep 1', 1]] }, null],
    [{ time: t0, episodes: [['x'.repeat(129), 1]] }, null],
    [{ time: t0, episodes: [['ep-1', 0]] }, null],
    [{ time: t0, episodes: [['ep-1', -1]] }, null],
    [{ time: t0, episodes: [['ep-1', 1.5]] }, null],
    [{ time: t0, episodes: [['ep-1', '1']] }, null],
    [{ time: t0, episodes: [['ep-1', 1e12]] }, null],
    [{ time: t0, episodes: [['ep-1', 1, 2]] }, null],
    [{ time: t0, episodes: [['ep-1']] }, null],
    [
      {
        time: t0,
        episodes: [
          ['ep-1', 1],
          ['ep-1', 1],
        ],
      },
      null,
    ],
    [{ time: t0, episodes: { 'ep-1': 1 } }, null],
  ])('%j -> %j', (data, expected) => {
    expect(decodePageViews(data)).toEqual(expected);
  });

  it('refuses a fact naming more episodes than a recorder puts in one', () => {
    const many = Array.from({ length: maxEpisodesPerFact + 1 }, (_, i): [string, number] => [`ep-${i}`, 1]);
    expect(decodePageViews({ time: t0, episodes: many })).toBeNull();
    expect(decodePageViews({ time: t0, episodes: many.slice(1) })).not.toBeNull();
  });
});

for (const engine of all) {
  describe.skipIf(engine.skip)(`page views counted on ${engine.name}`, () => {
    afterAll(() => engine.teardown());

    it('rule 2: each event id is counted once, whether repeated in a batch or delivered again', async () => {
      const db = await withEpisodes(engine, ['ep-a', 'ep-b']);
      const batch = [
        fact('v1', 'ep-a', t0, 2),
        fact('v2', 'ep-a'),
        fact('v3', 'ep-b'),
        fact('v1', 'ep-a', t0, 2),
      ];
      expect(await countPageViews(db, batch)).toEqual({ counted: 4, duplicates: 1, invalid: 0 });
      expect(await views(db)).toEqual({ 'ep-a': 3, 'ep-b': 1 });
      // The batch again (a consumer died after its commit, before its acknowledgement), and
      // a batch overlapping it.
      expect(await countPageViews(db, batch)).toEqual({ counted: 0, duplicates: 4, invalid: 0 });
      expect(await countPageViews(db, [fact('v3', 'ep-b'), fact('v4', 'ep-b')])).toEqual({
        counted: 1,
        duplicates: 1,
        invalid: 0,
      });
      expect(await views(db)).toEqual({ 'ep-a': 3, 'ep-b': 2 });
    });

    it('rules 4 and 5: a malformed fact is skipped whole; views of an episode gone are dropped', async () => {
      const db = await withEpisodes(engine, ['ep-a', 'ep-b']);
      const batch: StreamEvent[] = [
        fact('v1', 'ep-a', t0, 3),
        {
          id: 'bad-1',
          subject: pageViewSubject,
          data: {
            time: t0,
            episodes: [
              ['ep-a', 1],
              ['ep-b', 0],
            ],
          },
        },
        { id: 'bad-2', subject: pageViewSubject, data: 'ep-a' },
        {
          id: 'v2',
          subject: pageViewSubject,
          data: {
            time: t0,
            episodes: [
              ['ep-gone', 5],
              ['ep-b', 2],
            ],
          },
        },
      ];
      expect(await countPageViews(db, batch)).toEqual({ counted: 5, duplicates: 0, invalid: 2 });
      expect(await views(db)).toEqual({ 'ep-a': 3, 'ep-b': 2 });
      expect(await countPageViews(db, [])).toEqual({ counted: 0, duplicates: 0, invalid: 0 });
    });

    it('rule 2 with consumers at once: overlapping batches, episodes in opposite orders, each id once', async () => {
      const db = await withEpisodes(engine, ['ep-a', 'ep-b', 'ep-c']);
      // 20 batches of 30 facts, each of 1-3 episodes with 1-4 views; batch k shares half its
      // ids with batch k-1 (a redelivery racing the first delivery), and the episodes come in
      // the opposite order in every other batch.
      const make = (n: number, k: number): StreamEvent => {
        const eps = ['ep-a', 'ep-b', 'ep-c'].slice(0, 1 + (n % 3));
        if (k % 2 === 1) eps.reverse();
        return {
          id: `v${n}`,
          subject: pageViewSubject,
          data: { time: t0, episodes: eps.map((e) => [e, 1 + ((n + e.length) % 4)]) },
        };
      };
      const batches = Array.from({ length: 20 }, (_, k) =>
        Array.from({ length: 30 }, (_, i) => make(k * 15 + i, k)),
      );
      const results = await Promise.all(batches.map((b) => countPageViews(db, b)));
      // Each distinct fact's views once (a fact is the same whichever batch carried it).
      const distinct = new Map(batches.flat().map((e) => [e.id, e]));
      const expected: Record<string, number> = { 'ep-a': 0, 'ep-b': 0, 'ep-c': 0 };
      for (const e of distinct.values()) {
        for (const [ep, n] of (e.data as { episodes: [string, number][] }).episodes) {
          expected[ep] = (expected[ep] ?? 0) + n;
        }
      }
      expect(await views(db)).toEqual(expected);
      expect(results.reduce((s, r) => s + r.counted, 0)).toBe(
        Object.values(expected).reduce((s, v) => s + v, 0),
      );
    });

    it('rule 3: forgetPageViews drops the ids older than asked, and only those', async () => {
      const db = await withEpisodes(engine, ['ep-a']);
      await countPageViews(db, [fact('old', 'ep-a', t0 - 10), fact('new', 'ep-a', t0)]);
      expect(await forgetPageViews(db, t0 - 5)).toBe(1);
      // 'new' is still known; 'old' would count again (which is why ids are kept 8 days).
      expect(await countPageViews(db, [fact('new', 'ep-a', t0)])).toMatchObject({ counted: 0 });
      expect(await views(db)).toEqual({ 'ep-a': 2 });
    });
  });
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('streamPageViews (rule 1): group commit', () => {
  it('the views of one moment share one fact; each resolves true once it is durable', async () => {
    const stream = gatedStream();
    const ids = ['f1', 'f2'];
    const recorder = streamPageViews(stream, {
      clock: { now: () => t0 },
      newId: () => ids.shift()!,
      maxInFlight: 1,
    });
    const settled: boolean[] = [];
    const first = ['ep-1', 'ep-2', 'ep-1', 'ep-1', 'ep-2'].map((e) =>
      recorder.record(e).then((ok) => settled.push(ok)),
    );
    await tick();
    expect(stream.waiting).toHaveLength(1);
    expect(stream.waiting[0]!.events).toEqual([
      {
        id: 'f1',
        subject: pageViewSubject,
        data: {
          time: t0,
          episodes: [
            ['ep-1', 3],
            ['ep-2', 2],
          ],
        },
      },
    ]);
    // Views while the fact is being stored wait for the next one, not beside it.
    const second = [recorder.record('ep-3'), recorder.record('ep-3')];
    await tick();
    expect(stream.waiting).toHaveLength(1);
    expect(settled).toEqual([]);
    expect(recorder.stats()).toMatchObject({ pending: 7, recorded: 0 });
    stream.waiting[0]!.done();
    await Promise.all(first);
    expect(settled).toEqual([true, true, true, true, true]);
    await tick();
    expect(stream.waiting).toHaveLength(2);
    expect(stream.waiting[1]!.events[0]).toMatchObject({ id: 'f2', data: { episodes: [['ep-3', 2]] } });
    stream.waiting[1]!.done();
    expect(await Promise.all(second)).toEqual([true, true]);
    expect(recorder.stats()).toEqual({ recorded: 7, failed: 0, refused: 0, pending: 0, facts: 2 });
  });

  it('false, never a rejection, when the stream fails, is too slow, or too many wait', async () => {
    const stream = gatedStream();
    const errors: unknown[] = [];
    const recorder = streamPageViews(stream, {
      maxPending: 2,
      maxWaitMs: 50,
      maxInFlight: 1,
      onError: (e) => errors.push(e),
    });
    const a = recorder.record('ep-1');
    await tick();
    const b = recorder.record('ep-1');
    expect(await recorder.record('ep-1'), 'a third view waiting').toBe(false);
    stream.waiting[0]!.done(new Error('stream down'));
    expect(await a).toBe(false);
    // b's fact: the stream does not answer within maxWaitMs; the page goes out anyway.
    expect(await b).toBe(false);
    stream.waiting[1]!.done();
    await recorder.close();
    expect(recorder.stats()).toEqual({ recorded: 1, failed: 1, refused: 1, pending: 0, facts: 1 });
    expect(errors).toHaveLength(2);
    expect(await recorder.record('ep-1'), 'after close').toBe(false);
  });

  it('close publishes what is queued; a fact never names more episodes than the limit', async () => {
    const stream = gatedStream();
    const recorder = streamPageViews(stream, { maxInFlight: 1, maxPending: 100_000 });
    const all = Array.from({ length: maxEpisodesPerFact + 2 }, (_, i) => recorder.record(`ep-${i}`));
    await tick();
    // The first fact is full at the limit and goes out at once; the rest make the next.
    expect(stream.waiting.map((w) => (w.events[0]!.data as { episodes: unknown[] }).episodes.length)).toEqual(
      [maxEpisodesPerFact],
    );
    const closing = recorder.close();
    await tick();
    expect(stream.waiting).toHaveLength(2);
    expect((stream.waiting[1]!.events[0]!.data as { episodes: unknown[] }).episodes).toHaveLength(2);
    for (const w of stream.waiting) w.done();
    await closing;
    expect((await Promise.all(all)).every(Boolean)).toBe(true);
  });
});

interface StreamEngine {
  name: string;
  skip: boolean;
  open(): Promise<EventStream>;
  teardown(): Promise<void>;
}

function embeddedStream(): StreamEngine {
  const dirs: Array<{ remove(): Promise<void> }> = [];
  return {
    name: 'the embedded stream and PGlite',
    skip: false,
    async open() {
      const dir = await scratchDir('swarmcast-views-stream-');
      dirs.push(dir);
      return openEventStream({ dataDir: dir.path });
    },
    async teardown() {
      for (const d of dirs) await d.remove();
    },
  };
}

function natsStream(): StreamEngine {
  const tag = `V${randomBytes(4).toString('hex')}`.toUpperCase();
  return {
    name: 'NATS JetStream and PostgreSQL',
    skip: nats.skip,
    open: () =>
      openEventStream({
        natsUrl: serviceUrl('nats'),
        streamName: `SC_${tag}`,
        subjectPrefix: `sc${tag.toLowerCase()}`,
        ackWaitMs: 1000,
      }),
    async teardown() {
      const nc = await connect({ servers: serviceUrl('nats') });
      await (await nc.jetstreamManager()).streams.delete(`SC_${tag}`).catch(() => {});
      await nc.close();
    },
  };
}

for (const [se, engine] of [
  [embeddedStream(), all[0]!],
  [natsStream(), all[1]!],
] as const) {
  describe.skipIf(se.skip || engine.skip)(`page views through ${se.name}`, () => {
    afterAll(async () => {
      await se.teardown();
      await engine.teardown();
    });

    it('every view recorded is counted once, though a consumer died after its commit and before its ack', async () => {
      const db = await withEpisodes(engine, ['ep-a', 'ep-b', 'ep-c']);
      const streams = [await se.open()];
      // NATS: a second web process with its own connection (the embedded stream has one owner).
      if (se.name.startsWith('NATS')) streams.push(await se.open());
      try {
        const recorders = streams.map((s) => streamPageViews(s));
        const eps = ['ep-a', 'ep-b', 'ep-c'];
        const first = await Promise.all(
          Array.from({ length: 60 }, (_, i) => recorders[i % recorders.length]!.record(eps[i % 3]!)),
        );
        expect(first.every(Boolean)).toBe(true);
        // A consumer of the group counts a batch, then dies before acknowledging it (and
        // acknowledges nothing after).
        let died = 0;
        let diedFacts = 0;
        const dying = await streams[0]!.consume(
          pageViewGroup,
          async (events) => {
            if (died === 0) {
              died = (await countPageViews(db, events)).counted;
              diedFacts = events.length;
            }
            throw new Error('killed before the ack');
          },
          { subjects: [pageViewSubject], batchSize: 100 },
        );
        await waitFor(() => died > 0, 20_000, 'the dying consumer to commit a batch');
        await dying.stop();
        // The web processes' counters; more views meanwhile.
        const counters = await Promise.all(streams.map((s) => consumePageViews(s, db, { pauseMs: 50 })));
        const more = await Promise.all(
          Array.from({ length: 60 }, (_, i) => recorders[i % recorders.length]!.record(eps[i % 3]!)),
        );
        expect(more.every(Boolean)).toBe(true);
        await waitFor(
          async () => Object.values(await views(db)).reduce((s, v) => s + v, 0) >= 120,
          30_000,
          '120 views counted',
        );
        // Nothing more arrives: what the dying consumer committed is not counted again.
        await waitFor(
          async () => (await Promise.all(counters.map((c) => c.pending()))).every((n) => n === 0),
          30_000,
          'the counters to catch up',
        );
        expect(await views(db)).toEqual({ 'ep-a': 40, 'ep-b': 40, 'ep-c': 40 });
        const stats = counters.map((c) => c.stats());
        expect(stats.reduce((s, x) => s + x.counted, 0)).toBe(120 - died);
        expect(stats.reduce((s, x) => s + x.duplicates, 0)).toBeGreaterThanOrEqual(diedFacts);
        for (const c of counters) await c.stop();
      } finally {
        for (const s of streams) await s.close();
      }
    });
  });
}
