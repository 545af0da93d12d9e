import { createHash } from 'node:crypto';
import { exportSigningKey, generateSigningKey } from '@swarmcast/ads';
import type { Db } from '@swarmcast/platform';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { Reports } from '../src/reports/reports.ts';
import { inclusionProof, leafHash, merkleRoot, verifyInclusion } from '../src/statements/merkle.ts';
import { statementRoutes } from '../src/statements/routes.ts';
import {
  canonicalJson,
  type StatementBundle,
  type StatementKeys,
  verifyStatementBundle,
} from '../src/statements/statement.ts';
import { dailyStatement, statementKeys } from '../src/statements/store.ts';
import { day, episode1, episode2, scenarioEvents } from './support/scenario.ts';
import { measureDb, publicKeys, statementSigner } from './support/world.ts';

const dayIndex = day / 86_400_000;
const afterClose = day + 86_400_000 + 3 * 3_600_000;
let db: Db;
beforeAll(async () => {
  db = await measureDb();
  await registerEpisode(db, episode1);
  await registerEpisode(db, episode2);
  const events = scenarioEvents();
  await db.transaction((tx) => processBatch(tx, events, { publicKeys: () => publicKeys }));
});
afterAll(async () => {
  await db?.close();
});

const campaign = (now = afterClose) =>
  dailyStatement(db, {
    kind: 'campaign',
    subject: 'camp-1',
    day: dayIndex,
    now,
    currency: 'EUR',
    keysUrl: 'http://node/k',
    key: statementSigner,
  });
const clone = (b: StatementBundle): StatementBundle => JSON.parse(JSON.stringify(b));

describe('Merkle tree (RFC 9162 2.1)', () => {
  it('every leaf of trees of 1 to 17 leaves proves its inclusion, and no other position or root', () => {
    for (let n = 1; n <= 17; n++) {
      const hashes = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
      const root = merkleRoot(hashes);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(hashes, m);
        expect(verifyInclusion(hashes[m]!, m, n, proof, root), `${m} of ${n}`).toBe(true);
        if (n > 1) expect(verifyInclusion(hashes[m]!, (m + 1) % n, n, proof, root)).toBe(false);
        expect(verifyInclusion(hashes[m]!, m, n, proof, leafHash(Buffer.from('other')))).toBe(false);
      }
    }
    // RFC 9162: the root of two leaves is H(0x01 || H(0x00 || a) || H(0x00 || b)).
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    expect(merkleRoot([a, b]).toString('hex')).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.of(1), a, b]))
        .digest('hex'),
    );
  });
});

