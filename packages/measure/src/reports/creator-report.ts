import type { AnnounceFact, DownloadFact } from '@swarmcast/platform';
import {
  type AdEventRow,
  adDelivery,
  type BreakFill,
  fillRates,
  type OpportunityRow,
} from '../rules/ad-metrics.ts';
import { countDownloads, type DownloadFilterReason } from '../rules/downloads.ts';
import {
  corroborated,
  type Evidence,
  isAnnounceEvidence,
  isDownloadEvidence,
  type ListenerPeriod,
  listenerCounts,
  listenThrough,
  type PlayRow,
  p2pOffload,
  webSeedFallback,
} from '../rules/play-metrics.ts';
import {
  type CellRef,
  type CellSum,
  defaultK,
  type Suppressed,
  suppress,
  suppressComplements,
  suppressEach,
} from '../rules/suppress.ts';
import { dayMs, utcDay, type WindowKind } from '../rules/windows.ts';
import { type SuppressedDelivery, suppressedDelivery } from './advertiser-report.ts';
import type { EpisodeInfo, Period } from './load.ts';

/** One day's figure; null when suppressed (fewer than k listeners behind it). */
export interface DayCell {
  /** Start of the UTC day, ms. */
  day: number;
  value: Suppressed<number>;
}

/**
 * Unique listeners of one day, ISO week or calendar month (`day` is its start); `exact`
 * false marks an upper bound (rules/play-metrics.ts `listenerCounts`).
 */
export interface ListenerCell extends DayCell {
  exact: boolean;
}

export type ListenerCells = Record<ListenerPeriod, ListenerCell[]>;

/** Listener cells of these plays, k-suppressed. */
function listenerCells(plays: readonly PlayRow[], k: number): ListenerCells {
  const cells = (period: ListenerPeriod) =>
    [...listenerCounts(plays, period)].map(([day, c]) => ({
      day,
      value: suppress(c.count, c.count, k),
      exact: c.exact,
    }));
  return { day: cells('day'), week: cells('week'), month: cells('month') };
}

export interface EpisodeFigures {
  episodeId: string;
  showId: string;
  title: string;
  downloads: Suppressed<number>;
  downloadsByDay: DayCell[];
  plays: Suppressed<number>;
  /** Valid plays per UTC day of their start. */
  playsByDay: DayCell[];
  /** Share of valid plays corroborated by transport evidence. */
  corroboratedShare: Suppressed<number>;
  listenThrough: Suppressed<number[]>;
  listeners: ListenerCells;
  /** Bytes of the valid plays from peers and from the web seed (k-suppressed: bytes of few listeners). */
  p2p: P2pCell;
  /**
   * Valid plays whose page could use peers (share or relay) and those of them that got
   * every byte from the web seed: listeners who fell back (k-suppressed like plays).
   */
  webSeedFallback: { couldUsePeers: Suppressed<number>; fellBack: Suppressed<number> };
  /** P2P offload of the valid plays started on each UTC day. */
  p2pByDay: Array<{ day: number } & P2pCell>;
  /** Distinct listeners' peers seen seeding / leeching each day, each k-suppressed. */
  swarm: { day: number; seeders: Suppressed<number>; leechers: Suppressed<number> }[];
  revenueMicros: number;
  revenueByDay: { day: number; micros: number }[];
  /** Ads heard in this episode (reach and frequency k-suppressed). */
  ads: SuppressedDelivery;
  /** The ad server's fill per break (inventory, not people). */
  fill: BreakFill[];
}

export interface P2pCell {
  peers: Suppressed<number>;
  webSeed: Suppressed<number>;
  share: Suppressed<number>;
}

/** A show's figures: its episodes together (listeners counted once across them). */
export interface ShowFigures {
  showId: string;
  downloads: Suppressed<number>;
  downloadsByDay: DayCell[];
  plays: Suppressed<number>;
  /** Listeners of the show's episodes, each counted once across them. */
  listeners: ListenerCells;
  revenueMicros: number;
}

export interface CreatorReport {
  creatorId: string;
  period: Period;
  /** The de-duplication window the download figures use (IAB v2.3 5.5.1). */
  window: WindowKind;
  k: number;
  episodes: EpisodeFigures[];
  shows: ShowFigures[];
  totals: { downloads: Suppressed<number>; plays: Suppressed<number>; revenueMicros: number };
  /** Requests left out of the download count, by reason. */
  filtered: Record<DownloadFilterReason, number>;
  /** Play beacons kept as invalid, by reason. */
  invalidPlays: Record<string, number>;
  /** Server-side (DAI) ad deliveries per episode: a separate metric from VAST impressions. */
  serverSide?: {
    delivered: number;
    refunded: number;
    groups: Array<{ group: string; delivered: number; refunded: number }>;
  };
}

export interface CreatorData {
  creatorId: string;
  period: Period;
  window: WindowKind;
  episodes: readonly EpisodeInfo[];
  downloads: readonly DownloadFact[];
  announces: readonly AnnounceFact[];
  plays: readonly PlayRow[];
  adEvents: readonly AdEventRow[];
  opportunities: readonly OpportunityRow[];
  revenue: readonly { group: string; day: number; micros: number }[];
  k?: number;
}

