import { ledgerMigrations } from '@swarmcast/ledger';
import {
  type Db,
  ManualClock,
  migrate,
  openDb,
  type StreamEvent,
  type Transaction,
} from '@swarmcast/platform';
import { requireServices, scratchPostgres } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeExpiredHolds } from '../src/pipeline/held-beacons.ts';
import { measureMigrations } from '../src/pipeline/migrations.ts';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { type PipelineOptions, processBatch } from '../src/pipeline/process-batch.ts';
import type { PlayBeacon } from '../src/rules/play-sequence.ts';
import { ep1 } from './support/facts.ts';
import { adEvent, measureDb, playEvent, publicKeys, token } from './support/world.ts';

/**
 * Two pipeline consumers share the stream (issue 19). Consumer A has pulled the batch with a
 * decision's impression and start; consumer B pulls the next batch, with its quartiles, and
 * commits first. The rules judge by receive time, so the quartiles must count as they do on a
 * single consumer: B holds them (rules/ad-hold.ts) and A's batch judges them after the start.
 * Run on the embedded database (one connection: B's transaction, then A's) and on PostgreSQL
 * (two connections: A's transaction in flight, stopped before it judges, while B commits).
 */
const pg = await requireServices('late ad beacons on PostgreSQL', 'postgres');

interface Consumers {
  a: Db;
  b: Db;
  /** A's transaction may be open while B commits (two connections). */
  concurrent: boolean;
  close(): Promise<void>;
}

const engines: { name: string; skip: boolean; open: () => Promise<Consumers> }[] = [
  {
    name: 'embedded database',
    skip: false,
    open: async () => {
      const db = await measureDb();
      return { a: db, b: db, concurrent: false, close: () => db.close() };
    },
  },
  {
    name: 'PostgreSQL, two connections',
    skip: pg.skip,
    open: async () => {
      const scratch = await scratchPostgres('swarmcast_measure_late');
      const a = await openDb({ databaseUrl: scratch.url });
      const b = await openDb({ databaseUrl: scratch.url });
      await migrate(a, [...ledgerMigrations, ...measureMigrations]);
      return {
        a,
        b,
        concurrent: true,
        close: async () => {
          await a.close();
          await b.close();
          await scratch.drop();
        },
      };
    },
  },
];

const t = Date.UTC(2026, 10, 4, 9);
/** Each step of a 30 s ad, received when a real player sends it. */
const at = {
  impression: t,
  start: t,
  firstQuartile: t + 7_600,
  midpoint: t + 15_100,
  thirdQuartile: t + 22_600,
  complete: t + 30_100,
} as const;

/** A transaction whose first per-decision lock waits for `go` (after calling `reached`). */
const stopBeforeLocks = (tx: Transaction, reached: () => void, go: Promise<void>): Transaction => ({
  ...tx,
  query: (async (sql: string, params?: unknown[]) => {
    if (sql.includes('pg_advisory_xact_lock')) {
      reached();
      await go;
    }
    return tx.query(sql, params as never);
  }) as Transaction['query'],
});