describe('signed daily statements', () => {
  it('are not issued before the day is over (plus grace)', async () => {
    expect(await campaign(day + 86_400_000 + 60_000)).toEqual({ ok: false, reason: 'not-closed' });
  });

  it("a campaign's statement is the advertiser's spend that day, and verifies against the published key", async () => {
    const r = await campaign();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.bundle.statement;
    // The scenario's worked figures (reports.test.ts): 7 impressions charged, 1 refunded, 150,000 micros.
    expect(s.counts).toEqual({ impressions: 7, deliveries: 0, refunds: 1 });
    expect(s.totalMicros).toBe(150_000);
    const report = await new Reports(db).advertiser('adv-1', { from: day, to: day + 86_400_000 });
    expect(s.totalMicros).toBe(report.campaigns[0]!.spendMicros);
    expect(s).toMatchObject({
      kind: 'campaign',
      subject: 'camp-1',
      account: 'advertiser:adv-1',
      day: '2026-12-02',
    });
    // Leaves name no listener: an opaque hash, the kind, the line item, the amount.
    for (const l of r.bundle.leaves)
      expect(Object.keys(l.leaf).sort()).toEqual(['event', 'kind', 'lineItem', 'micros']);
    expect(JSON.stringify(r.bundle)).not.toMatch(/listener-\d|audience/);
    const keys = await statementKeys(db, statementSigner);
    const v = verifyStatementBundle(r.bundle, keys);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, totalMicros: 150_000 });
    // Kept as issued: the same bytes on the next request.
    const again = await campaign(afterClose + 86_400_000);
    expect(again.ok && canonicalJson(again.bundle)).toBe(canonicalJson(r.bundle));
  });

  it("an episode's statement is what its creator earned that day", async () => {
    const r = await dailyStatement(db, {
      kind: 'episode',
      subject: episode1.episodeId,
      day: dayIndex,
      now: afterClose,
      currency: 'EUR',
      keysUrl: 'http://node/k',
      key: statementSigner,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.bundle.statement.account).toBe('creator:creator');
    expect(r.bundle.statement.totalMicros).toBe(105_000);
    expect(verifyStatementBundle(r.bundle, await statementKeys(db, statementSigner)).ok).toBe(true);
  });

  describe('the verifier detects', () => {
    let bundle: StatementBundle;
    let keys: StatementKeys;
    beforeAll(async () => {
      const r = await campaign();
      if (!r.ok) throw new Error('no statement');
      bundle = r.bundle;
      keys = await statementKeys(db, statementSigner);
    });

    it('a tampered count', () => {
      const b = clone(bundle);
      b.statement.counts.impressions += 1;
      const v = verifyStatementBundle(b, keys);
      expect(v.ok).toBe(false);
      expect(v.problems.join('\n')).toMatch(/signature does not match/);
      expect(v.problems.join('\n')).toMatch(/impressions: the statement says 8, the leaves count 7/);
    });

    it('a statement checked against keys this node does not publish', async () => {
      const other = await measureDb();
      try {
        const b = clone(bundle);
        b.statement.totalMicros += 1_000;
        const v = verifyStatementBundle(b, await statementKeys(other, generateSigningKey('st-other')));
        expect(v.ok).toBe(false);
        expect(v.problems.join('\n')).toMatch(/not among the published keys/);
      } finally {
        await other.close();
      }
    });

    it('a dropped leaf', () => {
      const b = clone(bundle);
      b.leaves.splice(3, 1);
      const v = verifyStatementBundle(b, keys);
      expect(v.ok).toBe(false);
      expect(v.problems.join('\n')).toMatch(/leaves missing from the bundle: 3/);
      expect(v.problems.join('\n')).toMatch(/total: the statement says 150000 micros/);
    });

    it('an edited price', () => {
      const b = clone(bundle);
      const charge = b.leaves.find((l) => l.leaf.kind === 'impression')!;
      charge.leaf.micros += 1;
      const v = verifyStatementBundle(b, keys);
      expect(v.ok).toBe(false);
      expect(v.problems.join('\n')).toMatch(new RegExp(`leaf ${charge.index} is not in the signed tree`));
      expect(v.totalMicros).toBe(150_001);
    });

    it('a leaf swapped for another position', () => {
      const b = clone(bundle);
      [b.leaves[0]!.leaf, b.leaves[1]!.leaf] = [b.leaves[1]!.leaf, b.leaves[0]!.leaf];
      const v = verifyStatementBundle(b, keys);
      expect(v.problems.join('\n')).toMatch(/leaf 0 is not in the signed tree/);
    });
  });
});

