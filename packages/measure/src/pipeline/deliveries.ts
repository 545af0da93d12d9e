/**
 * Settling server-side ad deliveries (dynamic ad insertion): reads the stitched-enclosure
 * facts of the last few days and the plans they name, applies the delivery rule
 * (rules/ad-delivery.ts), and for each new delivery writes a row and charges it through the
 * ledger in one transaction (`dlv:<delivery>`: at most once, whatever the reruns). A
 * delivery whose download is later judged invalid (the abnormal-rate rule, or an operator's
 * `invalidateDelivery`) is marked and refunded by the exact negation of its charge.
 *
 * Every delivered ad's signed decision token (the plan's pod token) is verified first: a
 * plan row edited in the database cannot bill anyone (`forged`).
 */
import { type DecisionClaims, loadPlansById, type PublicKeys, verifyDecisionToken } from '@swarmcast/ads';
import {
  type BasisPoints,
  defaultCreatorShareBps,
  deliveryEntry,
  impressionPrice,
  Ledger,
} from '@swarmcast/ledger';
import type { AnnounceFact, Db, DownloadFact, Migration, Queryable, Transaction } from '@swarmcast/platform';
import { loadEpisodes } from '../reports/load.ts';
import { countAdDeliveries, type PlanForDelivery } from '../rules/ad-delivery.ts';
import type { DownloadRules } from '../rules/downloads.ts';
import { deliveryOf, enqueueDelivery } from './outbox.ts';

export const adDeliveryMigrations: Migration[] = [
  {
    id: 'measure/dai-0001-ad-deliveries',
    sql: `
CREATE TABLE measure_ad_deliveries (
  delivery_id text PRIMARY KEY,
  decision_id text NOT NULL,
  plan_id text NOT NULL,
  episode_id text NOT NULL,
  show_id text NOT NULL,
  creator_id text NOT NULL,
  advertiser_id text NOT NULL,
  campaign_id text NOT NULL,
  line_item_id text NOT NULL,
  ad_id text NOT NULL,
  audience_key text NOT NULL,
  listener_id text,
  issued_at bigint NOT NULL,
  cpm_micros bigint NOT NULL,
  delivered_at bigint NOT NULL,
  invalid text
);
CREATE INDEX measure_ad_deliveries_advertiser ON measure_ad_deliveries (advertiser_id, delivered_at);
CREATE INDEX measure_ad_deliveries_creator ON measure_ad_deliveries (creator_id, delivered_at);
`,
  },
  {
    // Settling is incremental: every rule it applies is per audience key (bytes per plan and
    // key, the download threshold per episode and key, the abnormal rate per key and day), so
    // only the keys with new facts since the last run are judged again. The facts' insert
    // marks them in the same transaction (statement triggers), which a cursor over an
    // insertion sequence could not promise on PostgreSQL: a transaction that took a lower
    // sequence number can commit after a higher one was read. Every run rescanned three days
    // of facts every 30 s before.
    id: 'measure/dai-0002-settle-keys',
    sql: `
CREATE TABLE measure_settle_keys (audience_key text PRIMARY KEY);
CREATE INDEX measure_downloads_key ON measure_downloads (audience_key, time);
CREATE INDEX measure_announces_key ON measure_announces (audience_key, time);
CREATE FUNCTION measure_settle_mark_downloads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO measure_settle_keys (audience_key) SELECT DISTINCT audience_key FROM new_rows
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE FUNCTION measure_settle_mark_announces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO measure_settle_keys (audience_key) SELECT DISTINCT audience_key FROM new_rows
   WHERE event = 'completed' ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER measure_downloads_settle AFTER INSERT ON measure_downloads
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION measure_settle_mark_downloads();
CREATE TRIGGER measure_announces_settle AFTER INSERT ON measure_announces
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION measure_settle_mark_announces();
INSERT INTO measure_settle_keys (audience_key)
  SELECT DISTINCT audience_key FROM measure_downloads WHERE fact ? 'planId' ON CONFLICT DO NOTHING;
`,
  },
];

export interface SettleOptions {
  publicKeys: () => PublicKeys;
  creatorShareBps?: BasisPoints;
  now: number;
  /** How far back facts are read (default 3 days: a plan's day plus late completions). */
  lookbackMs?: number;
  rules?: DownloadRules;
  /** Audience keys judged per transaction (default 2,000). */
  batchKeys?: number;
}

