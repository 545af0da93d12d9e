import { Ledger } from '@swarmcast/ledger';
import type { AudienceKey, Db, StreamEvent, Transaction } from '@swarmcast/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { ep1 } from './support/facts.ts';
import { adEvent, measureDb, publicKeys, token } from './support/world.ts';

// processBatch locks, reads and writes all of a batch's decisions in one statement each:
// no beacon lost, no impression counted twice, whatever the batches and failures.
let db: Db;
beforeAll(async () => {
  db = await measureDb();
  await registerEpisode(db, ep1);
});
afterAll(async () => {
  await db.close();
});

const t = Date.UTC(2026, 10, 4, 9);
const run = (events: StreamEvent[], tx?: (tx: Transaction) => Transaction) =>
  db.transaction((t0) => processBatch(tx ? tx(t0) : t0, events, { publicKeys: () => publicKeys }));
const count = async (sql: string) => Number((await db.query<{ n: number }>(sql)).rows[0]!.n);

/** Each decision's impression, start, complete and a duplicate impression, from its own audience key. */
function beacons(prefix: string, decisions: number): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (let d = 0; d < decisions; d++) {
    const tok = token({ decisionId: `${prefix}-${d}` });
    const over = { audienceKey: `${prefix}-key-${d}` as AudienceKey };
    out.push(
      adEvent('impression', tok, t + d, over),
      adEvent('start', tok, t + d, over),
      adEvent('complete', tok, t + d + 31_000, over),
      adEvent('impression', tok, t + d + 32_000, over),
    );
  }
  return out;
}

describe('processBatch with many decisions per batch', () => {
  it('charges each of 40 decisions once across batches that split their beacons; redelivery changes nothing', async () => {
    const all = beacons('many', 40);
    // Beacons in order, cut into three batches: most decisions' beacons span two batches.
    const batches = [all.slice(0, 50), all.slice(50, 101), all.slice(101)];
    let charged = 0;
    for (const b of batches) charged += (await run(b)).impressionsCharged;
    expect(charged).toBe(40);
    for (const b of batches) expect(await run(b)).toMatchObject({ processed: 0, impressionsCharged: 0 });
    expect(
      await count(`SELECT count(*)::int AS n FROM measure_decisions WHERE decision_id LIKE 'many-%'`),
    ).toBe(40);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM measure_decisions WHERE decision_id LIKE 'many-%' AND impression_at IS NOT NULL`,
      ),
    ).toBe(40);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM measure_ad_events WHERE decision_id LIKE 'many-%' AND reason = 'duplicate'`,
      ),
    ).toBe(40);
    expect(
      await count(`SELECT count(*)::int AS n FROM measure_ad_events WHERE decision_id LIKE 'many-%'`),
    ).toBe(160);
    expect(await new Ledger(db).balance('advertiser:adv-1')).toBe(-40 * 25_000);
  });

  it('a batch that fails mid-way stores nothing; delivered again, it counts every beacon once', async () => {
    const before = await new Ledger(db).balance('advertiser:adv-1');
    const batch = beacons('fail', 12);
    // The batch's decisions are written after its ledger entries: fail there.
    const failing = (tx: Transaction): Transaction => ({
      ...tx,
      query: ((sql: string, params?: unknown[]) => {
        if (sql.includes('INSERT INTO measure_decisions')) throw new Error('disk full (test)');
        return tx.query(sql, params as never);
      }) as Transaction['query'],
    });
    await expect(run(batch, failing)).rejects.toThrow('disk full');
    expect(
      await count(`SELECT count(*)::int AS n FROM measure_ad_events WHERE decision_id LIKE 'fail-%'`),
    ).toBe(0);
    expect(await new Ledger(db).balance('advertiser:adv-1')).toBe(before);
    expect(await run(batch)).toMatchObject({ processed: 48, impressionsCharged: 12 });
    expect(await run(batch)).toMatchObject({ processed: 0, impressionsCharged: 0 });
    expect(await new Ledger(db).balance('advertiser:adv-1')).toBe(before - 12 * 25_000);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM measure_outbox WHERE data->>'decisionId' LIKE 'fail-%' AND data->>'kind' = 'delivered'`,
      ),
    ).toBe(12);
  });

  it('queues measured delivery for the ad server in the order it happened: a charge, then its refund, in one batch', async () => {
    const batch: StreamEvent[] = [];
    for (let d = 0; d < 5; d++) {
      const tok = token({ decisionId: `order-${d}`, advertiserId: 'adv-order' });
      const over = { audienceKey: `order-key-${d}` as AudienceKey };
      // A complete 5 s after start for a 30 s ad: charged, then refunded.
      batch.push(
        adEvent('impression', tok, t, over),
        adEvent('start', tok, t, over),
        adEvent('complete', tok, t + 5_000, over),
      );
    }
    expect(await run(batch)).toMatchObject({ impressionsCharged: 5, refunds: 5 });
    const rows = await db.query<{ kind: string; decision: string }>(
      `SELECT data->>'kind' AS kind, data->>'decisionId' AS decision FROM measure_outbox
       WHERE data->>'decisionId' LIKE 'order-%' ORDER BY seq`,
    );
    expect(rows.rows.map((r) => `${r.decision}:${r.kind}`)).toEqual(
      [0, 1, 2, 3, 4].flatMap((d) => [`order-${d}:delivered`, `order-${d}:refunded`]),
    );
    expect(await run(batch)).toMatchObject({ processed: 0, impressionsCharged: 0, refunds: 0 });
    expect(
      await count(`SELECT count(*)::int AS n FROM measure_outbox WHERE data->>'decisionId' LIKE 'order-%'`),
    ).toBe(10);
  });
});