describe('entries booked after their day was stated: supplements', () => {
  it("a late entry gets a signed supplement; the day's statements together equal the day's bookings", async () => {
    const { impressionEntry, Ledger } = await import('@swarmcast/ledger');
    const own = await measureDb();
    try {
      const ledger = new Ledger(own);
      const book = async (i: number, time: number) => {
        await own.query(
          `INSERT INTO measure_decisions (decision_id, campaign_id, line_item_id, advertiser_id, ad_id, creator_id, show_id,
             episode_id, break_id, cpm_micros, creative_duration_ms, seen)
           VALUES ($1, 'camp-late', 'li', 'adv-late', 'ad', 'cre', 'show', 'ep-late', 'pre', 20000000, 15000, '[]')`,
          [`late-${i}`],
        );
        const r = await ledger.post(
          impressionEntry(
            {
              decisionId: `late-${i}`,
              advertiserId: 'adv-late',
              creatorId: 'cre',
              cpmMicros: 20_000_000,
              time,
            },
            7000,
          ),
        );
        expect(r.ok).toBe(true);
      };
      const ask = (now: number, kind: 'campaign' | 'episode' = 'campaign') =>
        dailyStatement(own, {
          kind,
          subject: kind === 'campaign' ? 'camp-late' : 'ep-late',
          day: dayIndex,
          now,
          currency: 'EUR',
          keysUrl: 'http://node/k',
          key: statementSigner,
        });
      /** What the ledger holds for the advertiser on that day (the invoice). */
      const booked = async () => {
        const r = await own.query<{ micros: string }>(
          `SELECT coalesce(-sum(l.amount), 0)::text AS micros FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
            WHERE l.account_id = 'advertiser:adv-late' AND e.time >= $1 AND e.time < $2`,
          [day, day + 86_400_000],
        );
        return Number(r.rows[0]!.micros);
      };
      await book(1, day + 3_600_000);
      await book(2, day + 7_200_000);
      const first = await ask(afterClose);
      if (!first.ok) throw new Error(first.reason);
      expect(first.bundle.statement.counts.impressions).toBe(2);
      expect(first.supplements).toEqual([]);
      // A beacon of 23:59 that the pipeline booked two days later: its entry is in that day.
      await book(3, day + 86_400_000 - 1);
      const later = await ask(afterClose + 2 * 86_400_000);
      if (!later.ok) throw new Error(later.reason);
      // The day's statement is kept as issued; the late entry is in a signed supplement.
      expect(canonicalJson(later.bundle.statement)).toBe(canonicalJson(first.bundle.statement));
      expect(later.bundle.supplements).toBe(1);
      expect(later.supplements).toHaveLength(1);
      const sup = later.supplements[0]!;
      expect(sup.statement).toMatchObject({
        supplement: 1,
        day: '2026-12-02',
        leafCount: 1,
        totalMicros: 20_000,
      });
      const keys = await statementKeys(own, statementSigner);
      expect(verifyStatementBundle(sup, keys).problems).toEqual([]);
      // Nothing billed is missing: the statements of the day add up to the bookings of the day.
      const stated = [later.bundle, ...later.supplements].reduce((s, b) => s + b.statement.totalMicros, 0);
      expect(stated).toBe(await booked());
      expect(stated).toBe(60_000);
      // No leaf is in two statements, and asking again issues nothing new.
      const events = [later.bundle, ...later.supplements].flatMap((b) => b.leaves.map((l) => l.leaf.event));
      expect(new Set(events).size).toBe(events.length);
      const again = await ask(afterClose + 3 * 86_400_000);
      expect(again.ok && again.supplements.length).toBe(1);
      // The creator's statement of the episode gets the same treatment.
      const ep = await ask(afterClose + 3 * 86_400_000, 'episode');
      expect(ep.ok && ep.bundle.statement.leafCount).toBe(3);
    } finally {
      await own.close();
    }
  });
});

