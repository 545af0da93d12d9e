/**
 * Money attributed to what measurement counted: the ledger's postings of one account (read
 * through the ledger's own function, never its tables), each joined here with the decision or
 * server-side delivery its entry charged (`ref`: a decision id, or `dlv:<delivery id>`). VAST
 * impressions count as `impression` entries (and their refunds), DAI deliveries as `delivery`
 * entries (and theirs), as the pipeline posts them.
 */
import { Ledger, type Posting } from '@swarmcast/ledger';
import type { Queryable } from '@swarmcast/platform';

/** What measurement knows of the ad an entry charged. */
export interface Attribution {
  episodeId: string;
  campaignId: string;
  lineItemId: string;
  advertiserId: string;
  creatorId: string;
}

export type AttributedPosting = Posting & Attribution;

const deliveryRef = 'dlv:';
const kinds = ['impression', 'delivery', 'refund'] as const;

/**
 * The account's ad postings in [from, to) with their attribution, in the ledger's entry order.
 * Postings whose ref measurement does not know (another kind of entry) are left out.
 */
export async function attributedPostings(
  db: Queryable,
  account: string,
  from: number,
  to: number,
): Promise<AttributedPosting[]> {
  const postings = await new Ledger(db).postings(account, kinds, from, to);
  if (postings.length === 0) return [];
  const decisions = new Set<string>();
  const deliveries = new Set<string>();
  for (const p of postings) {
    if (p.ref.startsWith(deliveryRef)) deliveries.add(p.ref.slice(deliveryRef.length));
    else decisions.add(p.ref);
  }
  type Row = {
    id: string;
    episode_id: string;
    campaign_id: string;
    line_item_id: string;
    advertiser_id: string;
    creator_id: string;
  };
  const byRef = new Map<string, Attribution>();
  const keep = (prefix: string) => (row: Row) =>
    byRef.set(prefix + row.id, {
      episodeId: row.episode_id,
      campaignId: row.campaign_id,
      lineItemId: row.line_item_id,
      advertiserId: row.advertiser_id,
      creatorId: row.creator_id,
    });
  if (decisions.size > 0) {
    const r = await db.query<Row>(
      `SELECT decision_id AS id, episode_id, campaign_id, line_item_id, advertiser_id, creator_id
         FROM measure_decisions WHERE decision_id = ANY($1::text[])`,
      [[...decisions]],
    );
    r.rows.forEach(keep(''));
  }
  if (deliveries.size > 0) {
    const r = await db.query<Row>(
      `SELECT delivery_id AS id, episode_id, campaign_id, line_item_id, advertiser_id, creator_id
         FROM measure_ad_deliveries WHERE delivery_id = ANY($1::text[])`,
      [[...deliveries]],
    );
    r.rows.forEach(keep(deliveryRef));
  }
  const out: AttributedPosting[] = [];
  for (const p of postings) {
    const a = byRef.get(p.ref);
    if (!a) continue;
    // A DAI delivery is charged by a `delivery` entry, a VAST impression by an `impression`.
    const dai = p.ref.startsWith(deliveryRef);
    if (p.kind !== 'refund' && p.kind !== (dai ? 'delivery' : 'impression')) continue;
    out.push({ ...p, ...a });
  }
  return out;
}
