import type { AnnounceFact, AudienceKey, ClientClass, DownloadFact } from '@swarmcast/platform';
import { type ByteRange, coveredBytes } from './byte-coverage.ts';
import { downloadThreshold, type EpisodeMedia } from './episode-media.ts';
import { countedTimes, dayMs, utcDay, type WindowKind, windowKinds } from './windows.ts';

/**
 * Downloads the IAB way (Podcast Measurement Technical Guidelines v2.3, section 5.5), from
 * origin request facts and tracker announce facts. Rules, in the order applied (each has a
 * test in test/downloads.test.ts):
 *
 * Step 1, filtering (5.5.2); a filtered request is kept in `filtered` under its reason:
 * 1. `bot`: the user agent is a known bot, crawler or library (1.2.5, OPAWG list at the edge).
 * 2. `datacenter`: the address is in a listed data-centre range (1.2.2), unless it is also
 *    on the operator's re-validated list of known safe addresses (the 1.2 note).
 * 2b. `referrer`: the Referer was malformed or names a source on the operator's list of
 *    sources that are not podcast consumers (1.2.3; the edge keeps only the class).
 * 3. `head`: HEAD requests carry no body (1.3.1).
 * 4. `not-modified`: 304 answers (1.3.2c).
 * 5. `status`: any other status than 200 or 206 (nothing usable was delivered).
 * 6. `probe`: two-byte `bytes=0-1` range probes (1.2.6).
 * 7. `apple-watch`: duplicates from a paired Apple Watch (1.2.7, the IAB text: user agents
 *    that begin with `atc/` and include `watchOS`, or contain `(null)/(null) watchOS`; the edge
 *    flags them `watchDuplicate`). Checked first, before `bot`. Other watch agents (an app
 *    downloading on a standalone watch) are listeners and are counted.
 * 8. `unknown-episode`: not a published episode file (or torrent).
 *
 * Step 2, threshold (5.5.3): per episode and audience key, the distinct bytes of the
 * requests are reassembled (overlaps counted once); a download qualifies at the request
 * where the coverage reaches header bytes + one minute of media (the whole file when the
 * episode is one minute or shorter). Coverage starts afresh after a qualified download, and
 * also when it is older than the window (24 h) without qualifying. Requests that never
 * complete a qualified download are counted as `below-threshold`.
 * A torrent completion is a complete download (BitTorrent verifies every piece): an announce
 * with event `completed`, or a `stopped` with `left = 0` from a key that was downloading
 * (aria2 never sends `completed`; see `torrentCompletions`). Other announces are not
 * downloads (a peer's bytes arrive rarest-first, not in playable order).
 *
 * Step 1.2.1, abnormal rate: a key with more than `maxDownloadsPerKeyDay` qualified
 * downloads in one UTC day is not a listener; all of that key's downloads that day go to `rate`.
 * Keys seen on a known safe address (dorms, corporations: many listeners behind one
 * address and user agent) are exempt (the 1.2 note and 5.5.4 inclusion list).
 *
 * Step 3, uniques (5.5.4): the key (IP, IPv6 cut to /64, + user agent, hashed at the edge)
 * per episode, de-duplicated in each of the three windows of 5.5.1 (see windows.ts).
 */
export type DownloadFilterReason =
  | 'bot'
  | 'datacenter'
  | 'referrer'
  | 'head'
  | 'not-modified'
  | 'status'
  | 'probe'
  | 'apple-watch'
  | 'unknown-episode'
  | 'below-threshold'
  | 'rate';

export interface DownloadRules {
  windowMs: number;
  maxDownloadsPerKeyDay: number;
}

export const defaultDownloadRules: DownloadRules = { windowMs: dayMs, maxDownloadsPerKeyDay: 60 };

export interface QualifiedDownload {
  episodeId: string;
  audienceKey: AudienceKey;
  /** When the download qualified. */
  time: number;
  source: 'http' | 'torrent';
  /** From a known safe address: exempt from the abnormal-rate rule. */
  safe: boolean;
  /** The qualifying request's client class (a torrent: the client family from its peer id). */
  client: ClientClass;
  /** From the trusted proxy's header; null when unknown. */
  country: string | null;
}

