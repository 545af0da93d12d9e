/**
 * The ad server's tables (migrations "ads/0001-...") and moving the in-memory store to and
 * from them. Model rows are written when the API changes them; delivery counters are
 * written as absolute per-hour values, so a flush is idempotent and the node may run it as
 * often as it likes (on an interval it owns, and on close). Frequency-cap memory (the
 * impression times of a listener id per capped line item) is flushed with delivery and
 * kept only until the longest cap's period has passed, so a restart does not reset caps.
 */

import type { BreakPosition } from '@swarmcast/catalog';
import type { Db, Migration, Queryable } from '@swarmcast/platform';
import { availabilityWindowMs, inventoryShapeKey } from './availability.ts';
import type { Advertiser, Campaign, Creative, DeviceClass, LineItem } from './model.ts';
import { AdsStore, type HourDelivery } from './store.ts';
import type { MeasuredDelivery } from './tracking-contract.ts';

export type MeasuredRow = {
  id: string;
  kind: MeasuredDelivery['kind'];
  source: MeasuredDelivery['source'];
  decision_id: string;
  line_item_id: string;
  campaign_id: string;
  issued_at: number;
  time: number;
  cpm_micros: number;
  charged_micros: number;
};

function measuredFromRow(m: MeasuredRow): MeasuredDelivery {
  return {
    kind: m.kind,
    source: m.source,
    decisionId: m.decision_id,
    lineItemId: m.line_item_id,
    campaignId: m.campaign_id,
    advertiserId: '',
    listenerId: null,
    issuedAt: Number(m.issued_at),
    time: Number(m.time),
    cpmMicros: Number(m.cpm_micros),
    chargedMicros: Number(m.charged_micros),
  };
}

/**
 * Records measured deliveries (idempotent by id) and returns those not recorded before:
 * the caller applies exactly these to the store.
 */