describe.each(engines)('ad and play beacons judged by two consumers out of order: $name', (engine) => {
  let c: Consumers;
  const clock = new ManualClock(t + 40_000);
  const options: PipelineOptions = { publicKeys: () => publicKeys, clock };
  beforeAll(async () => {
    if (engine.skip) return;
    c = await engine.open();
    await registerEpisode(c.a, ep1);
  });
  afterAll(async () => {
    await c?.close();
  });

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await c.a.query<{ n: number }>(sql, params)).rows[0]!.n);
  const judged = async (decisionId: string) =>
    (
      await c.a.query<{ event: string; reason: string | null }>(
        'SELECT event, reason FROM measure_ad_events WHERE decision_id = $1 ORDER BY received_at, event',
        [decisionId],
      )
    ).rows.map((r) => [r.event, r.reason]);
  const reasons = async (events: StreamEvent[]) => {
    const r = await c.a.query<{ id: string; reason: string | null }>(
      'SELECT id, reason FROM measure_events WHERE id = ANY($1::text[])',
      [events.map((e) => e.id)],
    );
    const of = new Map(r.rows.map((x) => [x.id, x.reason]));
    return events.map((e) => of.get(e.id));
  };

  /** B's batch commits first, then A's (which, on two connections, was pulled and begun first). */
  async function bCommitsFirst(batchA: StreamEvent[], batchB: StreamEvent[]) {
    if (!c.concurrent) {
      const rb = await c.b.transaction((tx) => processBatch(tx, batchB, options));
      const ra = await c.a.transaction((tx) => processBatch(tx, batchA, options));
      return { ra, rb };
    }
    let reached!: () => void;
    const aStopped = new Promise<void>((r) => {
      reached = r;
    });
    let go!: () => void;
    const bCommitted = new Promise<void>((r) => {
      go = r;
    });
    const runA = c.a.transaction((tx) =>
      processBatch(stopBeforeLocks(tx, reached, bCommitted), batchA, options),
    );
    await aStopped;
    const rb = await c.b.transaction((tx) => processBatch(tx, batchB, options));
    go();
    return { ra: await runA, rb };
  }

  it.skipIf(engine.skip)('quartiles committed before their start count as on a single consumer', async () => {
    const tok = token({ decisionId: 'late-1' });
    const batchA = [adEvent('impression', tok, at.impression), adEvent('start', tok, at.start)];
    const batchB = [adEvent('firstQuartile', tok, at.firstQuartile), adEvent('midpoint', tok, at.midpoint)];
    const batchC = [adEvent('thirdQuartile', tok, at.thirdQuartile), adEvent('complete', tok, at.complete)];

    const { ra, rb } = await bCommitsFirst(batchA, batchB);
    const rc = await c.b.transaction((tx) => processBatch(tx, batchC, options));

    const all = [...batchA, ...batchB, ...batchC];
    expect(await reasons(all)).toEqual(all.map(() => null));
    expect(await judged('late-1')).toEqual([
      ['impression', null],
      ['start', null],
      ['firstQuartile', null],
      ['midpoint', null],
      ['thirdQuartile', null],
      ['complete', null],
    ]);
    expect(rb).toMatchObject({ processed: 2, held: 2, released: 0 });
    expect(ra).toMatchObject({ processed: 2, held: 0, released: 2, impressionsCharged: 1 });
    expect(rc).toMatchObject({ processed: 2, held: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM measure_decisions WHERE held IS NOT NULL`)).toBe(0);

    // One consumer, the same beacons in the order received: the same judgements.
    const one = token({ decisionId: 'late-1-single' });
    const single = (
      ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'] as const
    ).map((e) => adEvent(e, one, at[e]));
    await c.a.transaction((tx) => processBatch(tx, single, options));
    expect(await judged('late-1-single')).toEqual(await judged('late-1'));

    // Redelivered (a consumer died before its ack): nothing changes.
    for (const batch of [batchB, batchA, batchC]) {
      expect(await c.a.transaction((tx) => processBatch(tx, batch, options))).toMatchObject({
        processed: 0,
        held: 0,
        released: 0,
        impressionsCharged: 0,
      });
    }
    expect(await count(`SELECT count(*)::int AS n FROM measure_ad_events WHERE decision_id = 'late-1'`)).toBe(
      6,
    );
  });

  it.skipIf(engine.skip)(
    'a fabricated complete committed first is still too-fast, timed by receive time',
    async () => {
      const tok = token({ decisionId: 'late-fast' });
      const batchA = [adEvent('impression', tok, t), adEvent('start', tok, t)];
      const batchB = [adEvent('complete', tok, t + 2_000)];
      const { ra, rb } = await bCommitsFirst(batchA, batchB);
      expect(rb).toMatchObject({ held: 1 });
      expect(ra).toMatchObject({ released: 1, impressionsCharged: 1, refunds: 1 });
      expect(await reasons([...batchA, ...batchB])).toEqual([null, null, 'too-fast']);
      expect(
        await count(
          `SELECT count(*)::int AS n FROM measure_decisions WHERE decision_id = 'late-fast' AND invalid = 'too-fast'`,
        ),
      ).toBe(1);
    },
  );

  it.skipIf(engine.skip)(
    'a quartile whose start never comes is out of order once its hold ends, judged once',
    async () => {
      const tok = token({ decisionId: 'late-never' });
      const q = adEvent('firstQuartile', tok, at.firstQuartile);
      const held = await c.b.transaction((tx) => processBatch(tx, [q], options));
      expect(held).toMatchObject({ held: 1 });
      expect(await reasons([q])).toEqual(['held']);
      expect(await judged('late-never')).toEqual([]);

      clock.advance(59_999);
      expect(await c.a.transaction((tx) => judgeExpiredHolds(tx, options))).toBe(0);
      clock.advance(1);
      // Two sweeps (two processes) at once: the beacon is judged by one of them only.
      const swept = await Promise.all([
        c.a.transaction((tx) => judgeExpiredHolds(tx, options)),
        c.b.transaction((tx) => judgeExpiredHolds(tx, options)),
      ]);
      expect(swept[0] + swept[1]).toBe(1);
      expect(await reasons([q])).toEqual(['out-of-order']);
      expect(await judged('late-never')).toEqual([['firstQuartile', 'out-of-order']]);

      // The start, later still: the decision goes on, the quartile stays judged as it was.
      const s = adEvent('start', tok, at.start);
      expect(await c.a.transaction((tx) => processBatch(tx, [s], options))).toMatchObject({ released: 0 });
      expect(await judged('late-never')).toEqual([
        ['start', null],
        ['firstQuartile', 'out-of-order'],
      ]);
    },
  );

  it.skipIf(engine.skip)(
    'holds at most 32 beacons a decision; the rest awaiting are out of order at once',
    async () => {
      const tok = token({ decisionId: 'late-many' });
      const clicks = Array.from({ length: 40 }, (_, i) =>
        adEvent('click', tok, t + i, { audienceKey: `many-${i}` as never }),
      );
      const r = await c.a.transaction((tx) => processBatch(tx, clicks, options));
      expect(r).toMatchObject({ processed: 40, held: 32 });
      const rs = await reasons(clicks);
      expect(rs.filter((x) => x === 'held')).toHaveLength(32);
      expect(rs.filter((x) => x === 'out-of-order')).toHaveLength(8);
    },
  );

  it.skipIf(engine.skip)(
    'a consumer killed mid-batch stores nothing, held or released; redelivered, each beacon counts once',
    async () => {
      const tok = token({ decisionId: 'late-kill' });
      const batchA = [adEvent('impression', tok, at.impression), adEvent('start', tok, at.start)];
      const batchB = [adEvent('firstQuartile', tok, at.firstQuartile)];
      // Decisions are written last in a batch: die there.
      const dying = (tx: Transaction): Transaction => ({
        ...tx,
        query: ((sql: string, params?: unknown[]) => {
          if (sql.includes('INSERT INTO measure_decisions')) throw new Error('killed (test)');
          return tx.query(sql, params as never);
        }) as Transaction['query'],
      });
      const run = (db: Db, batch: StreamEvent[], wrap = (tx: Transaction) => tx) =>
        db.transaction((tx) => processBatch(wrap(tx), batch, options));

      await expect(run(c.b, batchB, dying)).rejects.toThrow('killed');
      expect(await reasons(batchB)).toEqual([undefined]);
      expect(await run(c.b, batchB)).toMatchObject({ processed: 1, held: 1 });
      await expect(run(c.a, batchA, dying)).rejects.toThrow('killed');
      expect(await reasons(batchB)).toEqual(['held']);
      expect(await run(c.a, batchA)).toMatchObject({ processed: 2, released: 1, impressionsCharged: 1 });
      expect(await run(c.a, [...batchA, ...batchB])).toMatchObject({ processed: 0, released: 0 });
      expect(await judged('late-kill')).toEqual([
        ['impression', null],
        ['start', null],
        ['firstQuartile', null],
      ]);
    },
  );
  // Play sessions (issue 19): a progress or complete judged before its session's start.
  const plays = async (sessionId: string) =>
    (
      await c.a.query<{ event: string; reason: string | null }>(
        'SELECT event, reason FROM measure_play_events WHERE session_id = $1 ORDER BY received_at, event',
        [sessionId],
      )
    ).rows.map((r) => [r.event, r.reason]);
  const session = async (sessionId: string) =>
    (
      await c.a.query<Record<string, unknown>>(
        `SELECT last_seq, max_position_ms, listened_ms, completed, invalid, bytes_from_peers, bytes_from_web_seed
           FROM measure_play_sessions
          WHERE session_id = $1`,
        [sessionId],
      )
    ).rows.map((r) => ({
      lastSeq: Number(r.last_seq),
      maxPositionMs: Number(r.max_position_ms),
      listenedMs: Number(r.listened_ms),
      completed: r.completed,
      invalid: r.invalid,
      bytes: [Number(r.bytes_from_peers), Number(r.bytes_from_web_seed)],
    }))[0];
  /** A 10-minute episode listened through: start, progress at 1 and 5 minutes, complete. */
  const listen = (sessionId: string, over: Partial<PlayBeacon> = {}) => {
    const step = (seq: number, event: PlayBeacon['event'], ms: number, at: number) =>
      playEvent({ sessionId, seq, event, positionMs: ms, listenedMs: ms, ...over }, at);
    return [
      step(0, 'start', 0, t),
      step(1, 'progress', 60_000, t + 60_500),
      step(2, 'progress', 300_000, t + 300_500),
      step(3, 'complete', 600_000, t + 600_500),
    ];
  };

  it.skipIf(engine.skip)(
    "a play's progress and complete committed before its start count as on a single consumer",
    async () => {
      const [start, p1, p2, complete] = listen('late-play');
      const batchA = [start!];
      const batchB = [p1!, p2!, complete!];
      const { ra, rb } = await bCommitsFirst(batchA, batchB);

      const all = [...batchA, ...batchB];
      expect(await reasons(all)).toEqual(all.map(() => null));
      expect(await plays('late-play')).toEqual([
        ['start', null],
        ['progress', null],
        ['progress', null],
        ['complete', null],
      ]);
      expect(await session('late-play')).toEqual({
        lastSeq: 3,
        maxPositionMs: 600_000,
        listenedMs: 600_000,
        completed: true,
        invalid: null,
        bytes: [0, 0],
      });
      expect(rb).toMatchObject({ processed: 3, held: 3, released: 0 });
      expect(ra).toMatchObject({ processed: 1, held: 0, released: 3 });

      // One consumer, the same beacons in the order received: the same judgements and session.
      await c.a.transaction((tx) => processBatch(tx, listen('late-play-single'), options));
      expect(await plays('late-play-single')).toEqual(await plays('late-play'));
      expect(await session('late-play-single')).toEqual(await session('late-play'));

      // Redelivered (a consumer died before its ack): nothing changes.
      for (const batch of [batchB, batchA]) {
        expect(await c.a.transaction((tx) => processBatch(tx, batch, options))).toMatchObject({
          processed: 0,
          held: 0,
          released: 0,
        });
      }
      expect(await plays('late-play')).toHaveLength(4);
    },
  );

  it.skipIf(engine.skip)(
    "the start's batch carries later beacons too: they and the held ones are judged in receive order",
    async () => {
      const [start, p1, p2, complete] = listen('late-play-mixed');
      // B holds the first progress; A has the start, the second progress and the complete.
      const { ra, rb } = await bCommitsFirst([start!, p2!, complete!], [p1!]);
      expect(rb).toMatchObject({ held: 1 });
      expect(ra).toMatchObject({ held: 0, released: 1 });
      expect(await reasons([start!, p1!, p2!, complete!])).toEqual([null, null, null, null]);
      expect(await session('late-play-mixed')).toMatchObject({ lastSeq: 3, completed: true });
    },
  );

  it.skipIf(engine.skip)(
    'an earlier beacon judged after a later one is judged as on a single consumer, whichever batch commits first',
    async () => {
      /** Beacon `seq` of a session: listened through `ms`, bytes growing with it, received as sent. */
      const beat = (
        sessionId: string,
        seq: number,
        event: PlayBeacon['event'],
        ms: number,
        listenedMs = ms,
      ) =>
        playEvent(
          {
            sessionId,
            seq,
            event,
            positionMs: ms,
            listenedMs,
            bytesFromPeers: ms * 3,
            bytesFromWebSeed: ms,
          },
          t + ms + 500,
        );
      const honest = (id: string) => [
        beat(id, 0, 'start', 0),
        beat(id, 1, 'progress', 60_000),
        beat(id, 2, 'progress', 120_000),
        beat(id, 3, 'progress', 180_000),
        beat(id, 4, 'complete', 600_000),
      ];
      // The third beacon claims the whole episode 2 minutes in: too fast, which invalidates the session.
      const fabricated = (id: string) => [
        beat(id, 0, 'start', 0),
        beat(id, 1, 'progress', 60_000),
        beat(id, 2, 'progress', 120_000, 600_000),
      ];
      // Which beacons (by index) are committed before, in A's batch and in B's (B commits first).
      const cases: { name: string; beacons: (id: string) => StreamEvent[]; split: number[][] }[] = [
        { name: 'after-two', beacons: honest, split: [[0], [1], [2, 3, 4]] },
        { name: 'after-one', beacons: honest, split: [[0, 1], [2], [3, 4]] },
        { name: 'two-after', beacons: honest, split: [[0], [1, 2], [3, 4]] },
        { name: 'with-start', beacons: honest, split: [[], [0, 1], [2, 3, 4]] },
        { name: 'after-too-fast', beacons: fabricated, split: [[0], [1], [2]] },
      ];
      for (const k of cases) {
        const multi = k.beacons(`order-${k.name}`);
        const [before, a, b] = k.split.map((ix) => ix.map((i) => multi[i]!));
        if (before!.length > 0) await c.a.transaction((tx) => processBatch(tx, before!, options));
        await bCommitsFirst(a!, b!);
        const single = k.beacons(`order-${k.name}-single`);
        await c.a.transaction((tx) => processBatch(tx, single, options));
        const judgements = async (events: StreamEvent[]) => ({
          events: await reasons(events),
          plays: await plays((events[0]!.data as { beacon: PlayBeacon }).beacon.sessionId),
          session: await session((events[0]!.data as { beacon: PlayBeacon }).beacon.sessionId),
        });
        expect({ case: k.name, ...(await judgements(multi)) }).toEqual({
          case: k.name,
          ...(await judgements(single)),
        });
      }
      // The single consumer's judgements themselves: every honest beacon counts.
      expect(await reasons(honest('order-after-two-single'))).toEqual([null, null, null, null, null]);
      expect(await reasons(fabricated('order-after-too-fast-single'))).toEqual([null, null, 'too-fast']);
    },
  );

  it.skipIf(engine.skip)(
    'a play beacon held for its start is judged against it by receive time: too fast is still too fast',
    async () => {
      // A complete 20 s after the start of a 10-minute episode: fabricated, whichever commits first.
      const [start] = listen('late-play-fast');
      const fast = playEvent(
        { sessionId: 'late-play-fast', seq: 1, event: 'complete', positionMs: 600_000, listenedMs: 600_000 },
        t + 20_000,
      );
      const { ra, rb } = await bCommitsFirst([start!], [fast]);
      expect(rb).toMatchObject({ held: 1 });
      expect(ra).toMatchObject({ released: 1 });
      expect(await reasons([start!, fast])).toEqual([null, 'too-fast']);
      expect(await session('late-play-fast')).toMatchObject({ completed: false, invalid: 'too-fast' });
    },
  );

  it.skipIf(engine.skip)(
    'a play beacon whose start never comes is out of order once its hold ends, judged by one sweep',
    async () => {
      const p = listen('late-play-never')[1]!;
      expect(await c.b.transaction((tx) => processBatch(tx, [p], options))).toMatchObject({ held: 1 });
      expect(await reasons([p])).toEqual(['held']);
      expect(await plays('late-play-never')).toEqual([]);
      expect(await session('late-play-never')).toBeUndefined();

      clock.advance(59_999);
      expect(await c.a.transaction((tx) => judgeExpiredHolds(tx, options))).toBe(0);
      clock.advance(1);
      // Every hold (this file's earlier ones too) has ended: two sweeps at once judge each once.
      const heldSql = `SELECT count(*)::int AS n FROM measure_events WHERE reason = 'held'`;
      const heldBefore = await count(heldSql);
      const swept = await Promise.all([
        c.a.transaction((tx) => judgeExpiredHolds(tx, options)),
        c.b.transaction((tx) => judgeExpiredHolds(tx, options)),
      ]);
      expect(swept[0] + swept[1]).toBe(heldBefore);
      expect(await count(heldSql)).toBe(0);
      expect(await reasons([p])).toEqual(['out-of-order']);
      expect(await plays('late-play-never')).toEqual([['progress', 'out-of-order']]);
      expect(await session('late-play-never')).toBeUndefined();
    },
  );

  it.skipIf(engine.skip)(
    'holds at most 32 play beacons a session; the rest awaiting are out of order at once',
    async () => {
      const many = Array.from({ length: 40 }, (_, i) =>
        playEvent(
          { sessionId: 'late-play-many', seq: i + 1, event: 'progress', positionMs: i, listenedMs: i },
          t + i,
          { audienceKey: `play-many-${i}` as never },
        ),
      );
      expect(await c.a.transaction((tx) => processBatch(tx, many, options))).toMatchObject({
        processed: 40,
        held: 32,
      });
      const rs = await reasons(many);
      expect(rs.filter((x) => x === 'held')).toHaveLength(32);
      expect(rs.filter((x) => x === 'out-of-order')).toHaveLength(8);
    },
  );
});