const inPeriod = (t: number, p: Period) => t >= p.from && t < p.to;

/** Distinct-key cells per UTC day, suppressed below k. */
function dayCells(items: readonly { time: number; who: string }[], k: number): DayCell[] {
  const by = new Map<number, { n: number; who: Set<string> }>();
  for (const it of items) {
    const d = utcDay(it.time) * dayMs;
    const c = by.get(d) ?? { n: 0, who: new Set() };
    c.n++;
    c.who.add(it.who);
    by.set(d, c);
  }
  return [...by]
    .sort((a, b) => a[0] - b[0])
    .map(([day, c]) => ({ day, value: suppress(c.n, c.who.size, k) }));
}

const person = (p: PlayRow): string => p.listenerId ?? p.audienceKey;

/** Bytes from peers and from the web seed of the plays started each UTC day, k-suppressed. */
function p2pByDay(valid: readonly PlayRow[], k: number) {
  const by = new Map<number, PlayRow[]>();
  for (const p of valid) {
    const d = utcDay(p.startedAt) * dayMs;
    const list = by.get(d);
    if (list) list.push(p);
    else by.set(d, [p]);
  }
  return [...by]
    .sort((a, b) => a[0] - b[0])
    .map(([day, plays]) => ({ day, ...suppressEach(p2pOffload(plays), new Set(plays.map(person)).size, k) }));
}

/** Swarm health per day: distinct peers that reported `left = 0` (seeders) or more (leechers). */
function swarmByDay(announces: readonly AnnounceFact[], k: number) {
  const by = new Map<number, { seeders: Set<string>; leechers: Set<string> }>();
  for (const a of announces) {
    if (a.event === 'stopped') continue;
    const d = utcDay(a.time) * dayMs;
    const c = by.get(d) ?? { seeders: new Set(), leechers: new Set() };
    (a.left === 0 ? c.seeders : c.leechers).add(a.audienceKey);
    by.set(d, c);
  }
  return [...by]
    .sort((a, b) => a[0] - b[0])
    .map(([day, c]) => ({
      day,
      seeders: suppress(c.seeders.size, c.seeders.size, k),
      leechers: suppress(c.leechers.size, c.leechers.size, k),
    }));
}

/** Assembles the creator report. Pure: the same rows give the same report. */
export function buildCreatorReport(data: CreatorData): CreatorReport {
  const k = data.k ?? defaultK;
  const { period } = data;
  const counted = countDownloads({
    downloads: data.downloads,
    announces: data.announces,
    episodes: data.episodes,
  });
  const downloadsIn = counted.counted[data.window].filter((q) => inPeriod(q.time, period));

  const byPath = new Map(data.episodes.map((e) => [e.path, e.episodeId]));
  const byHash = new Map(
    data.episodes.filter((e) => e.infoHash).map((e) => [e.infoHash as string, e.episodeId]),
  );
  const evidence: Evidence[] = [
    ...data.downloads
      .filter((f) => byPath.has(f.path) && isDownloadEvidence(f))
      .map((f) => ({ episodeId: byPath.get(f.path)!, audienceKey: f.audienceKey, time: f.time })),
    ...data.announces
      .filter((a) => byHash.has(a.infoHash) && isAnnounceEvidence(a))
      .map((a) => ({ episodeId: byHash.get(a.infoHash)!, audienceKey: a.audienceKey, time: a.time })),
  ];
  const corroboratedIds = corroborated(data.plays, evidence);
  const invalidPlays: Record<string, number> = {};
  for (const p of data.plays) if (p.invalid) invalidPlays[p.invalid] = (invalidPlays[p.invalid] ?? 0) + 1;

  const episodes = data.episodes.map((e): EpisodeFigures => {
    const dls = downloadsIn.filter((q) => q.episodeId === e.episodeId);
    const plays = data.plays.filter((p) => p.episodeId === e.episodeId);
    const valid = plays.filter((p) => !p.invalid);
    const who = new Set(valid.map((p) => person(p))).size;
    const revenue = data.revenue.filter((r) => r.group === e.episodeId);
    const adRows = data.adEvents.filter((r) => r.episodeId === e.episodeId);
    return {
      episodeId: e.episodeId,
      showId: e.showId,
      title: e.title,
      downloads: suppress(dls.length, new Set(dls.map((q) => q.audienceKey)).size, k),
      downloadsByDay: dayCells(
        dls.map((q) => ({ time: q.time, who: q.audienceKey })),
        k,
      ),
      plays: suppress(valid.length, who, k),
      playsByDay: dayCells(
        valid.map((p) => ({ time: p.startedAt, who: person(p) })),
        k,
      ),
      corroboratedShare: suppress(
        valid.length === 0 ? 0 : valid.filter((p) => corroboratedIds.has(p.sessionId)).length / valid.length,
        who,
        k,
      ),
      listenThrough: suppress(listenThrough(plays), who, k),
      listeners: listenerCells(plays, k),
      p2p: suppressEach(p2pOffload(plays), who, k),
      webSeedFallback: (() => {
        const f = webSeedFallback(plays);
        return { couldUsePeers: suppress(f.couldUsePeers, who, k), fellBack: suppress(f.fellBack, who, k) };
      })(),
      p2pByDay: p2pByDay(valid, k),
      swarm: swarmByDay(
        data.announces.filter((a) => a.infoHash === e.infoHash && inPeriod(a.time, period)),
        k,
      ),
      revenueMicros: revenue.reduce((s, r) => s + r.micros, 0),
      revenueByDay: revenue.map((r) => ({ day: r.day * dayMs, micros: r.micros })),
      ads: suppressedDelivery(adDelivery(adRows), k),
      fill: fillRates(
        data.opportunities.filter((o) => o.episodeId === e.episodeId),
        adRows,
      ),
    };
  });

  const allValid = data.plays.filter((p) => !p.invalid);
  const showIds = [...new Set(data.episodes.map((e) => e.showId))].sort();
  const shows = showIds.map((showId): ShowFigures => {
    const ids = new Set(data.episodes.filter((e) => e.showId === showId).map((e) => e.episodeId));
    const dls = downloadsIn.filter((q) => ids.has(q.episodeId));
    const plays = allValid.filter((p) => ids.has(p.episodeId));
    return {
      showId,
      downloads: suppress(dls.length, new Set(dls.map((q) => q.audienceKey)).size, k),
      downloadsByDay: dayCells(
        dls.map((q) => ({ time: q.time, who: q.audienceKey })),
        k,
      ),
      plays: suppress(plays.length, new Set(plays.map((p) => person(p))).size, k),
      listeners: listenerCells(plays, k),
      revenueMicros: episodes
        .filter((e) => ids.has(e.episodeId))
        .reduce((sum, e) => sum + e.revenueMicros, 0),
    };
  });
  const totals = {
    downloads: suppress(downloadsIn.length, new Set(downloadsIn.map((q) => q.audienceKey)).size, k),
    plays: suppress(allValid.length, new Set(allValid.map((p) => person(p))).size, k),
    revenueMicros: episodes.reduce((s, e) => s + e.revenueMicros, 0),
  };
  suppressComplements(creatorSums(episodes, shows, totals));
  return {
    creatorId: data.creatorId,
    period,
    window: data.window,
    k,
    episodes,
    shows,
    totals,
    filtered: counted.filtered,
    invalidPlays,
  };
}