describe("an advertiser's leaves of an episode's statement", () => {
  it("come with their inclusion proofs and no other advertiser's; a partial bundle never passes as whole", async () => {
    const { impressionEntry, Ledger } = await import('@swarmcast/ledger');
    const own = await measureDb();
    try {
      const ledger = new Ledger(own);
      // Two advertisers' ads in one episode that day: three of adv-a, two of adv-b.
      const plan = [
        ['adv-a', 'camp-a', 'li-a'],
        ['adv-b', 'camp-b', 'li-b'],
        ['adv-a', 'camp-a', 'li-a'],
        ['adv-a', 'camp-a', 'li-a'],
        ['adv-b', 'camp-b', 'li-b'],
      ] as const;
      for (const [i, [adv, camp, li]] of plan.entries()) {
        await own.query(
          `INSERT INTO measure_decisions (decision_id, campaign_id, line_item_id, advertiser_id, ad_id, creator_id, show_id,
             episode_id, break_id, cpm_micros, creative_duration_ms, seen)
           VALUES ($1, $2, $3, $4, 'ad', 'cre', 'show', 'ep-x', 'pre', 20000000, 15000, '[]')`,
          [`x-${i}`, camp, li, adv],
        );
        const r = await ledger.post(
          impressionEntry(
            {
              decisionId: `x-${i}`,
              advertiserId: adv,
              creatorId: 'cre',
              cpmMicros: 20_000_000,
              time: day + i * 60_000,
            },
            7000,
          ),
        );
        expect(r.ok).toBe(true);
      }
      const app = Fastify();
      statementRoutes(app, own, statementSigner, { now: () => afterClose }, (req, scope) => {
        if (!req.headers.authorization) return 'unauthenticated';
        return req.headers.authorization === `Bearer token-of-${'id' in scope ? scope.id : ''}`
          ? 'allowed'
          : 'forbidden';
      });
      try {
        const keys = await statementKeys(own, statementSigner);
        const url = (adv: string) => `/api/measure/statements/episode/ep-x?day=2026-12-02&advertiser=${adv}`;
        const asA = { authorization: 'Bearer token-of-adv-a' };
        const res = await app.inject({ url: url('adv-a'), headers: asA });
        expect(res.statusCode).toBe(200);
        const part = res.json() as StatementBundle;
        // The creator's whole statement, signed; only adv-a's three leaves, each with its proof.
        expect(part.statement).toMatchObject({ kind: 'episode', leafCount: 5, account: 'creator:cre' });
        expect(part.only).toEqual({ advertiser: 'adv-a' });
        expect(part.leaves.map((l) => l.leaf.lineItem)).toEqual(['li-a', 'li-a', 'li-a']);
        const v = verifyStatementBundle(part, keys);
        expect(v.problems).toEqual([]);
        expect(v).toMatchObject({ ok: true, partial: true, totalMicros: 3 * 14_000 });
        // The same entries as in adv-a's campaign statement (the event hashes match).
        const camp = await dailyStatement(own, {
          kind: 'campaign',
          subject: 'camp-a',
          day: dayIndex,
          now: afterClose,
          currency: 'EUR',
          keysUrl: 'http://node/k',
          key: statementSigner,
        });
        if (!camp.ok) throw new Error(camp.reason);
        expect(part.leaves.map((l) => l.leaf.event).sort()).toEqual(
          camp.bundle.leaves.map((l) => l.leaf.event).sort(),
        );
        // A changed leaf fails its proof; a partial bundle passed off as whole misses leaves.
        const edited = clone(part);
        edited.leaves[0]!.leaf.micros += 1;
        expect(verifyStatementBundle(edited, keys).problems.join('\n')).toMatch(
          /leaf \d is not in the signed tree/,
        );
        const whole = clone(part);
        delete whole.only;
        expect(verifyStatementBundle(whole, keys).problems.join('\n')).toMatch(
          /leaves missing from the bundle/,
        );
        // Another advertiser may not ask as adv-a; one with no ad there gets nothing.
        expect(
          (await app.inject({ url: url('adv-a'), headers: { authorization: 'Bearer token-of-adv-b' } }))
            .statusCode,
        ).toBe(403);
        expect((await app.inject({ url: url('adv-a') })).statusCode).toBe(401);
        const none = await app.inject({
          url: url('adv-c'),
          headers: { authorization: 'Bearer token-of-adv-c' },
        });
        expect(none.json()).toMatchObject({ code: 'MEA_NOT_FOUND' });
        expect((await app.inject({ url: url('a%20b'), headers: asA })).statusCode).toBe(400);
        // The creator still gets every leaf.
        const all = await app.inject({
          url: '/api/measure/statements/episode/ep-x?day=2026-12-02',
          headers: { authorization: 'Bearer token-of-cre' },
        });
        expect((all.json() as StatementBundle).leaves).toHaveLength(5);
      } finally {
        await app.close();
      }
    } finally {
      await own.close();
    }
  });
});