export interface SettleResult {
  delivered: number;
  refunded: number;
  /** Ads (per listener) that did not count, by reason (for reports and tests). */
  notDelivered: Record<string, number>;
  forged: number;
  /** Audience keys with new facts since the last run, judged again (those with a stitched download). */
  judged: number;
}

const dayMs = 86_400_000;

/**
 * Judges the audience keys with new facts since the last run (measure_settle_keys), each
 * over its facts of the lookback window; keys are taken in the transaction that writes
 * their deliveries, so a failed run leaves them for the next one.
 */
export async function settleDeliveries(db: Db, o: SettleOptions): Promise<SettleResult> {
  const result: SettleResult = { delivered: 0, refunded: 0, notDelivered: {}, forged: 0, judged: 0 };
  // Up to this many keys per transaction; the loop takes the rest.
  const batch = o.batchKeys ?? 2000;
  for (;;) {
    const more = await db.transaction(async (tx) => {
      const taken = await tx.query<{ audience_key: string }>(
        `DELETE FROM measure_settle_keys WHERE audience_key IN (
           SELECT audience_key FROM measure_settle_keys ORDER BY audience_key LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING audience_key`,
        [batch],
      );
      const keys = taken.rows.map((r) => r.audience_key);
      if (keys.length > 0) await settleKeys(tx, keys, o, result);
      return keys.length === batch;
    });
    if (!more) return result;
  }
}

async function settleKeys(
  tx: Transaction,
  keys: string[],
  o: SettleOptions,
  result: SettleResult,
): Promise<void> {
  const from = o.now - (o.lookbackMs ?? 3 * dayMs);
  // Only keys with a stitched download in the window have anything to settle.
  const stitched = await tx.query<{ audience_key: string }>(
    `SELECT DISTINCT audience_key FROM measure_downloads
      WHERE audience_key = ANY($1::text[]) AND time >= $2 AND fact ? 'planId'`,
    [keys, from],
  );
  const judged = stitched.rows.map((r) => r.audience_key);
  if (judged.length === 0) return;
  result.judged += judged.length;
  const d = await tx.query<{ fact: DownloadFact }>(
    `SELECT fact FROM measure_downloads WHERE audience_key = ANY($1::text[]) AND time >= $2 ORDER BY time, id`,
    [judged, from],
  );
  const downloads = d.rows.map((r) => r.fact);
  const planIds = [...new Set(downloads.map((f) => f.planId).filter((p): p is string => p !== undefined))];
  const a = await tx.query<{ fact: AnnounceFact }>(
    `SELECT fact FROM measure_announces
      WHERE audience_key = ANY($1::text[]) AND time >= $2 AND event = 'completed'`,
    [judged, from],
  );
  const episodes = await loadEpisodes(tx);
  const stored = await loadPlansById(tx, planIds);
  const plans = new Map<string, PlanForDelivery>();
  const tokens = new Map<string, string>();
  for (const [id, s] of stored) {
    if (!s.layout) continue;
    plans.set(id, {
      planId: id,
      episodeId: s.plan.episodeId,
      planKey: s.plan.audienceKey,
      size: s.layout.size,
      content: s.layout.content,
      ads: s.layout.ads,
    });
    for (const b of s.plan.breaks) for (const ad of b.ads) tokens.set(ad.decisionId, ad.token);
  }
  const count = countAdDeliveries(
    { downloads, announces: a.rows.map((r) => r.fact), episodes, plans },
    o.rules,
  );
  // A download of a plan not stored yet (or without its layout) is judged again next run.
  const waiting = [
    ...new Set(downloads.filter((f) => f.planId && !plans.has(f.planId)).map((f) => f.audienceKey)),
  ];
  if (waiting.length > 0)
    await tx.query(
      'INSERT INTO measure_settle_keys (audience_key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
      [waiting],
    );
  for (const [reason, n] of Object.entries(count.notDelivered))
    result.notDelivered[reason] = (result.notDelivered[reason] ?? 0) + (n ?? 0);
  const publicKeys = o.publicKeys();
  const share = o.creatorShareBps ?? defaultCreatorShareBps;

  const ledger = new Ledger(tx);
  for (const row of count.delivered) {
    const token = tokens.get(row.decisionId);
    const v = token ? verifyDecisionToken(token, publicKeys, row.time) : null;
    if (!v?.ok) {
      result.forged++;
      continue;
    }
    const c = v.claims;
    if (c.decisionId !== row.decisionId || c.episodeId !== row.episodeId) {
      result.forged++;
      continue;
    }
    if (await insertDelivery(tx, row.deliveryId, row.planId, row.audienceKey, row.time, c)) {
      const posted = await ledger.post(
        deliveryEntry(
          {
            decisionId: row.deliveryId,
            advertiserId: c.advertiserId,
            creatorId: c.creatorId,
            cpmMicros: c.cpmMicros,
            time: row.time,
          },
          share,
        ),
      );
      if (posted.ok && posted.written) {
        result.delivered++;
        // The same measured-delivery feedback as VAST impressions (budgets, pacing, caps
        // run on it), source "dai", through the pipeline's transactional outbox.
        await enqueueDelivery(
          tx,
          deliveryOf(
            'delivered',
            { ...c, decisionId: row.deliveryId },
            row.time,
            impressionPrice(c.cpmMicros),
            'dai',
          ),
        );
      }
    }
  }
  // Deliveries whose listener's downloads the rate rule now rejects: refunded. Only rows
  // whose whole day of facts lies inside the window read here are judged again.
  if (count.rateFiltered.size > 0) {
    const open = await tx.query<{ delivery_id: string; episode_id: string; audience_key: string }>(
      `SELECT delivery_id, episode_id, audience_key FROM measure_ad_deliveries
        WHERE invalid IS NULL AND delivered_at >= $1 AND audience_key = ANY($2::text[])`,
      [from + dayMs, judged],
    );
    for (const r of open.rows) {
      if (!count.rateFiltered.has(`${r.episode_id}\u0000${r.audience_key}`)) continue;
      if ((await invalidate(tx, r.delivery_id, 'rate', o.now)) === 'refunded') result.refunded++;
    }
  }
}

