import { type Db, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchPostgres } from '@swarmcast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deliveryEntry,
  depositEntry,
  impressionEntry,
  Ledger,
  ledgerMigrations,
  payoutEntry,
  trialBalance,
} from '../src/index.ts';
import { memoryDb } from './support-db.ts';

const postgres = await requireServices('ledger on PostgreSQL', 'postgres');
const engines = [
  {
    name: 'PGlite',
    skip: false,
    open: async () => ({ db: await memoryDb(ledgerMigrations), drop: async () => {} }),
  },
  {
    name: 'PostgreSQL',
    skip: postgres.skip,
    open: async () => {
      const pg = await scratchPostgres('ledger_test');
      const db = await openDb({ databaseUrl: pg.url });
      await migrate(db, ledgerMigrations);
      return { db, drop: () => pg.drop() };
    },
  },
];

let db: Db;
let ledger: Ledger;
let drop: () => Promise<void>;

const nov = (day: number) => Date.UTC(2026, 10, day, 12);
const charge = (id: string, time: number, creatorId = 'c1') => ({
  decisionId: id,
  advertiserId: 'a1',
  creatorId,
  cpmMicros: 20_000_000,
  time,
});

for (const engine of engines) {
  describe.skipIf(engine.skip)(`Ledger (${engine.name})`, () => {
    beforeEach(async () => {
      ({ db, drop } = await engine.open());
      ledger = new Ledger(db);
    });
    afterEach(async () => {
      await db.close();
      await drop();
    });

    it('posts an impression once, whatever the redelivery', async () => {
      const e = impressionEntry(charge('d1', nov(2)), 7000);
      expect(await ledger.post(e)).toEqual({ ok: true, written: true });
      expect(await ledger.post(e)).toEqual({ ok: true, written: false });
      expect(await ledger.balance('advertiser:a1')).toBe(-20_000);
      expect(await ledger.balance('creator:c1')).toBe(14_000);
      expect(await ledger.balance('platform')).toBe(6_000);
      expect((await ledger.check()).balanced).toBe(true);
    });

    it('postMany gives the results of posting one by one: new, already posted, repeated, invalid', async () => {
      const before = impressionEntry(charge('d0', nov(2)), 7000);
      await ledger.post(before);
      const d1 = impressionEntry(charge('d1', nov(2)), 7000);
      const d2 = impressionEntry(charge('d2', nov(3), 'c2'), 7000);
      const unbalanced = { ...d2, id: 'imp:bad', lines: [{ account: 'creator:c1', amount: 5 }] };
      expect(await ledger.postMany([d2, before, d1, unbalanced, d1])).toEqual([
        { ok: true, written: true },
        { ok: true, written: false },
        { ok: true, written: true },
        { ok: false, error: expect.objectContaining({ code: 'LED_UNBALANCED' }) },
        { ok: true, written: false },
      ]);
      expect(await ledger.postMany([])).toEqual([]);
      expect(await ledger.entry(d2.id)).toEqual(d2);
      expect(await ledger.entry(d1.id)).toEqual(d1);
      expect(await ledger.entry('imp:bad')).toBeNull();
      expect(await ledger.balance('advertiser:a1')).toBe(-60_000);
      expect(await ledger.balance('creator:c2')).toBe(14_000);
      expect((await ledger.check()).balanced).toBe(true);
    });

    it('SQL refuses an unbalanced entry even when code checks are bypassed', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(
            "INSERT INTO ledger_accounts VALUES ('creator:x', 'creator') ON CONFLICT DO NOTHING",
          );
          await tx.query("INSERT INTO ledger_entries VALUES ('bad', 'payout', 'bad', 0)");
          await tx.query("INSERT INTO ledger_lines VALUES ('bad', 0, 'creator:x', 5)");
        }),
      ).rejects.toThrow(/LED_UNBALANCED/);
      expect((await db.query("SELECT 1 FROM ledger_entries WHERE id = 'bad'")).rows).toEqual([]);
    });

    it('the journal is append-only', async () => {
      await ledger.post(impressionEntry(charge('d1', nov(2)), 7000));
      await expect(db.query('UPDATE ledger_lines SET amount = 0')).rejects.toThrow(/append-only/);
      await expect(db.query('DELETE FROM ledger_entries')).rejects.toThrow(/append-only/);
    });

    it('code refuses an unbalanced entry with a coded error', async () => {
      const r = await ledger.post({
        id: 'bad',
        kind: 'payout',
        ref: 'bad',
        time: 0,
        lines: [{ account: 'creator:x', amount: 5 }],
      });
      expect(r).toMatchObject({ ok: false, error: { code: 'LED_UNBALANCED' } });
    });

    it('refunds an invalidated impression exactly once, and not an uncharged one', async () => {
      await ledger.post(impressionEntry(charge('d1', nov(2)), 7000));
      expect(await ledger.refundImpression('d1', nov(3))).toEqual({ ok: true, written: true });
      expect(await ledger.refundImpression('d1', nov(3))).toEqual({ ok: true, written: false });
      expect(await ledger.refundImpression('never', nov(3))).toEqual({ ok: true, written: false });
      expect(await ledger.balance('creator:c1')).toBe(0);
      expect(await ledger.balance('advertiser:a1')).toBe(0);
    });

    it("gives one account's postings of some kinds in a period, by entry, for other parts to attribute", async () => {
      await ledger.post(depositEntry('dep1', 'a1', 1_000_000, nov(1)));
      await ledger.post(impressionEntry(charge('d1', nov(2)), 7000));
      await ledger.post(impressionEntry(charge('d2', nov(2), 'c2'), 7000));
      await ledger.post(impressionEntry(charge('d3', nov(5)), 7000));
      await ledger.refundImpression('d1', nov(3));
      const kinds = ['impression', 'delivery', 'refund'] as const;
      expect(await ledger.postings('creator:c1', kinds, nov(1), nov(4))).toEqual([
        {
          entryId: 'imp:d1',
          kind: 'impression',
          ref: 'd1',
          time: nov(2),
          account: 'creator:c1',
          amount: 14_000,
        },
        {
          entryId: 'refund:d1',
          kind: 'refund',
          ref: 'd1',
          time: nov(3),
          account: 'creator:c1',
          amount: -14_000,
        },
      ]);
      // The advertiser's charges (negative), not its deposit (another kind).
      const spent = await ledger.postings('advertiser:a1', kinds, nov(1), nov(6));
      expect(spent.map((x) => [x.ref, x.amount])).toEqual([
        ['d1', -20_000],
        ['d2', -20_000],
        ['d3', -20_000],
        ['d1', 20_000],
      ]);
    });

    it('monthly creator statements: opening, earned, refunded, paid out, closing', async () => {
      await ledger.post(depositEntry('dep1', 'a1', 1_000_000, Date.UTC(2026, 9, 1)));
      await ledger.post(impressionEntry(charge('oct', Date.UTC(2026, 9, 30)), 7000));
      for (const d of ['n1', 'n2', 'n3']) await ledger.post(impressionEntry(charge(d, nov(4)), 7000));
      await ledger.refundImpression('n3', nov(5));
      await ledger.post(payoutEntry('p1', 'c1', 20_000, nov(28)));
      await ledger.post(impressionEntry(charge('dec', Date.UTC(2026, 11, 1)), 7000));
      const s = await ledger.statement('c1', '2026-11');
      expect(s).toEqual({
        creatorId: 'c1',
        month: '2026-11',
        opening: 14_000,
        earned: 42_000,
        refunded: 14_000,
        paidOut: 20_000,
        closing: 22_000,
        netImpressions: 2,
        netDeliveries: 0,
      });
      const balances = await ledger.balances();
      expect(trialBalance(balances)).toBe(0);
      expect(balances.get('cash')).toBe(-1_000_000);
      expect(balances.get('advertiser:a1')).toBe(1_000_000 - 4 * 20_000);
      expect(await ledger.creators()).toEqual(['c1']);
      expect((await ledger.check()).balanced).toBe(true);
    });

    it('charges server-side deliveries as their own kind, refunds them apart from impressions, and stays balanced', async () => {
      await ledger.post(impressionEntry(charge('v1', nov(4)), 7000));
      const dlv = deliveryEntry(charge('plan1-pre-1', nov(4)), 7000);
      expect(dlv).toMatchObject({ id: 'dlv:plan1-pre-1', kind: 'delivery', ref: 'dlv:plan1-pre-1' });
      expect(await ledger.post(dlv)).toEqual({ ok: true, written: true });
      expect(await ledger.post(dlv)).toEqual({ ok: true, written: false });
      await ledger.post(deliveryEntry(charge('plan1-mid-1', nov(4)), 7000));
      expect(await ledger.refundDelivery('plan1-mid-1', nov(5))).toEqual({ ok: true, written: true });
      expect(await ledger.refundDelivery('plan1-mid-1', nov(5))).toEqual({ ok: true, written: false });
      // A delivery refund never touches an impression of the same name, nor the other way round.
      expect(await ledger.refundImpression('plan1-pre-1', nov(5))).toEqual({ ok: true, written: false });
      const s = await ledger.statement('c1', '2026-11');
      expect(s).toMatchObject({ earned: 42_000, refunded: 14_000, netImpressions: 1, netDeliveries: 1 });
      expect((await ledger.check()).balanced).toBe(true);
    });
  });
}
