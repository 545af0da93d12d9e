import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { generateSigningKey } from '@swarmcast/ads';
import { impressionEntry, Ledger, ledgerMigrations } from '@swarmcast/ledger';
import { dailyStatement, measureMigrations, type StatementBundle, statementKeys } from '@swarmcast/measure';
import { type Db, migrate, openDb } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

const statementKey = generateSigningKey('st-cli');

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c) => (text.out += c));
  stderr.on('data', (c) => (text.err += c));
  const value: CommandIo = { stdout, stderr, env: {}, signal: new AbortController().signal };
  return { value, text };
}

const day = Date.UTC(2026, 11, 2);
let db: Db;
let dir: Awaited<ReturnType<typeof scratchDir>>;
let bundle: StatementBundle;
let keysFile: string;

/** A day of a campaign in the real ledger: 12 impressions at two prices, one refunded. */
beforeAll(async () => {
  dir = await scratchDir();
  db = await openDb({ inMemory: true });
  await migrate(db, [...ledgerMigrations, ...measureMigrations]);
  const ledger = new Ledger(db);
  for (let i = 0; i < 12; i++) {
    const cpm = i < 8 ? 20_000_000 : 35_000_000;
    await db.query(
      `INSERT INTO measure_decisions (decision_id, campaign_id, line_item_id, advertiser_id, ad_id, creator_id, show_id,
         episode_id, break_id, cpm_micros, creative_duration_ms, seen)
       VALUES ($1, 'camp', $2, 'adv', 'ad', 'cre', 'show', 'ep', 'pre', $3, 15000, '[]')`,
      [`d${i}`, i < 8 ? 'li-a' : 'li-b', cpm],
    );
    const r = await ledger.post(
      impressionEntry(
        {
          decisionId: `d${i}`,
          advertiserId: 'adv',
          creatorId: 'cre',
          cpmMicros: cpm,
          time: day + i * 60_000,
        },
        7000,
      ),
    );
    expect(r.ok).toBe(true);
  }
  expect((await ledger.refundImpression('d3', day + 3_600_000)).ok).toBe(true);
  const r = await dailyStatement(db, {
    kind: 'campaign',
    subject: 'camp',
    day: day / 86_400_000,
    now: day + 2 * 86_400_000,
    currency: 'EUR',
    keysUrl: 'https://node.example/.well-known/swarmcast-statements.json',
    key: statementKey,
  });
  if (!r.ok) throw new Error(r.reason);
  bundle = r.bundle;
  keysFile = join(dir.path, 'keys.json');
  await writeFile(keysFile, JSON.stringify(await statementKeys(db, statementKey)));
});
afterAll(async () => {
  await db?.close();
  await dir?.remove();
});

async function verify(b: StatementBundle) {
  const file = join(dir.path, `s-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(b));
  const { value, text } = io();
  const code = await main(['verify-statement', file, '--keys', keysFile], value);
  return { code, out: text.out };
}
const clone = (): StatementBundle => JSON.parse(JSON.stringify(bundle));

describe('swarmcast verify-statement', () => {
  it('recomputes the invoice line from the leaves and checks signature and proofs', async () => {
    const { code, out } = await verify(bundle);
    // 8 x 20,000 + 4 x 35,000 charged, one of the 20,000 refunded: 280,000 micros.
    expect(out).toContain('12 impressions, 0 server-side deliveries, 1 refunds');
    expect(out).toContain('(280000 micros)');
    expect(out).toContain('OK:');
    expect(code).toBe(0);
    expect(bundle.statement.totalMicros).toBe(280_000);
    expect(-(await new Ledger(db).balance('advertiser:adv'))).toBe(280_000);
  });

  it('fails on a tampered count', async () => {
    const b = clone();
    b.statement.counts.impressions = 11;
    const { code, out } = await verify(b);
    expect(code).toBe(1);
    expect(out).toMatch(/signature does not match/);
  });

  it('fails on a dropped leaf', async () => {
    const b = clone();
    b.leaves.pop();
    const { code, out } = await verify(b);
    expect(code).toBe(1);
    expect(out).toMatch(/leaves missing from the bundle: 12/);
  });

  it("says PARTIAL for an advertiser's view (some leaves, each proven), and fails one passed off as whole", async () => {
    const b = { ...clone(), only: { advertiser: 'adv' } };
    b.leaves = b.leaves.slice(0, 3);
    const ok = await verify(b);
    expect(ok.out).toContain('PARTIAL OK: signature and the inclusion proofs of these 3 of 13 leaves');
    expect(ok.code).toBe(0);
    delete (b as { only?: unknown }).only;
    expect((await verify(b)).code).toBe(1);
  });

  it('fails on an edited price', async () => {
    const b = clone();
    b.leaves[9]!.leaf.micros = 30_000;
    const { code, out } = await verify(b);
    expect(code).toBe(1);
    expect(out).toMatch(/leaf 9 is not in the signed tree/);
  });
});
