import type { AnnounceFact, AudienceKey, DownloadFact } from '@swarmcast/platform';
import { filterDownload } from './downloads.ts';
import { dayMs, utcDay } from './windows.ts';

/** A play session as stored, with who played it. */
export interface PlayRow {
  sessionId: string;
  episodeId: string;
  audienceKey: AudienceKey;
  listenerId: string | null;
  startedAt: number;
  maxPositionMs: number;
  durationMs: number;
  completed: boolean;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  /** How the page could meet peers: share, relay, off, none (no engine), null if not told. */
  peerMode?: string | null;
  invalid: string | null;
  /** The player's client classes from the collector (its user agent is never kept); absent on old rows. */
  client?: { app: string; device: string; os: string } | null;
  /** The trusted proxy's country of the session (null: unknown). */
  country?: string | null;
}

/** Transport evidence: an announce on the episode's torrent or an origin fetch of its file. */
export interface Evidence {
  episodeId: string;
  audienceKey: AudienceKey;
  time: number;
}

/**
 * Whether an origin request is transport evidence for a play: media bytes actually
 * delivered to a listener, i.e. a request the download filter keeps (a GET answered 200 or
 * 206 with a body, not a `bytes=0-1` probe, HEAD, 304, bot, data centre or paired-watch
 * duplicate). A probe or a HEAD proves nothing was listened to.
 */
export function isDownloadEvidence(f: DownloadFact): boolean {
  return f.bytesSent > 0 && filterDownload(f, true) === null;
}

/** Whether an announce is transport evidence: the peer downloaded bytes, or completed. */
export function isAnnounceEvidence(a: AnnounceFact): boolean {
  return !a.datacenter && (a.event === 'completed' || a.downloadedDelta > 0);
}

/**
 * A play is corroborated when the same audience key has transport evidence for that
 * episode within `windowMs` (24 h) either side of the play's start.
 */
export function corroborated(
  plays: readonly PlayRow[],
  evidence: readonly Evidence[],
  windowMs = dayMs,
): Set<string> {
  const times = new Map<string, number[]>();
  for (const e of evidence) {
    const k = `${e.episodeId}\u0000${e.audienceKey}`;
    const list = times.get(k);
    if (list) list.push(e.time);
    else times.set(k, [e.time]);
  }
  const out = new Set<string>();
  for (const p of plays) {
    const list = times.get(`${p.episodeId}\u0000${p.audienceKey}`);
    if (list?.some((t) => Math.abs(t - p.startedAt) <= windowMs)) out.add(p.sessionId);
  }
  return out;
}

/**
 * Listen-through curve: for each decile d = 0..10, the share of valid plays whose furthest
 * position reached d x 10 % of the episode (d = 0 is 1 by definition; `complete` counts
 * as 100 %). Returns shares in [0, 1].
 */
export function listenThrough(plays: readonly PlayRow[]): number[] {
  const valid = plays.filter((p) => !p.invalid);
  const curve: number[] = [];
  for (let d = 0; d <= 10; d++) {
    if (valid.length === 0) {
      curve.push(0);
      continue;
    }
    const reached = valid.filter((p) => p.completed || p.maxPositionMs * 10 >= d * p.durationMs).length;
    curve.push(reached / valid.length);
  }
  return curve;
}

/**
 * Who a listener is for unique counts: the player's listener id when it sent one, else
 * the audience key. The id belongs to one UTC calendar month (the player makes a new one
 * on the 1st), the key to one UTC day (its salt is destroyed), so see `listenerCounts`
 * for which counts this makes exact.
 */
export function listenerIdentity(p: Pick<PlayRow, 'listenerId' | 'audienceKey'>): string {
  return p.listenerId ? `l:${p.listenerId}` : `k:${p.audienceKey}`;
}

export type ListenerPeriod = 'day' | 'week' | 'month';

/** Start (ms) of the UTC day, ISO week (Monday) or calendar month containing t. */
export function periodStart(t: number, period: ListenerPeriod): number {
  if (period === 'day') return utcDay(t) * dayMs;
  if (period === 'week') {
    const day = utcDay(t);
    const weekday = (new Date(day * dayMs).getUTCDay() + 6) % 7;
    return (day - weekday) * dayMs;
  }
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Distinct listeners of one period, and whether that number is exact. */
export interface ListenerCount {
  count: number;
  /**
   * True when no person can be in `count` twice: a day always; a month when every play
   * carried a listener id (monthly, so one per browser per month); a week when also it
   * lies inside one calendar month. Otherwise it is an upper bound: a listener without an
   * id (Do-Not-Track / GPC: only the daily key) counts once per day, and a week across the
   * 1st counts a listener once per month's id. Exact there would mean linking a person
   * across days or months, which the privacy rules forbid.
   */
  exact: boolean;
}

/** Distinct listeners of valid plays per period start (day, ISO week, calendar month). */
export function listenerCounts(
  plays: readonly PlayRow[],
  period: ListenerPeriod,
): Map<number, ListenerCount> {
  const sets = new Map<number, { who: Set<string>; withoutId: boolean }>();
  for (const p of plays) {
    if (p.invalid) continue;
    const k = periodStart(p.startedAt, period);
    let s = sets.get(k);
    if (!s) {
      s = { who: new Set(), withoutId: false };
      sets.set(k, s);
    }
    s.who.add(listenerIdentity(p));
    if (!p.listenerId) s.withoutId = true;
  }
  const oneMonth = (start: number) => periodStart(start, 'month') === periodStart(start + 6 * dayMs, 'month');
  return new Map(
    [...sets]
      .sort((a, b) => a[0] - b[0])
      .map(([k, s]) => [
        k,
        {
          count: s.who.size,
          exact: period === 'day' || (!s.withoutId && (period === 'month' || oneMonth(k))),
        },
      ]),
  );
}

/** Distinct listeners of valid plays per period start (see `listenerCounts` for exactness). */
export function uniqueListeners(plays: readonly PlayRow[], period: ListenerPeriod): Map<number, number> {
  return new Map([...listenerCounts(plays, period)].map(([k, c]) => [k, c.count]));
}

/**
 * Listeners who fell back to the web seed: of the valid plays whose page could use peers
 * (peer mode share or relay), those that got media bytes and none of them from peers
 * (NAT, UDP blocked, no relay for relay-only, or nobody else in the swarm).
 */
export function webSeedFallback(plays: readonly PlayRow[]): { couldUsePeers: number; fellBack: number } {
  let couldUsePeers = 0;
  let fellBack = 0;
  for (const p of plays) {
    if (p.invalid || (p.peerMode !== 'share' && p.peerMode !== 'relay')) continue;
    couldUsePeers++;
    if (p.bytesFromPeers === 0 && p.bytesFromWebSeed > 0) fellBack++;
  }
  return { couldUsePeers, fellBack };
}

/** Share of bytes that came from peers rather than the web seed, over valid plays. */
export function p2pOffload(plays: readonly PlayRow[]): { peers: number; webSeed: number; share: number } {
  let peers = 0;
  let webSeed = 0;
  for (const p of plays) {
    if (p.invalid) continue;
    peers += p.bytesFromPeers;
    webSeed += p.bytesFromWebSeed;
  }
  return { peers, webSeed, share: peers + webSeed === 0 ? 0 : peers / (peers + webSeed) };
}