const ref = (holder: object, field: string, w?: CellRef[]): CellRef =>
  w ? { holder, field, with: w } : { holder, field };

/**
 * Every sum a reader can check in the creator report (and its CSV, made from it): an episode's
 * downloads, plays and P2P bytes are the sums of its days; a show's downloads and plays the sums of
 * its episodes, its downloads also the sum of its days, each of its days the sum of its episodes'
 * that day; the totals the sums of the shows. Cells that would give a hidden one away beside it go
 * with it: a day's plays and that day's unique listeners, an episode's plays and its web-seed
 * fallback counts, P2P bytes from peers and from the web seed and their share.
 */
function creatorSums(
  episodes: readonly EpisodeFigures[],
  shows: readonly ShowFigures[],
  totals: CreatorReport['totals'],
): CellSum[] {
  const sums: CellSum[] = [];
  const p2p = (c: P2pCell, field: 'peers' | 'webSeed') =>
    ref(c, field, [ref(c, field === 'peers' ? 'webSeed' : 'peers'), ref(c, 'share')]);
  for (const e of episodes) {
    sums.push({ total: ref(e, 'downloads'), parts: e.downloadsByDay.map((d) => ref(d, 'value')) });
    sums.push({
      total: ref(e, 'plays', [ref(e.webSeedFallback, 'couldUsePeers'), ref(e.webSeedFallback, 'fellBack')]),
      parts: e.playsByDay.map((d) => {
        const listeners = e.listeners.day.find((l) => l.day === d.day);
        return ref(d, 'value', listeners ? [ref(listeners, 'value')] : []);
      }),
    });
    for (const f of ['peers', 'webSeed'] as const)
      sums.push({ total: p2p(e.p2p, f), parts: e.p2pByDay.map((d) => p2p(d, f)) });
  }
  for (const s of shows) {
    const mine = episodes.filter((e) => e.showId === s.showId);
    sums.push({ total: ref(s, 'downloads'), parts: mine.map((e) => ref(e, 'downloads')) });
    sums.push({ total: ref(s, 'downloads'), parts: s.downloadsByDay.map((d) => ref(d, 'value')) });
    for (const d of s.downloadsByDay)
      sums.push({
        total: ref(d, 'value'),
        parts: mine.flatMap((e) =>
          e.downloadsByDay.filter((x) => x.day === d.day).map((x) => ref(x, 'value')),
        ),
      });
    sums.push({ total: ref(s, 'plays'), parts: mine.map((e) => ref(e, 'plays')) });
  }
  sums.push({ total: ref(totals, 'downloads'), parts: shows.map((s) => ref(s, 'downloads')) });
  sums.push({ total: ref(totals, 'plays'), parts: shows.map((s) => ref(s, 'plays')) });
  return sums;
}