async function insertDelivery(
  tx: Queryable,
  deliveryId: string,
  planId: string,
  audienceKey: string,
  time: number,
  c: DecisionClaims,
): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO measure_ad_deliveries (delivery_id, decision_id, plan_id, episode_id, show_id, creator_id, advertiser_id,
       campaign_id, line_item_id, ad_id, audience_key, listener_id, issued_at, cpm_micros, delivered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (delivery_id) DO NOTHING`,
    [
      deliveryId,
      c.decisionId,
      planId,
      c.episodeId,
      c.showId,
      c.creatorId,
      c.advertiserId,
      c.campaignId,
      c.lineItemId,
      c.adId,
      audienceKey,
      c.listenerId,
      c.issuedAt,
      c.cpmMicros,
      time,
    ],
  );
  return r.affectedRows > 0;
}

async function invalidate(tx: Queryable, deliveryId: string, reason: string, now: number) {
  const r = await tx.query<{
    line_item_id: string;
    campaign_id: string;
    advertiser_id: string;
    listener_id: string | null;
    issued_at: unknown;
    cpm_micros: unknown;
  }>(
    `UPDATE measure_ad_deliveries SET invalid = $2 WHERE delivery_id = $1 AND invalid IS NULL
     RETURNING line_item_id, campaign_id, advertiser_id, listener_id, issued_at, cpm_micros`,
    [deliveryId, reason],
  );
  const row = r.rows[0];
  if (!row) return 'unchanged';
  const refunded = await new Ledger(tx).refundDelivery(deliveryId, now);
  if (!(refunded.ok && refunded.written)) return 'marked';
  // The ad server gives the budget back (the pipeline's outbox flush publishes it).
  const cpmMicros = Number(row.cpm_micros);
  await enqueueDelivery(
    tx,
    deliveryOf(
      'refunded',
      {
        decisionId: deliveryId,
        lineItemId: row.line_item_id,
        campaignId: row.campaign_id,
        advertiserId: row.advertiser_id,
        listenerId: row.listener_id,
        issuedAt: Number(row.issued_at),
        cpmMicros,
      },
      now,
      impressionPrice(cpmMicros),
      'dai',
    ),
  );
  return 'refunded';
}

/** An operator's judgement that a delivery was invalid after all: marked and refunded. */
export async function invalidateDelivery(db: Db, deliveryId: string, reason: string, now: number) {
  return db.transaction((tx) => invalidate(tx, deliveryId, reason, now));
}
