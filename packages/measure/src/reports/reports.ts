import { Ledger } from '@swarmcast/ledger';
import type { Queryable } from '@swarmcast/platform';
import { countDownloads, type DownloadFilterReason } from '../rules/downloads.ts';
import type { WindowKind } from '../rules/windows.ts';
import { type AdvertiserReport, buildAdvertiserReport } from './advertiser-report.ts';
import { type AudienceBreakdown, buildAudience, buildPlayAudience, type PlayAudience } from './audience.ts';
import { buildCreatorReport, type CreatorReport } from './creator-report.ts';
import {
  type DeliveryCounts,
  inContentBytes,
  loadAdEvents,
  loadDeliveries,
  loadEpisodes,
  loadFacts,
  loadMoney,
  loadOpportunities,
  loadPlays,
  type Period,
} from './load.ts';

export interface AdminReport {
  period: Period;
  /** Every event processed, by subject and reason ("valid" when kept as valid). */
  events: { subject: string; reason: string; count: number }[];
  /** Origin requests left out of download counts, by reason, over every episode. */
  downloadFilters: Record<DownloadFilterReason, number>;
  /** Events published but not yet processed by the pipeline (null when unknown here). */
  streamLag: number | null;
  collector: unknown;
  books: { balanced: boolean; total: number; unbalancedEntries: string[] };
}

export interface ReportsOptions {
  k?: number;
  /** The pipeline consumer's lag, for the admin report. */
  lag?: () => Promise<number>;
  /** Collector counters, for the admin report. */
  collectorStats?: () => unknown;
}

/**
 * Server-side ad deliveries (DAI, IAB v2.3 6.3 "Ad Delivered", counted from download bytes)
 * beside the client-side VAST impressions (6.3 "Client-Confirmed Ad Play"): two metrics,
 * reported side by side and never summed.
 */
export interface ServerSideDeliveries {
  metric: 'ad-delivered (server-side, IAB v2.3 6.3)';
  delivered: number;
  refunded: number;
  groups: DeliveryCounts[];
}

function serverSide(groups: DeliveryCounts[]): ServerSideDeliveries {
  return {
    metric: 'ad-delivered (server-side, IAB v2.3 6.3)',
    delivered: groups.reduce((s, g) => s + g.delivered, 0),
    refunded: groups.reduce((s, g) => s + g.refunded, 0),
    groups,
  };
}

/** Loads rows and assembles reports (the rules are in ../rules, pure). */
export class Reports {
  constructor(
    private readonly db: Queryable,
    private readonly options: ReportsOptions = {},
  ) {}

  /** The creator's registered episodes, or the one of them given (none when it is not theirs). */
  private async creatorEpisodes(creatorId: string, episodeId: string | null) {
    const all = await loadEpisodes(this.db, { creatorId });
    return episodeId ? all.filter((e) => e.episodeId === episodeId) : all;
  }

  /** Null when the creator has no registered episode. */
  async creator(creatorId: string, period: Period, window: WindowKind): Promise<CreatorReport | null> {
    const episodes = await loadEpisodes(this.db, { creatorId });
    if (episodes.length === 0) return null;
    const ids = episodes.map((e) => e.episodeId);
    const facts = await inContentBytes(this.db, await loadFacts(this.db, episodes, period), episodes);
    const report = buildCreatorReport({
      creatorId,
      period,
      window,
      episodes,
      ...facts,
      plays: await loadPlays(this.db, ids, period),
      adEvents: await loadAdEvents(this.db, { creatorId }, period),
      opportunities: await loadOpportunities(this.db, ids, period),
      revenue: await loadMoney(this.db, `creator:${creatorId}`, 'episode_id', period),
      ...(this.options.k ? { k: this.options.k } : {}),
    });
    return {
      ...report,
      serverSide: serverSide(await loadDeliveries(this.db, { creatorId }, 'episode_id', period)),
    };
  }

  /**
   * Counted downloads of a creator's episodes (or of one of them) by app, device, OS, country
   * and hour, k-suppressed. Null when the creator (or that episode of theirs) is unknown.
   */
  async audience(
    creatorId: string,
    period: Period,
    window: WindowKind,
    episodeId: string | null = null,
  ): Promise<AudienceBreakdown | null> {
    const episodes = await this.creatorEpisodes(creatorId, episodeId);
    if (episodes.length === 0) return null;
    const facts = await inContentBytes(this.db, await loadFacts(this.db, episodes, period), episodes);
    const counted = countDownloads({ ...facts, episodes }).counted[window].filter(
      (q) => q.time >= period.from && q.time < period.to,
    );
    return buildAudience({
      creatorId,
      episodeId,
      period,
      window,
      downloads: counted,
      ...(this.options.k ? { k: this.options.k } : {}),
    });
  }

  /**
   * Valid plays of a creator's episodes (or of one of them) by app, device class, OS, country
   * and hour, k-suppressed. Null when the creator (or that episode of theirs) is unknown.
   */
  async playAudience(
    creatorId: string,
    period: Period,
    episodeId: string | null = null,
  ): Promise<PlayAudience | null> {
    const episodes = await this.creatorEpisodes(creatorId, episodeId);
    if (episodes.length === 0) return null;
    return buildPlayAudience({
      creatorId,
      episodeId,
      period,
      plays: await loadPlays(
        this.db,
        episodes.map((e) => e.episodeId),
        period,
      ),
      ...(this.options.k ? { k: this.options.k } : {}),
    });
  }

  async advertiser(advertiserId: string, period: Period): Promise<AdvertiserReport> {
    const report = buildAdvertiserReport({
      advertiserId,
      period,
      adEvents: await loadAdEvents(this.db, { advertiserId }, period),
      spend: await loadMoney(this.db, `advertiser:${advertiserId}`, 'campaign_id', period),
      ...(this.options.k ? { k: this.options.k } : {}),
    });
    return {
      ...report,
      serverSide: serverSide(await loadDeliveries(this.db, { advertiserId }, 'campaign_id', period)),
    };
  }

  async admin(period: Period): Promise<AdminReport> {
    const r = await this.db.query<{ subject: string; reason: string; n: number }>(
      `SELECT subject, coalesce(reason, 'valid') AS reason, count(*) AS n FROM measure_events
        WHERE received_at >= $1 AND received_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      [period.from, period.to],
    );
    const episodes = await loadEpisodes(this.db);
    const facts = await inContentBytes(this.db, await loadFacts(this.db, episodes, period), episodes);
    const books = await new Ledger(this.db).check();
    return {
      period,
      events: r.rows.map((x) => ({ subject: x.subject, reason: x.reason, count: Number(x.n) })),
      downloadFilters: countDownloads({ ...facts, episodes }).filtered,
      streamLag: this.options.lag ? await this.options.lag() : null,
      collector: this.options.collectorStats?.() ?? null,
      books: { balanced: books.balanced, total: books.total, unbalancedEntries: books.unbalancedEntries },
    };
  }
}
