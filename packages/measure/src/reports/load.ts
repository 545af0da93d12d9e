import { loadPlansById } from '@swarmcast/ads';
import type { AnnounceFact, AudienceKey, DownloadFact, Queryable } from '@swarmcast/platform';
import { toContentFact } from '../rules/ad-delivery.ts';
import type { AdEventRow, OpportunityRow } from '../rules/ad-metrics.ts';
import type { EpisodeMedia } from '../rules/episode-media.ts';
import type { PlayRow } from '../rules/play-metrics.ts';
import { attributedPostings } from './money.ts';

/**
 * Loaders: rows from the measurement tables into the shapes the pure rules take. Reports
 * are computed from the kept events on each request (exact, no sketches); at the embedded
 * scale this is milliseconds, and a rollup table is the step for larger deployments.
 */
export interface Period {
  from: number;
  to: number;
}

export type EpisodeInfo = EpisodeMedia & { title: string };

export async function loadEpisodes(db: Queryable, where: { creatorId?: string; showId?: string } = {}) {
  const r = await db.query<Record<string, unknown>>(
    `SELECT * FROM measure_episodes WHERE ($1::text IS NULL OR creator_id = $1) AND ($2::text IS NULL OR show_id = $2)
     ORDER BY show_id, episode_id`,
    [where.creatorId ?? null, where.showId ?? null],
  );
  return r.rows.map(
    (row): EpisodeInfo => ({
      episodeId: String(row.episode_id),
      showId: String(row.show_id),
      creatorId: String(row.creator_id),
      title: String(row.title ?? ''),
      path: String(row.path),
      infoHash: (row.info_hash as string | null) ?? null,
      fileSize: Number(row.file_size),
      headerBytes: Number(row.header_bytes),
      durationMs: Number(row.duration_ms),
    }),
  );
}

/**
 * Origin and tracker facts for these episodes. The window reaches one day before `from`
 * so that de-duplication windows open before the period are honoured at its start.
 */
export async function loadFacts(db: Queryable, episodes: readonly EpisodeMedia[], p: Period) {
  const paths = episodes.map((e) => e.path);
  const hashes = episodes.map((e) => e.infoHash).filter((h): h is string => h !== null);
  const d = await db.query<{ fact: DownloadFact }>(
    'SELECT fact FROM measure_downloads WHERE path = ANY($1::text[]) AND time >= $2 AND time < $3 ORDER BY time, id',
    [paths, p.from - 86_400_000, p.to],
  );
  const a = await db.query<{ fact: AnnounceFact }>(
    'SELECT fact FROM measure_announces WHERE info_hash = ANY($1::text[]) AND time >= $2 AND time < $3 ORDER BY time, id',
    [hashes, p.from - 86_400_000, p.to],
  );
  return { downloads: d.rows.map((r) => r.fact), announces: a.rows.map((r) => r.fact) };
}

export async function loadPlays(db: Queryable, episodeIds: readonly string[], p: Period): Promise<PlayRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT * FROM measure_play_sessions WHERE episode_id = ANY($1::text[]) AND started_at >= $2 AND started_at < $3
     ORDER BY started_at, session_id`,
    [episodeIds, p.from, p.to],
  );
  return r.rows.map((row) => ({
    sessionId: String(row.session_id),
    episodeId: String(row.episode_id),
    audienceKey: String(row.audience_key) as AudienceKey,
    listenerId: (row.listener_id as string | null) ?? null,
    startedAt: Number(row.started_at),
    maxPositionMs: Number(row.max_position_ms),
    durationMs: Number(row.duration_ms),
    completed: row.completed === true,
    bytesFromPeers: Number(row.bytes_from_peers),
    bytesFromWebSeed: Number(row.bytes_from_web_seed),
    peerMode: (row.peer_mode as string | null) ?? null,
    invalid: (row.invalid as string | null) ?? null,
    client:
      row.client_app == null
        ? null
        : { app: String(row.client_app), device: String(row.client_device), os: String(row.client_os) },
    country: (row.client_country as string | null) ?? null,
  }));
}

export interface AdRowFilter {
  advertiserId?: string;
  creatorId?: string;
}

/** Judged ad beacons with their decision (beacons whose token failed have no decision). */
export async function loadAdEvents(db: Queryable, f: AdRowFilter, p: Period): Promise<AdEventRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT e.event_id, e.decision_id, e.event, e.reason, e.received_at, e.audience_key, d.listener_id, d.campaign_id,
            d.line_item_id, d.ad_id, d.break_id, d.episode_id, d.invalid
       FROM measure_ad_events e JOIN measure_decisions d ON d.decision_id = e.decision_id
      WHERE ($1::text IS NULL OR d.advertiser_id = $1) AND ($2::text IS NULL OR d.creator_id = $2)
        AND e.received_at >= $3 AND e.received_at < $4
      ORDER BY e.received_at, e.event_id`,
    [f.advertiserId ?? null, f.creatorId ?? null, p.from, p.to],
  );
  return r.rows.map((row) => ({
    eventId: String(row.event_id),
    decisionId: String(row.decision_id),
    event: row.event as AdEventRow['event'],
    reason: (row.reason as string | null) ?? null,
    receivedAt: Number(row.received_at),
    audienceKey: String(row.audience_key) as AudienceKey,
    listenerId: (row.listener_id as string | null) ?? null,
    campaignId: String(row.campaign_id),
    lineItemId: String(row.line_item_id),
    adId: String(row.ad_id),
    breakId: String(row.break_id),
    episodeId: String(row.episode_id),
    // A decision invalidated by an IVT impression is not "invalidated later": its beacons
    // already carry their own reasons. Only a later judgement flags the rest.
    decisionInvalid: row.invalid !== null && row.invalid !== undefined,
  }));
}

