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
import type { AnnounceFact, Db, DownloadFact, Migration, Queryable } from '@swarmcast/platform';
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
];

export interface SettleOptions {
  publicKeys: () => PublicKeys;
  creatorShareBps?: BasisPoints;
  now: number;
  /** How far back facts are read (default 3 days: a plan's day plus late completions). */
  lookbackMs?: number;
  rules?: DownloadRules;
}

export interface SettleResult {
  delivered: number;
  refunded: number;
  /** Ads (per listener) that did not count, by reason (for reports and tests). */
  notDelivered: Record<string, number>;
  forged: number;
}

const dayMs = 86_400_000;

export async function settleDeliveries(db: Db, o: SettleOptions): Promise<SettleResult> {
  const from = o.now - (o.lookbackMs ?? 3 * dayMs);
  const d = await db.query<{ fact: DownloadFact }>(
    'SELECT fact FROM measure_downloads WHERE time >= $1 AND time <= $2 ORDER BY time, id',
    [from, o.now],
  );
  const downloads = d.rows.map((r) => r.fact);
  const planIds = [...new Set(downloads.map((f) => f.planId).filter((p): p is string => p !== undefined))];
  const result: SettleResult = { delivered: 0, refunded: 0, notDelivered: {}, forged: 0 };
  if (planIds.length === 0) return result;
  const a = await db.query<{ fact: AnnounceFact }>(
    "SELECT fact FROM measure_announces WHERE time >= $1 AND time <= $2 AND event = 'completed'",
    [from, o.now],
  );
  const episodes = await loadEpisodes(db);
  const stored = await loadPlansById(db, planIds);
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
  result.notDelivered = { ...count.notDelivered } as Record<string, number>;
  const keys = o.publicKeys();
  const share = o.creatorShareBps ?? defaultCreatorShareBps;

  await db.transaction(async (tx) => {
    const ledger = new Ledger(tx);
    for (const row of count.delivered) {
      const token = tokens.get(row.decisionId);
      const v = token ? verifyDecisionToken(token, keys, row.time) : null;
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
        'SELECT delivery_id, episode_id, audience_key FROM measure_ad_deliveries WHERE invalid IS NULL AND delivered_at >= $1',
        [from + dayMs],
      );
      for (const r of open.rows) {
        if (!count.rateFiltered.has(`${r.episode_id}\u0000${r.audience_key}`)) continue;
        if ((await invalidate(tx, r.delivery_id, 'rate', o.now)) === 'refunded') result.refunded++;
      }
    }
  });
  return result;
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
