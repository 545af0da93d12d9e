import { createHash } from 'node:crypto';
import { exportPublicKey, type SigningKey, type SigningKeyJwk } from '@swarmcast/ads';
import type { Db, Queryable } from '@swarmcast/platform';
import { type AttributedPosting, attributedPostings } from '../reports/money.ts';
import {
  type LeafKind,
  type StatementBundle,
  type StatementKeys,
  type StatementKind,
  type StatementLeaf,
  signStatement,
} from './statement.ts';

const dayMs = 86_400_000;
/**
 * A day's statement is issued once the day is over and late events have had time to arrive
 * (the pipeline's lag; the salt store keeps keys 2 h for the same reason), then kept as issued:
 * an entry booked later for that day cannot change a statement already published.
 */
export const statementGraceMs = 2 * 3_600_000;

/** The opaque leaf id of a ledger entry: nothing in it names a listener. */
export const eventHash = (entryId: string) =>
  createHash('sha256').update(`swarmcast/statement-event/1\u0000${entryId}`).digest('hex');

/**
 * Records the public half of the key that signs statements now, so that the well-known list
 * keeps every key that ever signed (statements signed before a key change still verify). The
 * private half never reaches the database or its backups: the node holds it in
 * SWARMCAST_STATEMENT_KEY or a 0600 file under its data dir (node's secrets.ts).
 */
async function registerKey(db: Queryable, key: SigningKey, now: number): Promise<void> {
  await db.query(
    'INSERT INTO measure_statement_keys (key_id, jwk, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [key.keyId, JSON.stringify(exportPublicKey(key.keyId, key.publicKey)), now],
  );
}

/** Every statement key's public half, for `/.well-known/swarmcast-statements.json`. */
export async function statementKeys(
  db: Queryable,
  current: SigningKey,
  now = Date.now(),
): Promise<StatementKeys> {
  await registerKey(db, current, now);
  const r = await db.query<{ jwk: SigningKeyJwk | string }>(
    'SELECT jwk FROM measure_statement_keys ORDER BY created_at, key_id',
  );
  return {
    keys: r.rows.map((row) => {
      const jwk = typeof row.jwk === 'string' ? (JSON.parse(row.jwk) as SigningKeyJwk) : row.jwk;
      return { keyId: jwk.keyId, kty: 'OKP' as const, crv: 'Ed25519' as const, x: jwk.x };
    }),
  };
}

/**
 * The ledger entries behind a campaign's spend (its advertiser's account) or an episode's
 * earnings (its creator's account) on one UTC day: VAST impressions, server-side deliveries,
 * and refunds of either, as loadMoney (reports/load.ts) reads them.
 */