export async function loadOpportunities(db: Queryable, episodeIds: readonly string[] | null, p: Period) {
  const r = await db.query<{ break_id: string; episode_id: string; slots: number; filled: number }>(
    `SELECT break_id, episode_id, slots, filled FROM measure_opportunities
      WHERE ($1::text[] IS NULL OR episode_id = ANY($1::text[])) AND time >= $2 AND time < $3`,
    [episodeIds, p.from, p.to],
  );
  return r.rows.map(
    (row): OpportunityRow => ({
      breakId: row.break_id,
      episodeId: row.episode_id,
      slots: Number(row.slots),
      filled: Number(row.filled),
    }),
  );
}

/** Money per (group, day) from the ledger, attributed through the decisions (money.ts). */
export async function loadMoney(
  db: Queryable,
  account: string,
  groupBy: 'episode_id' | 'campaign_id',
  p: Period,
): Promise<{ group: string; day: number; micros: number }[]> {
  // Money from VAST impressions and from server-side deliveries (DAI, refs "dlv:<id>"): both
  // are charges to the same budget; the reports count the two metrics apart.
  const sums = new Map<string, { group: string; day: number; micros: number }>();
  for (const x of await attributedPostings(db, account, p.from, p.to)) {
    const group = groupBy === 'episode_id' ? x.episodeId : x.campaignId;
    const day = Math.floor(x.time / 86_400_000);
    const key = `${group}\u0000${day}`;
    const sum = sums.get(key) ?? { group, day, micros: 0 };
    sum.micros += x.amount;
    sums.set(key, sum);
  }
  return [...sums.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.day - b.day));
}

/** Server-side ad deliveries (DAI) per group, counted and refunded, in the period. */
export interface DeliveryCounts {
  group: string;
  delivered: number;
  refunded: number;
}

export async function loadDeliveries(
  db: Queryable,
  by: { advertiserId?: string; creatorId?: string },
  group: 'campaign_id' | 'episode_id',
  p: Period,
): Promise<DeliveryCounts[]> {
  const r = await db.query<{ g: string; ok: boolean; n: unknown }>(
    `SELECT ${group} AS g, (invalid IS NULL) AS ok, count(*) AS n FROM measure_ad_deliveries
      WHERE ($1::text IS NULL OR advertiser_id = $1) AND ($2::text IS NULL OR creator_id = $2)
        AND delivered_at >= $3 AND delivered_at < $4
      GROUP BY 1, 2 ORDER BY 1`,
    [by.advertiserId ?? null, by.creatorId ?? null, p.from, p.to],
  );
  const out = new Map<string, DeliveryCounts>();
  for (const row of r.rows) {
    const c = out.get(row.g) ?? { group: row.g, delivered: 0, refunded: 0 };
    // A refunded delivery was delivered, then judged invalid: it is not in `delivered`.
    if (row.ok === true || (row.ok as unknown) === 't') c.delivered += Number(row.n);
    else c.refunded += Number(row.n);
    out.set(row.g, c);
  }
  return [...out.values()];
}

/**
 * Stitched-enclosure facts in the episode file's coordinates (their plans' content runs), so
 * the download rules read bytes of the episode, never the ads' (rules/ad-delivery.ts).
 */
export async function inContentBytes(
  db: Queryable,
  facts: { downloads: DownloadFact[]; announces: AnnounceFact[] },
  episodes: readonly EpisodeMedia[],
) {
  const ids = [...new Set(facts.downloads.map((f) => f.planId).filter((x): x is string => x !== undefined))];
  if (ids.length === 0) return facts;
  const stored = await loadPlansById(db, ids);
  const size = new Map(episodes.map((e) => [e.path, e.fileSize]));
  const downloads = facts.downloads.flatMap((f) => {
    const s = f.planId ? stored.get(f.planId) : undefined;
    const plan = s?.layout
      ? {
          planId: s.plan.id,
          episodeId: s.plan.episodeId,
          planKey: s.plan.audienceKey,
          size: s.layout.size,
          content: s.layout.content,
          ads: s.layout.ads,
        }
      : undefined;
    return toContentFact(f, plan, size.get(f.path) ?? f.fileSize);
  });
  return { downloads, announces: facts.announces };
}
