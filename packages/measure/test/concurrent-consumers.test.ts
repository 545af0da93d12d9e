import { ledgerMigrations } from '@swarmcast/ledger';
import { type Db, migrate, openDb, type StreamEvent } from '@swarmcast/platform';
import { requireServices, scratchPostgres, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureMigrations } from '../src/pipeline/migrations.ts';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { ep1 } from './support/facts.ts';
import { adEvent, playEvent, publicKeys, token } from './support/world.ts';

/**
 * Two pipeline consumers judging beacons of one ad decision at the same moment (issue 19):
 * the decision's state was read with a plain SELECT and written back whole, so the later
 * commit dropped the other consumer's events. Here consumer A has judged its batch and not
 * yet committed when consumer B starts on the same decisions: B must wait for A and build on
 * A's state, whichever way the real timing falls.
 */
const pg = await requireServices('concurrent measurement consumers', 'postgres');

describe.skipIf(pg.skip)('two pipeline consumers on one PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof scratchPostgres>>;
  let a: Db;
  let b: Db;
  beforeAll(async () => {
    scratch = await scratchPostgres('swarmcast_measure_race');
    a = await openDb({ databaseUrl: scratch.url });
    b = await openDb({ databaseUrl: scratch.url });
    await migrate(a, [...ledgerMigrations, ...measureMigrations]);
    await registerEpisode(a, ep1);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await scratch?.drop();
  });

  /**
   * The race each test stages: consumer A has judged `batchA` and holds its transaction open
   * while consumer B starts on `batchB`; A commits once B has either finished or is seen
   * waiting for a lock A holds (without the locks B read A's uncommitted state, then waited
   * on A's rows and wrote its own over them). With `bMayFail`, B's failure (the stream
   * delivers its batch again) is a null result instead of an error.
   */
  async function race(
    batchA: StreamEvent[],
    batchB: StreamEvent[],
    options: Parameters<typeof processBatch>[2],
    { bMayFail = false } = {},
  ) {
    let releaseA!: () => void;
    const aMayCommit = new Promise<void>((r) => {
      releaseA = r;
    });
    let aJudged!: () => void;
    const aHasJudged = new Promise<void>((r) => {
      aJudged = r;
    });
    const runA = a.transaction(async (tx) => {
      const r = await processBatch(tx, batchA, options);
      aJudged();
      await aMayCommit;
      return r;
    });
    await aHasJudged;
    let bDone = false;
    const b1 = b.transaction((tx) => processBatch(tx, batchB, options));
    const runB = (bMayFail ? b1.catch(() => null) : b1).finally(() => {
      bDone = true;
    });
    await waitFor(
      async () =>
        bDone ||
        (
          await a.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted
             AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`,
          )
        ).rows[0]!.n > 0,
      60_000,
      'consumer B to finish or wait for A',
      20,
    );
    releaseA();
    return Promise.all([runA, runB]);
  }

  it('serialise per decision: no judged event is lost, no impression counted twice', async () => {
    const t = Date.UTC(2026, 10, 4, 9);
    const ids = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    const tokens = ids.map((decisionId) => token({ decisionId }));
    // A: each decision's impression. B: each decision's start and a second impression, in
    // the opposite order (locks are taken in id order, so this cannot deadlock).
    const batchA = tokens.map((tok) => adEvent('impression', tok, t));
    const batchB = [...tokens]
      .reverse()
      .flatMap((tok) => [adEvent('start', tok, t + 10), adEvent('impression', tok, t + 20)]);
    const options = { publicKeys: () => publicKeys };

    const [ra, rb] = await race(batchA, batchB, options);
    expect(ra.impressionsCharged + rb!.impressionsCharged).toBe(ids.length);

    const rows = await a.query<{ decision_id: string; seen: Record<string, number> }>(
      'SELECT decision_id, seen FROM measure_decisions WHERE decision_id = ANY($1::text[]) ORDER BY decision_id',
      [ids],
    );
    expect(rows.rows).toHaveLength(ids.length);
    for (const row of rows.rows) {
      // Both consumers' events are in the state: A's impression and B's start.
      expect(row.seen, row.decision_id).toEqual({ impression: t, start: t + 10 });
    }
    // B's impressions came second: each is a duplicate, A's each counted.
    const reasons = await a.query<{ id: string; reason: string | null }>(
      'SELECT id, reason FROM measure_events WHERE id = ANY($1::text[])',
      [[...batchA, ...batchB].map((e) => e.id)],
    );
    const reasonOf = new Map(reasons.rows.map((r) => [r.id, r.reason]));
    for (const e of batchA) expect(reasonOf.get(e.id)).toBeNull();
    for (const e of batchB) {
      expect(reasonOf.get(e.id)).toBe(
        (e.data as { event: string }).event === 'impression' ? 'duplicate' : null,
      );
    }
  }, 120_000);

  it('serialise per play session: a later beacon committed first is not overwritten by an earlier one', async () => {
    const t = Date.UTC(2026, 10, 6, 9);
    const sessions = Array.from({ length: 5 }, (_, i) => `race-play-${i}`);
    const options = { publicKeys: () => publicKeys };
    await a.transaction((tx) =>
      processBatch(
        tx,
        sessions.map((sessionId) => playEvent({ sessionId, seq: 0 }, t)),
        options,
      ),
    );
    // A: each session's third beacon (2 min listened); B: its second (1 min), in reverse order.
    const progress = (sessionId: string, seq: number, ms: number) =>
      playEvent({ sessionId, seq, event: 'progress', positionMs: ms, listenedMs: ms }, t + ms);
    const batchA = sessions.map((s) => progress(s, 2, 120_000));
    const batchB = [...sessions].reverse().map((s) => progress(s, 1, 60_000));

    await race(batchA, batchB, options);
    const rows = await a.query<{ session_id: string; last_seq: number; listened_ms: number }>(
      'SELECT session_id, last_seq, listened_ms FROM measure_play_sessions WHERE session_id = ANY($1::text[]) ORDER BY 1',
      [sessions],
    );
    expect(rows.rows.map((r) => [r.session_id, Number(r.last_seq), Number(r.listened_ms)])).toEqual(
      sessions.map((s) => [s, 2, 120_000]),
    );
  }, 120_000);

  it('one batch delivered to two consumers at once (a redelivery racing the first): each event counts once', async () => {
    const t = Date.UTC(2026, 10, 5, 9);
    const ids = Array.from({ length: 10 }, (_, i) => `again-${i}`);
    const batch = ids.flatMap((decisionId) => {
      const tok = token({ decisionId });
      return [adEvent('impression', tok, t), adEvent('start', tok, t + 10)];
    });
    const download = {
      id: 'again-download',
      subject: 'fact.download',
      data: { time: t, audienceKey: 'k', path: '/x' },
    };
    const options = { publicKeys: () => publicKeys };
    const [ra, rb] = await race([...batch, download], [...batch, download], options, { bMayFail: true });
    expect(ra.processed).toBe(batch.length + 1);
    // B either failed (the stream delivers the batch again) or found every event processed.
    if (rb) expect(rb).toMatchObject({ processed: 0, impressionsCharged: 0 });
    const again = await b.transaction((tx) => processBatch(tx, [...batch, download], options));
    expect(again).toMatchObject({ processed: 0, redelivered: batch.length + 1, impressionsCharged: 0 });
    const count = async (sql: string) => (await a.query<{ n: number }>(sql, [ids])).rows[0]!.n;
    expect(await count('SELECT count(*)::int AS n FROM ledger_entries WHERE ref = ANY($1::text[])')).toBe(10);
    expect(
      await count(
        'SELECT count(*)::int AS n FROM measure_ad_events WHERE decision_id = ANY($1::text[]) AND reason IS NULL',
      ),
    ).toBe(20);
    expect(
      (
        await a.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM measure_downloads WHERE id = 'again-download'",
        )
      ).rows[0]!.n,
    ).toBe(1);
  }, 120_000);
});