async function leavesOf(db: Queryable, kind: StatementKind, subject: string, day: number) {
  // The accounts the subject's ads were charged to or paid to (one in practice: a campaign's
  // advertiser, an episode's creator), then their postings of the day through the ledger.
  const col = kind === 'campaign' ? 'campaign_id' : 'episode_id';
  const who = kind === 'campaign' ? 'advertiser_id' : 'creator_id';
  const owners = await db.query<{ id: string }>(
    `SELECT ${who} AS id FROM measure_decisions WHERE ${col} = $1
     UNION SELECT ${who} AS id FROM measure_ad_deliveries WHERE ${col} = $1 ORDER BY 1`,
    [subject],
  );
  const rows: Array<AttributedPosting> = [];
  for (const { id } of owners.rows) {
    const account = kind === 'campaign' ? `advertiser:${id}` : `creator:${id}`;
    for (const x of await attributedPostings(db, account, day * dayMs, (day + 1) * dayMs)) {
      const owner = kind === 'campaign' ? x.advertiserId : x.creatorId;
      if ((kind === 'campaign' ? x.campaignId : x.episodeId) === subject && owner === id) rows.push(x);
    }
  }
  // Entry id order, as each account's postings come (and across accounts when several).
  if (owners.rows.length > 1)
    rows.sort((a, b) => (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
  // An advertiser's account goes down by a charge: a statement shows the charge as positive.
  const sign = kind === 'campaign' ? -1 : 1;
  const leaves: StatementLeaf[] = rows.map((row) => ({
    event: eventHash(row.entryId),
    kind: row.kind as LeafKind,
    lineItem: row.lineItemId,
    micros: sign * row.amount,
  }));
  return {
    leaves,
    account: rows[0]?.account ?? null,
    advertisers: rows.map((row) => row.advertiserId),
  };
}

/**
 * An advertiser's view of an episode's statements (the day's and its supplements): each signed
 * statement whole, with only the leaves of that advertiser's ads and their inclusion proofs, so
 * it can check that what it was charged for is what the creator was paid on, without seeing
 * other advertisers' line items. Null when none of its ads is in the episode's statements that
 * day (it then learns nothing of them). The statement's counts and total still cover every
 * advertiser: the signed totals are the creator's, shown to advertisers whose ads are in them.
 */
export async function advertiserView(
  db: Queryable,
  r: { bundle: StatementBundle; supplements: StatementBundle[] },
  o: { subject: string; day: number; advertiserId: string },
): Promise<{ bundle: StatementBundle; supplements: StatementBundle[] } | null> {
  const { leaves, advertisers } = await leavesOf(db, 'episode', o.subject, o.day);
  const mine = new Set(leaves.filter((_, i) => advertisers[i] === o.advertiserId).map((l) => l.event));
  if (mine.size === 0) return null;
  const only = (b: StatementBundle): StatementBundle => ({
    ...b,
    leaves: b.leaves.filter((l) => mine.has(l.leaf.event)),
    only: { advertiser: o.advertiserId },
  });
  return { bundle: only(r.bundle), supplements: r.supplements.map(only) };
}

/** Whose statement it is: the campaign's advertiser or the episode's creator; null if unknown. */
export async function statementOwner(
  db: Queryable,
  kind: StatementKind,
  subject: string,
): Promise<string | null> {
  const r =
    kind === 'campaign'
      ? await db.query<{ owner: string }>(
          `SELECT advertiser_id AS owner FROM measure_decisions WHERE campaign_id = $1
           UNION SELECT advertiser_id FROM measure_ad_deliveries WHERE campaign_id = $1 LIMIT 1`,
          [subject],
        )
      : await db.query<{ owner: string }>(
          `SELECT creator_id AS owner FROM measure_episodes WHERE episode_id = $1
           UNION SELECT creator_id FROM measure_decisions WHERE episode_id = $1 LIMIT 1`,
          [subject],
        );
  return r.rows[0]?.owner ?? null;
}

const parsed = (b: StatementBundle | string): StatementBundle => (typeof b === 'string' ? JSON.parse(b) : b);

export type StatementResult =
  | { ok: true; bundle: StatementBundle; supplements: StatementBundle[] }
  | { ok: false; reason: 'not-closed' | 'unknown' };

/** The day's statement and its supplements as issued, in order. */
async function issued(db: Queryable, o: { kind: StatementKind; subject: string; day: number }) {
  const r = await db.query<{ bundle: StatementBundle | string }>(
    'SELECT bundle FROM measure_statements WHERE kind = $1 AND subject = $2 AND day = $3 ORDER BY seq',
    [o.kind, o.subject, o.day],
  );
  return r.rows.map((row) => parsed(row.bundle));
}

/**
 * The signed statement of a campaign or an episode for a UTC day (days since the epoch): issued
 * and kept on the first request after the day closed (+ grace), the kept one afterwards. An
 * entry of that day booked after its statement was issued (a beacon that arrived late, a
 * delivery settled the next day, a refund) is not dropped: the next request issues a signed
 * supplement over exactly the entries no statement of that day holds yet, so the day's
 * statements together always hold every entry billed or paid for it.
 */
export async function dailyStatement(
  db: Db,
  o: {
    kind: StatementKind;
    subject: string;
    day: number;
    now: number;
    currency: string;
    keysUrl: string;
    /** The key that signs statements now (its public half is recorded; the private one never is). */
    key: SigningKey;
  },
): Promise<StatementResult> {
  if (o.now < (o.day + 1) * dayMs + statementGraceMs) return { ok: false, reason: 'not-closed' };
  const owner = await statementOwner(db, o.kind, o.subject);
  if (!owner) return { ok: false, reason: 'unknown' };
  let kept = await issued(db, o);
  const { leaves, account } = await leavesOf(db, o.kind, o.subject, o.day);
  const covered = new Set(kept.flatMap((b) => b.leaves.map((l) => l.leaf.event)));
  const fresh = leaves.filter((l) => !covered.has(l.event));
  if (kept.length === 0 || fresh.length > 0) {
    const seq = kept.length;
    await registerKey(db, o.key, o.now);
    const bundle = signStatement(
      {
        kind: o.kind,
        subject: o.subject,
        account: account ?? `${o.kind === 'campaign' ? 'advertiser' : 'creator'}:${owner}`,
        day: new Date(o.day * dayMs).toISOString().slice(0, 10),
        currency: o.currency,
        ...(seq > 0 ? { supplement: seq } : {}),
      },
      fresh,
      o.key,
      o.keysUrl,
    );
    // Two requests at once sign the same entries under the same number: the first kept wins.
    await db.query(
      'INSERT INTO measure_statements (kind, subject, day, seq, bundle) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [o.kind, o.subject, o.day, seq, JSON.stringify(bundle)],
    );
    kept = await issued(db, o);
  }
  // The keys URL is not signed (the verifier chooses where it takes keys from): as asked now.
  const served = kept.map((b) => ({ ...b, keys: o.keysUrl }));
  return {
    ok: true,
    bundle: { ...served[0]!, supplements: served.length - 1 },
    supplements: served.slice(1),
  };
}