export async function recordMeasured(
  db: Queryable,
  items: ReadonlyArray<{ id: string; delivery: MeasuredDelivery }>,
): Promise<Array<{ id: string; delivery: MeasuredDelivery }>> {
  if (items.length === 0) return [];
  const col = <T>(f: (d: MeasuredDelivery) => T) => items.map((i) => f(i.delivery));
  const r = await db.query<{ id: string }>(
    `INSERT INTO ads_measured (id, kind, source, decision_id, line_item_id, campaign_id, issued_at, time, cpm_micros, charged_micros)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
       $8::bigint[], $9::bigint[], $10::bigint[])
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      items.map((i) => i.id),
      col((d) => d.kind),
      col((d) => d.source),
      col((d) => d.decisionId),
      col((d) => d.lineItemId),
      col((d) => d.campaignId),
      col((d) => d.issuedAt),
      col((d) => d.time),
      col((d) => d.cpmMicros),
      col((d) => d.chargedMicros),
    ],
  );
  const fresh = new Set(r.rows.map((x) => x.id));
  return items.filter((i) => fresh.has(i.id));
}

export const adsMigrations: Migration[] = [
  {
    id: 'ads/0001-campaigns-line-items-creatives-delivery',
    sql: `
CREATE TABLE ads_advertisers (
  id text PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE ads_campaigns (
  id text PRIMARY KEY,
  advertiser_id text NOT NULL REFERENCES ads_advertisers(id),
  name text NOT NULL,
  starts_at bigint NOT NULL,
  ends_at bigint NOT NULL CHECK (ends_at > starts_at),
  currency char(3) NOT NULL,
  total_budget_micros bigint NOT NULL CHECK (total_budget_micros >= 0),
  daily_budget_micros bigint NOT NULL DEFAULT 0 CHECK (daily_budget_micros >= 0),
  paused boolean NOT NULL DEFAULT false
);
CREATE TABLE ads_creatives (
  id text PRIMARY KEY,
  advertiser_id text NOT NULL REFERENCES ads_advertisers(id),
  name text NOT NULL,
  media_kind text NOT NULL CHECK (media_kind IN ('audio','video')),
  mime_type text NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms > 0),
  bytes bigint NOT NULL,
  approval text NOT NULL CHECK (approval IN ('pending','approved','rejected')),
  -- media URLs, alternates, companion, click-through, torrent, universal ad id
  doc jsonb NOT NULL
);
CREATE TABLE ads_line_items (
  id text PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES ads_campaigns(id),
  name text NOT NULL,
  priority text NOT NULL CHECK (priority IN ('sponsorship','standard','house')),
  pacing text NOT NULL CHECK (pacing IN ('even','asap')),
  cpm_micros bigint NOT NULL CHECK (cpm_micros >= 0),
  goal jsonb NOT NULL,
  starts_at bigint,
  ends_at bigint,
  targeting jsonb NOT NULL,
  caps jsonb NOT NULL,
  exclusion_categories jsonb NOT NULL,
  creative_ids jsonb NOT NULL,
  paused boolean NOT NULL DEFAULT false
);
CREATE INDEX ads_line_items_campaign ON ads_line_items (campaign_id);
CREATE TABLE ads_delivery_hourly (
  line_item_id text NOT NULL REFERENCES ads_line_items(id),
  hour bigint NOT NULL,
  impressions bigint NOT NULL CHECK (impressions >= 0),
  spend_milli_micros bigint NOT NULL CHECK (spend_milli_micros >= 0),
  PRIMARY KEY (line_item_id, hour)
);
`,
  },
  {
    // The catalog account that owns an advertiser (NULL: admin-only, e.g. house ads). No
    // foreign key: the catalog's tables are another part's, and ads must load without them.
    id: 'ads/0002-advertiser-owner',
    sql: `
ALTER TABLE ads_advertisers ADD COLUMN owner_account_id text;
CREATE INDEX ads_advertisers_owner ON ads_advertisers (owner_account_id);
`,
  },
  {
    // Frequency-cap memory: the player's random listener id (nothing else about a person)
    // and its impression times of one capped line item, until no cap needs them.
    id: 'ads/0003-cap-impressions',
    sql: `
CREATE TABLE ads_cap_impressions (
  listener_id text NOT NULL,
  line_item_id text NOT NULL,
  times jsonb NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (listener_id, line_item_id)
);
CREATE INDEX ads_cap_impressions_expiry ON ads_cap_impressions (expires_at);
`,
  },
  {
    // Measured delivery fed back from measurement (MeasuredDelivery events): the ad server's
    // budgets, pacing and reports run on these. The primary key makes applying them
    // idempotent under the stream's at-least-once delivery. ads_delivery_hourly keeps
    // counting decisions (served ads), which reserve their price until measured or expired.
    id: 'ads/0004-measured-delivery',
    sql: `
CREATE TABLE ads_measured (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('delivered','refunded')),
  source text NOT NULL,
  decision_id text NOT NULL,
  line_item_id text NOT NULL,
  campaign_id text NOT NULL,
  issued_at bigint NOT NULL,
  time bigint NOT NULL,
  cpm_micros bigint NOT NULL,
  charged_micros bigint NOT NULL
);
CREATE INDEX ads_measured_line_item ON ads_measured (line_item_id, time);
`,
  },
  {
    // Availability (availability.ts): breaks asked to fill, counted per UTC hour and request
    // shape (no listener in it); kept for the 7 days availability looks back.
    id: 'ads/0005-inventory-hourly',
    sql: `
CREATE TABLE ads_inventory_hourly (
  hour bigint NOT NULL,
  shape text NOT NULL,
  show_id text NOT NULL,
  language text NOT NULL,
  categories jsonb NOT NULL,
  media_kind text NOT NULL,
  position text NOT NULL,
  country text,
  device text NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (hour, shape)
);
`,
  },
  {
    // The claims made on the shared counters in Redis (shared-claims.ts), so that a Redis
    // that lost its keys gets back the open reservations and cap holds of decisions not yet
    // measured (shared-seed.ts), which it finds by decision id in ads_measured.
    id: 'ads/0006-claims',
    sql: `
CREATE TABLE ads_claims (
  decision_id text PRIMARY KEY,
  line_item_id text NOT NULL,
  listener_id text,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  hold_until bigint NOT NULL,
  keep_until bigint NOT NULL
);
CREATE INDEX ads_claims_keep ON ads_claims (keep_until);
CREATE INDEX ads_measured_decision ON ads_measured (decision_id);
`,
  },
];

/** True when `accountId` owns the advertiser (house ads have no owner). For other parts' checks. */
export async function ownsAdvertiser(
  db: Queryable,
  advertiserId: string,
  accountId: string,
): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM ads_advertisers WHERE id = $1 AND owner_account_id = $2', [
    advertiserId,
    accountId,
  ]);
  return r.rows.length > 0;
}

export async function saveAdvertiser(db: Queryable, a: Advertiser): Promise<void> {
  await db.query(
    `INSERT INTO ads_advertisers (id, name, owner_account_id) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner_account_id = EXCLUDED.owner_account_id`,
    [a.id, a.name, a.ownerAccountId ?? null],
  );
}

export async function saveCampaign(db: Queryable, c: Campaign): Promise<void> {
  await db.query(
    `INSERT INTO ads_campaigns (id, advertiser_id, name, starts_at, ends_at, currency, total_budget_micros, daily_budget_micros, paused)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
     ON CONFLICT (id) DO UPDATE SET advertiser_id = EXCLUDED.advertiser_id, name = EXCLUDED.name,
       starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, currency = EXCLUDED.currency,
       total_budget_micros = EXCLUDED.total_budget_micros, daily_budget_micros = EXCLUDED.daily_budget_micros,
       paused = EXCLUDED.paused`,
    [
      c.id,
      c.advertiserId,
      c.name,
      c.startsAt,
      c.endsAt,
      c.currency,
      c.totalBudgetMicros,
      c.dailyBudgetMicros,
      c.paused,
    ],
  );
}

export async function saveCreative(db: Queryable, c: Creative): Promise<void> {
  const { id, advertiserId, name, mediaKind, mimeType, durationMs, bytes, approval, ...doc } = c;
  await db.query(
    `INSERT INTO ads_creatives (id, advertiser_id, name, media_kind, mime_type, duration_ms, bytes, approval, doc)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, media_kind = EXCLUDED.media_kind,
       mime_type = EXCLUDED.mime_type, duration_ms = EXCLUDED.duration_ms, bytes = EXCLUDED.bytes,
       approval = EXCLUDED.approval, doc = EXCLUDED.doc`,
    [id, advertiserId, name, mediaKind, mimeType, durationMs, bytes, approval, JSON.stringify(doc)],
  );
}

export async function saveLineItem(db: Queryable, li: LineItem): Promise<void> {
  await db.query(
    `INSERT INTO ads_line_items (id, campaign_id, name, priority, pacing, cpm_micros, goal, starts_at, ends_at,
       targeting, caps, exclusion_categories, creative_ids, paused)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, priority = EXCLUDED.priority, pacing = EXCLUDED.pacing,
       cpm_micros = EXCLUDED.cpm_micros, goal = EXCLUDED.goal, starts_at = EXCLUDED.starts_at,
       ends_at = EXCLUDED.ends_at, targeting = EXCLUDED.targeting, caps = EXCLUDED.caps,
       exclusion_categories = EXCLUDED.exclusion_categories, creative_ids = EXCLUDED.creative_ids,
       paused = EXCLUDED.paused`,
    [
      li.id,
      li.campaignId,
      li.name,
      li.priority,
      li.pacing,
      li.cpmMicros,
      JSON.stringify(li.goal),
      li.startsAt ?? null,
      li.endsAt ?? null,
      JSON.stringify(li.targeting),
      JSON.stringify(li.caps),
      JSON.stringify(li.exclusionCategories),
      JSON.stringify(li.creativeIds),
      li.paused,
    ],
  );
}

type HourDeltas = ReadonlyArray<{ lineItemId: string; hour: number } & HourDelivery>;

/** Adds decision counts to the stored hours (N processes add up), in one statement. */
async function addHours(db: Queryable, hourly: HourDeltas): Promise<void> {
  if (hourly.length === 0) return;
  await db.query(
    `INSERT INTO ads_delivery_hourly (line_item_id, hour, impressions, spend_milli_micros)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
     ON CONFLICT (line_item_id, hour) DO UPDATE SET impressions = ads_delivery_hourly.impressions + EXCLUDED.impressions,
       spend_milli_micros = ads_delivery_hourly.spend_milli_micros + EXCLUDED.spend_milli_micros`,
    [
      hourly.map((d) => d.lineItemId),
      hourly.map((d) => d.hour),
      hourly.map((d) => d.impressions),
      hourly.map((d) => d.spendMilliMicros),
    ],
  );
}

/**
 * Adds the decisions this process made since its last flush to the stored hours, and nothing
 * else: cheap enough to run every few seconds, so another process's report (which reads the
 * stored hours, shared-report.ts) shows them within that.
 */
export function saveDecisionHours(db: Queryable, store: AdsStore): Promise<number> {
  return store.hourlyTurn(async () => {
    const hourly = store.takeHourlyDeltas().filter((d) => store.lineItems.has(d.lineItemId));
    try {
      await addHours(db, hourly);
    } catch (err) {
      store.putBackHourlyDeltas(hourly);
      throw err;
    }
    return hourly.length;
  });
}

/**
 * Adds the decision and inventory counts this process made since its last flush to the stored
 * hours (several processes add up; a retried flush after a failed one writes what failed), and
 * writes the cap memory changed since then; drops cap memory that expired by `now`.
 */
export function saveDelivery(db: Db, store: AdsStore, now: number): Promise<number> {
  return store.hourlyTurn(() => saveDeliveryNow(db, store, now));
}

async function saveDeliveryNow(db: Db, store: AdsStore, now: number): Promise<number> {
  const seen = store.takeChangedSeen();
  const inventory = store.inventory.takeChanged();
  // Deltas since this process's last write, added to the stored rows (N processes add up).
  const hourly = store.takeHourlyDeltas().filter((d) => store.lineItems.has(d.lineItemId));
  try {
    await db.transaction(async (tx) => {
      await addHours(tx, hourly);
      if (seen.length > 0) {
        await tx.query(
          `INSERT INTO ads_cap_impressions (listener_id, line_item_id, times, expires_at)
           SELECT l, i, t::jsonb, e FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(l, i, t, e)
           ON CONFLICT (listener_id, line_item_id) DO UPDATE SET times = EXCLUDED.times, expires_at = EXCLUDED.expires_at`,
          [
            seen.map((x) => x.listenerId),
            seen.map((x) => x.lineItemId),
            seen.map((x) => JSON.stringify(x.times)),
            seen.map((x) => x.expiresAt),
          ],
        );
      }
      await tx.query('DELETE FROM ads_cap_impressions WHERE expires_at <= $1', [now]);
      // Claims on the shared counters nothing needs any more (shared-claims.ts).
      await tx.query('DELETE FROM ads_claims WHERE keep_until <= $1', [now]);
      if (inventory.length > 0) {
        await tx.query(
          `INSERT INTO ads_inventory_hourly (hour, shape, show_id, language, categories, media_kind, position, country, device, count)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
           ON CONFLICT (hour, shape) DO UPDATE SET count = ads_inventory_hourly.count + EXCLUDED.count`,
          [
            inventory.map((r) => r.hour),
            inventory.map((r) => inventoryShapeKey(r)),
            inventory.map((r) => r.showId),
            inventory.map((r) => r.language),
            inventory.map((r) => JSON.stringify(r.categories)),
            inventory.map((r) => r.mediaKind),
            inventory.map((r) => r.position),
            inventory.map((r) => r.country),
            inventory.map((r) => r.device),
            inventory.map((r) => r.count),
          ],
        );
      }
      await tx.query('DELETE FROM ads_inventory_hourly WHERE hour < $1', [
        now - availabilityWindowMs - 3_600_000,
      ]);
    });
  } catch (err) {
    store.markSeenChanged(seen);
    store.inventory.markChanged(inventory);
    store.putBackHourlyDeltas(hourly);
    throw err;
  }
  return hourly.length;
}

/**
 * Reads the model (advertisers, campaigns, creatives, line items) into `store`, replacing what
 * it holds under the same ids (rows are never deleted). At start, and again in every other
 * process when one of them writes a change (the node's `ads-model` signal).
 */
export async function loadModel(db: Queryable, store: AdsStore): Promise<void> {
  type AdvertiserRow = { id: string; name: string; owner_account_id: string | null };
  for (const r of (await db.query<AdvertiserRow>('SELECT id, name, owner_account_id FROM ads_advertisers'))
    .rows) {
    store.putAdvertiser({
      id: r.id,
      name: r.name,
      ...(r.owner_account_id !== null ? { ownerAccountId: r.owner_account_id } : {}),
    });
  }
  type CampaignRow = {
    id: string;
    advertiser_id: string;
    name: string;
    starts_at: number;
    ends_at: number;
    currency: string;
    total_budget_micros: number;
    daily_budget_micros: number;
    paused: boolean;
  };
  for (const r of (await db.query<CampaignRow>('SELECT * FROM ads_campaigns')).rows) {
    store.putCampaign({
      id: r.id,
      advertiserId: r.advertiser_id,
      name: r.name,
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      currency: r.currency.trim(),
      totalBudgetMicros: r.total_budget_micros,
      dailyBudgetMicros: r.daily_budget_micros,
      paused: r.paused,
    });
  }
  type CreativeRow = {
    id: string;
    advertiser_id: string;
    name: string;
    media_kind: 'audio' | 'video';
    mime_type: string;
    duration_ms: number;
    bytes: number;
    approval: Creative['approval'];
    doc: Omit<
      Creative,
      'id' | 'advertiserId' | 'name' | 'mediaKind' | 'mimeType' | 'durationMs' | 'bytes' | 'approval'
    >;
  };
  for (const r of (await db.query<CreativeRow>('SELECT * FROM ads_creatives')).rows) {
    store.putCreative({
      ...r.doc,
      id: r.id,
      advertiserId: r.advertiser_id,
      name: r.name,
      mediaKind: r.media_kind,
      mimeType: r.mime_type,
      durationMs: r.duration_ms,
      bytes: r.bytes,
      approval: r.approval,
    });
  }
  type LineItemRow = {
    id: string;
    campaign_id: string;
    name: string;
    priority: LineItem['priority'];
    pacing: LineItem['pacing'];
    cpm_micros: number;
    goal: LineItem['goal'];
    starts_at: number | null;
    ends_at: number | null;
    targeting: LineItem['targeting'];
    caps: LineItem['caps'];
    exclusion_categories: string[];
    creative_ids: string[];
    paused: boolean;
  };
  for (const r of (await db.query<LineItemRow>('SELECT * FROM ads_line_items')).rows) {
    store.putLineItem({
      id: r.id,
      campaignId: r.campaign_id,
      name: r.name,
      priority: r.priority,
      pacing: r.pacing,
      cpmMicros: r.cpm_micros,
      goal: r.goal,
      ...(r.starts_at !== null ? { startsAt: r.starts_at } : {}),
      ...(r.ends_at !== null ? { endsAt: r.ends_at } : {}),
      targeting: r.targeting,
      caps: r.caps,
      exclusionCategories: r.exclusion_categories,
      creativeIds: r.creative_ids,
      paused: r.paused,
    });
  }
}

/** Rebuilds the store (model and counters) from the tables. */
export async function loadStore(db: Queryable, now: number): Promise<AdsStore> {
  const store = new AdsStore();
  await loadModel(db, store);
  type SeenRow = { listener_id: string; line_item_id: string; times: number[] };
  for (const r of (
    await db.query<SeenRow>(
      'SELECT listener_id, line_item_id, times FROM ads_cap_impressions WHERE expires_at > $1',
      [now],
    )
  ).rows) {
    store.restoreSeen(r.listener_id, r.line_item_id, r.times.map(Number), now);
  }
  type InventoryDbRow = {
    hour: string | number;
    show_id: string;
    language: string;
    categories: string[];
    media_kind: 'audio' | 'video';
    position: BreakPosition;
    country: string | null;
    device: DeviceClass;
    count: string | number;
  };
  store.inventory.load(
    (
      await db.query<InventoryDbRow>(
        'SELECT hour, show_id, language, categories, media_kind, position, country, device, count FROM ads_inventory_hourly WHERE hour >= $1',
        [now - availabilityWindowMs - 3_600_000],
      )
    ).rows.map((r) => ({
      hour: Number(r.hour),
      showId: r.show_id,
      language: r.language,
      categories: r.categories,
      mediaKind: r.media_kind,
      position: r.position,
      country: r.country,
      device: r.device,
      count: Number(r.count),
    })),
  );
  type HourRow = { line_item_id: string; hour: number; impressions: number; spend_milli_micros: number };
  for (const r of (await db.query<HourRow>('SELECT * FROM ads_delivery_hourly ORDER BY hour')).rows) {
    store.restoreHour(r.line_item_id, r.hour, {
      impressions: r.impressions,
      spendMilliMicros: r.spend_milli_micros,
    });
  }
  const byIssueHour = new Map<string, Map<number, HourDelivery>>();
  for (const m of (await db.query<MeasuredRow>('SELECT * FROM ads_measured ORDER BY time')).rows) {
    const d = measuredFromRow(m);
    store.applyMeasured(d);
    if (d.kind !== 'delivered') continue;
    const hours = byIssueHour.get(d.lineItemId) ?? new Map<number, HourDelivery>();
    const h = Math.floor(d.issuedAt / 3_600_000);
    const x = hours.get(h) ?? { impressions: 0, spendMilliMicros: 0 };
    x.impressions += 1;
    x.spendMilliMicros += d.cpmMicros;
    hours.set(h, x);
    byIssueHour.set(d.lineItemId, hours);
  }
  store.restoreReservations(byIssueHour, now);
  return store;
}