export interface DownloadCount {
  /** Counted downloads under each window. */
  counted: Record<WindowKind, QualifiedDownload[]>;
  /** Requests (or announces) left out, by reason. */
  filtered: Record<DownloadFilterReason, number>;
  /**
   * Every qualified download that is valid (not left out by the abnormal-rate rule), before
   * de-duplication in windows: what an ad delivery may belong to (6.3 "Ad Delivered").
   */
  valid: QualifiedDownload[];
  /** Qualified downloads left out by the abnormal-rate rule (1.2.1). */
  rateFiltered: QualifiedDownload[];
}

export interface DownloadInput {
  downloads: readonly DownloadFact[];
  announces: readonly AnnounceFact[];
  episodes: readonly EpisodeMedia[];
}

/** True for a request that only probes range support: `bytes=0-1` (two bytes at the start). */
export function isRangeProbe(f: Pick<DownloadFact, 'rangeHeader' | 'rangeStart' | 'rangeEnd'>): boolean {
  const h = f.rangeHeader?.replace(/\s+/g, '').toLowerCase();
  if (h === 'bytes=0-1') return true;
  return h !== undefined && f.rangeStart === 0 && f.rangeEnd === 1;
}

/** Step 1 for one origin request: the reason to leave it out, or null to keep it. */
export function filterDownload(f: DownloadFact, known: boolean): DownloadFilterReason | null {
  // First: the bot list also matches some of these agents, and the reason must say watch.
  if (f.client.watchDuplicate) return 'apple-watch';
  if (f.client.bot) return 'bot';
  if (f.datacenter && !f.safe) return 'datacenter';
  if (f.referrer === 'malformed' || f.referrer === 'excluded') return 'referrer';
  if (f.method === 'HEAD') return 'head';
  if (f.status === 304) return 'not-modified';
  if (f.status !== 200 && f.status !== 206) return 'status';
  if (isRangeProbe(f)) return 'probe';
  if (!known) return 'unknown-episode';
  return null;
}

function emptyFiltered(): Record<DownloadFilterReason, number> {
  return {
    bot: 0,
    datacenter: 0,
    referrer: 0,
    head: 0,
    'not-modified': 0,
    status: 0,
    probe: 0,
    'apple-watch': 0,
    'unknown-episode': 0,
    'below-threshold': 0,
    rate: 0,
  };
}

/**
 * The announces that mark a completed torrent download, once per download. BEP 3: `left` is
 * what the peer still has to download (0: every piece verified); `completed` is sent when the
 * download completes and not when the file was complete at start; `stopped` when the client
 * ceases. aria2 (the v1-only companion's client) announces `started` and `stopped` and never
 * `completed`, so per key and torrent a download is also complete at a `stopped` with
 * `left = 0` when the key was downloading: an earlier announce of it on that torrent had
 * `left > 0`, or this one reports downloaded bytes. A seeder that started complete (left 0
 * throughout, nothing downloaded) never counts, and a `completed` followed by the same
 * session's `stopped` counts once. Announces are taken in time order.
 */
export function torrentCompletions(announces: readonly AnnounceFact[]): AnnounceFact[] {
  const state = new Map<string, 'downloading' | 'complete'>();
  const out: AnnounceFact[] = [];
  const sorted = [...announces].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
  for (const a of sorted) {
    // Per torrent as announced: `left` of the companion and of the hybrid are separate sessions.
    const torrent = (a as AnnounceFact & { announcedInfoHash?: string }).announcedInfoHash ?? a.infoHash;
    const id = `${a.audienceKey}\u0000${torrent}`;
    const was = state.get(id);
    if (a.event === 'completed') {
      out.push(a);
      state.set(id, 'complete');
    } else if (a.left > 0) state.set(id, 'downloading');
    else if (
      a.event === 'stopped' &&
      (was === 'downloading' || (was === undefined && a.downloadedDelta > 0))
    ) {
      out.push(a);
      state.set(id, 'complete');
    }
  }
  return out;
}

