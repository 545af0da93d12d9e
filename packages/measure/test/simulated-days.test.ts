import { Ledger, payoutEntry } from '@swarmcast/ledger';
import type { Db, StreamEvent } from '@swarmcast/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { verifyStatementBundle } from '../src/statements/statement.ts';
import { dailyStatement, statementKeys } from '../src/statements/store.ts';
import { prng } from './support/prng.ts';
import { adEvent, crawler, measureDb, publicKeys, statementSigner, token } from './support/world.ts';

const seed = Number(process.env.MEASURE_SIM_SEED ?? 20261201);
const rnd = prng(seed);
const day0 = Date.UTC(2026, 11, 1);
const creators = ['c-a', 'c-b', 'c-c'];
const advertisers = ['adv-x', 'adv-y'];
const cpm = { 'adv-x': 18_000_000, 'adv-y': 31_500_000 } as Record<string, number>;

let db: Db;
beforeAll(async () => {
  db = await measureDb();
});
afterAll(async () => {
  await db.close();
});

/** Expected money, tracked by the simulation itself from what it generated. */
const expected = new Map<string, number>();
/** Expected money of the day being simulated (impressions only: what the day's statements cover). */
let today = new Map<string, number>();
const add = (account: string, amount: number) => {
  expected.set(account, (expected.get(account) ?? 0) + amount);
  today.set(account, (today.get(account) ?? 0) + amount);
};

/** One day of decisions: honest ones, bots, forgeries, replays and too-fast fakes, shuffled into batches. */
function simulateDay(d: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  const n = 30 + Math.floor(rnd() * 30);
  for (let i = 0; i < n; i++) {
    const decisionId = `day${d}-${i}`;
    const advertiserId = advertisers[Math.floor(rnd() * advertisers.length)]!;
    const creatorId = creators[Math.floor(rnd() * creators.length)]!;
    // One campaign per advertiser, one episode per creator (as statements are per campaign and episode).
    const tok = token({
      decisionId,
      advertiserId,
      creatorId,
      campaignId: `camp-${advertiserId}`,
      episodeId: `ep-${creatorId}`,
      cpmMicros: cpm[advertiserId]!,
    });
    const at = day0 + d * 86_400_000 + Math.floor(rnd() * 80_000_000);
    const key = { audienceKey: `k-${d}-${i}` as never };
    const kind = rnd();
    const price = Math.floor(cpm[advertiserId]! / 1000);
    const creatorShare = Math.floor((price * 7000) / 10_000);
    const credit = () => {
      add(`advertiser:${advertiserId}`, -price);
      add(`creator:${creatorId}`, creatorShare);
      add('platform', price - creatorShare);
    };
    if (kind < 0.7) {
      events.push(adEvent('impression', tok, at, key), adEvent('start', tok, at, key));
      events.push(adEvent('complete', tok, at + 30_000, key));
      if (rnd() < 0.3) events.push(adEvent('impression', tok, at + 40_000, key)); // replay
      credit();
    } else if (kind < 0.8) {
      events.push(adEvent('impression', tok, at, { ...key, client: crawler }));
    } else if (kind < 0.9) {
      events.push(adEvent('impression', tok, at, key), adEvent('start', tok, at, key));
      events.push(adEvent('complete', tok, at + 4_000, key)); // charged, then refunded
    } else {
      events.push(adEvent('impression', `${tok.slice(0, -4)}AAAA`, at, key)); // forged signature
    }
  }
  return events;
}

describe(`a simulated week (seed ${seed})`, () => {
  it('the books balance after every day and match what the simulation expects', async () => {
    const ledger = new Ledger(db);
    for (let d = 0; d < 7; d++) {
      today = new Map();
      const events = simulateDay(d);
      // Batches in arrival order per decision; some batches delivered twice.
      for (let i = 0; i < events.length; i += 25) {
        const batch = events.slice(i, i + 25);
        await db.transaction((tx) => processBatch(tx, batch, { publicKeys: () => publicKeys }));
        if (rnd() < 0.2)
          await db.transaction((tx) => processBatch(tx, batch, { publicKeys: () => publicKeys }));
      }
      if (d === 3) {
        // Mid-week payout of creator c-a's whole balance.
        const balance = await ledger.balance('creator:c-a');
        await ledger.post(payoutEntry('week1-c-a', 'c-a', balance, day0 + 4 * 86_400_000 - 1));
        expected.set('creator:c-a', (expected.get('creator:c-a') ?? 0) - balance);
        expected.set('payouts', (expected.get('payouts') ?? 0) + balance);
      }
      const check = await ledger.check();
      expect(check, `day ${d}`).toMatchObject({ balanced: true, total: 0, unbalancedEntries: [] });
      const balances = await ledger.balances();
      for (const [account, amount] of expected)
        expect(balances.get(account) ?? 0, `${account} day ${d}`).toBe(amount);
      // Each campaign's and each episode's signed statement of the day is what the day booked
      // on its account, and verifies against the published key.
      const keys = await statementKeys(db, statementSigner);
      let checked = 0;
      const subjects = [
        ...advertisers.map((a) => ({
          kind: 'campaign' as const,
          subject: `camp-${a}`,
          account: `advertiser:${a}`,
          sign: -1,
        })),
        ...creators.map((c) => ({
          kind: 'episode' as const,
          subject: `ep-${c}`,
          account: `creator:${c}`,
          sign: 1,
        })),
      ];
      for (const x of subjects) {
        const r = await dailyStatement(db, {
          kind: x.kind,
          subject: x.subject,
          day: day0 / 86_400_000 + d,
          now: day0 + 30 * 86_400_000,
          currency: 'EUR',
          keysUrl: 'http://node/k',
          key: statementSigner,
        });
        if (!r.ok) continue; // nobody bought from or heard this subject yet
        checked++;
        const v = verifyStatementBundle(r.bundle, keys);
        expect(v.problems, `${x.subject} day ${d}`).toEqual([]);
        expect(r.bundle.statement.totalMicros, `${x.subject} day ${d}`).toBe(
          x.sign * (today.get(x.account) ?? 0),
        );
      }
      expect(checked, `statements of day ${d}`).toBe(subjects.length);
    }
    const s = await ledger.statement('c-b', '2026-12');
    expect(s.closing).toBe(expected.get('creator:c-b'));
    expect(s.opening).toBe(0);
  });
});