describe('the statement key stays out of the database', () => {
  /** Every row of every table, as text: what a dump or a backup of the database would hold. */
  async function dump(of: Db): Promise<string> {
    const tables = await of.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    let text = '';
    for (const t of tables.rows) {
      const rows = await of.query(`SELECT * FROM "${t.table_name}"`);
      text += `${t.table_name}\n${JSON.stringify(rows.rows)}\n`;
    }
    return text;
  }

  it('after statements are issued, a dump holds the public half and never the private one', async () => {
    const r = await campaign();
    expect(r.ok).toBe(true);
    const { x, d } = exportSigningKey(statementSigner);
    const text = await dump(db);
    expect(text).toContain('measure_statements');
    expect(text).toContain(x);
    expect(text.includes(d!), 'the private half').toBe(false);
  });

  it('a private half stored by an earlier version is removed by the migration; its public half stays published', async () => {
    const { ledgerMigrations } = await import('@swarmcast/ledger');
    const { migrate, openDb } = await import('@swarmcast/platform');
    const { measureMigrations } = await import('../src/pipeline/migrations.ts');
    const old = await openDb({ inMemory: true });
    try {
      const before = measureMigrations.findIndex((m) => m.id === 'measure/0007-statement-keys-public-only');
      expect(before).toBeGreaterThan(0);
      await migrate(old, [...ledgerMigrations, ...measureMigrations.slice(0, before)]);
      const earlier = generateSigningKey('s-earlier');
      const jwk = exportSigningKey(earlier);
      await old.query('INSERT INTO measure_statement_keys (key_id, jwk, created_at) VALUES ($1, $2, 1)', [
        earlier.keyId,
        JSON.stringify(jwk),
      ]);
      await migrate(old, [...ledgerMigrations, ...measureMigrations]);
      expect((await dump(old)).includes(jwk.d!)).toBe(false);
      // Its public half is still published beside the key that signs now.
      const keys = await statementKeys(old, statementSigner);
      expect(keys.keys.map((k) => k.keyId)).toEqual(['s-earlier', statementSigner.keyId]);
      expect(keys.keys[0]!.x).toBe(jwk.x);
    } finally {
      await old.close();
    }
  });
});

describe('statements over HTTP', () => {
  it('publishes the keys at the well-known URL and serves a statement only to its advertiser', async () => {
    let now = day + 86_400_000 + 60_000;
    const app = Fastify();
    statementRoutes(app, db, statementSigner, { now: () => now }, (req, scope) => {
      if (!req.headers.authorization) return 'unauthenticated';
      return req.headers.authorization === `Bearer token-of-${'id' in scope ? scope.id : ''}`
        ? 'allowed'
        : 'forbidden';
    });
    try {
      const keys = await app.inject('/.well-known/swarmcast-statements.json');
      expect(keys.statusCode).toBe(200);
      const published = keys.json() as StatementKeys;
      expect(published.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
      expect(JSON.stringify(published)).not.toContain('"d"');
      const url = '/api/measure/statements/campaign/camp-1?day=2026-12-02';
      expect((await app.inject(url)).statusCode).toBe(401);
      expect(
        (await app.inject({ url, headers: { authorization: 'Bearer token-of-adv-2' } })).statusCode,
      ).toBe(403);
      const auth = { authorization: 'Bearer token-of-adv-1' };
      expect(
        (await app.inject({ url: '/api/measure/statements/campaign/camp-1?day=2.12.', headers: auth }))
          .statusCode,
      ).toBe(400);
      // Not yet: the day has not closed (+2 h).
      const early = await app.inject({
        url: '/api/measure/statements/campaign/camp-1?day=2026-12-03',
        headers: auth,
      });
      expect(early.json()).toMatchObject({ code: 'MEA_NOT_ISSUED' });
      now = afterClose;
      const res = await app.inject({ url, headers: auth });
      expect(res.statusCode).toBe(200);
      const bundle = res.json() as StatementBundle;
      expect(bundle.keys).toMatch(/\/\.well-known\/swarmcast-statements\.json$/);
      // No entry of that day was booked late: no supplement (and a bad number is a 400).
      expect(bundle.supplements).toBe(0);
      expect((await app.inject({ url: `${url}&supplement=1`, headers: auth })).json()).toMatchObject({
        code: 'MEA_NOT_FOUND',
      });
      for (const bad of ['0', 'x', '-1', '1e3'])
        expect((await app.inject({ url: `${url}&supplement=${bad}`, headers: auth })).statusCode).toBe(400);
      const v = verifyStatementBundle(bundle, published);
      expect(v.problems).toEqual([]);
      expect(v.totalMicros).toBe(150_000);
      // An episode's statement is its creator's.
      const ep = '/api/measure/statements/episode/ep1?day=2026-12-02';
      expect((await app.inject({ url: ep, headers: auth })).statusCode).toBe(403);
      expect(
        (await app.inject({ url: ep, headers: { authorization: 'Bearer token-of-creator' } })).statusCode,
      ).toBe(200);
    } finally {
      await app.close();
    }
  });
});