/** The three steps over a set of facts. Pure: same facts, same counts. */
export function countDownloads(
  input: DownloadInput,
  rules: DownloadRules = defaultDownloadRules,
): DownloadCount {
  const byPath = new Map(input.episodes.map((e) => [e.path, e]));
  const byHash = new Map(input.episodes.filter((e) => e.infoHash).map((e) => [e.infoHash as string, e]));
  const filtered = emptyFiltered();
  const qualified: QualifiedDownload[] = [];

  // Step 1 + group the kept requests per (episode, key).
  const groups = new Map<string, { episode: EpisodeMedia; key: AudienceKey; facts: DownloadFact[] }>();
  for (const f of input.downloads) {
    const episode = byPath.get(f.path);
    const reason = filterDownload(f, episode !== undefined);
    if (reason) {
      filtered[reason]++;
      continue;
    }
    const id = `${episode!.episodeId}\u0000${f.audienceKey}`;
    let g = groups.get(id);
    if (!g) {
      g = { episode: episode!, key: f.audienceKey, facts: [] };
      groups.set(id, g);
    }
    g.facts.push(f);
  }

  // Step 2: reassemble and apply the threshold.
  for (const { episode, key, facts } of groups.values()) {
    const threshold = downloadThreshold(episode);
    facts.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
    let ranges: ByteRange[] = [];
    let since = 0;
    let pending = 0;
    for (const f of facts) {
      if (ranges.length > 0 && f.time - since >= rules.windowMs) {
        filtered['below-threshold'] += pending;
        ranges = [];
        pending = 0;
      }
      if (ranges.length === 0) since = f.time;
      pending++;
      if (f.rangeStart !== null && f.rangeEnd !== null && f.bytesSent > 0) {
        // Only bytes actually sent count: a dropped connection covers less than it asked.
        ranges.push([f.rangeStart, Math.min(f.rangeEnd, f.rangeStart + f.bytesSent - 1)]);
      }
      if (coveredBytes(ranges) >= threshold) {
        qualified.push({
          episodeId: episode.episodeId,
          audienceKey: key,
          time: f.time,
          source: 'http',
          safe: f.safe === true,
          client: f.client,
          country: f.country ?? null,
        });
        ranges = [];
        pending = 0;
      }
    }
    filtered['below-threshold'] += pending;
  }

  // Torrents: a completion is a complete download (torrentCompletions).
  for (const a of torrentCompletions(input.announces)) {
    if (a.datacenter && !a.safe) {
      filtered.datacenter++;
      continue;
    }
    const episode = byHash.get(a.infoHash);
    if (!episode) {
      filtered['unknown-episode']++;
      continue;
    }
    qualified.push({
      episodeId: episode.episodeId,
      audienceKey: a.audienceKey,
      time: a.time,
      source: 'torrent',
      safe: a.safe === true,
      client: { app: a.clientFamily || 'unknown', device: 'unknown', os: 'unknown', bot: false },
      country: a.country ?? null,
    });
  }

  // Step 1.2.1: abnormal rates per key and day.
  const perKeyDay = new Map<string, number>();
  for (const q of qualified) {
    const k = `${q.audienceKey}\u0000${utcDay(q.time)}`;
    perKeyDay.set(k, (perKeyDay.get(k) ?? 0) + 1);
  }
  const rateFiltered: QualifiedDownload[] = [];
  const normal = qualified.filter((q) => {
    const over =
      !q.safe &&
      (perKeyDay.get(`${q.audienceKey}\u0000${utcDay(q.time)}`) ?? 0) > rules.maxDownloadsPerKeyDay;
    if (over) {
      filtered.rate++;
      rateFiltered.push(q);
    }
    return !over;
  });

  // Step 3: uniques per (episode, key) in each window.
  const perListener = new Map<string, QualifiedDownload[]>();
  for (const q of normal) {
    const k = `${q.episodeId}\u0000${q.audienceKey}`;
    const list = perListener.get(k);
    if (list) list.push(q);
    else perListener.set(k, [q]);
  }
  const counted = { calendar: [], firstTouch: [], lastTouch: [] } as Record<WindowKind, QualifiedDownload[]>;
  for (const list of perListener.values()) {
    list.sort((a, b) => a.time - b.time);
    for (const kind of windowKinds) {
      const keep = new Set(
        countedTimes(
          list.map((q) => q.time),
          kind,
          rules.windowMs,
        ),
      );
      for (const q of list) {
        if (keep.has(q.time)) {
          counted[kind].push(q);
          keep.delete(q.time);
        }
      }
    }
  }
  for (const kind of windowKinds) counted[kind].sort((a, b) => a.time - b.time);
  return { counted, filtered, valid: normal, rateFiltered };
}
