import type { AudienceKey } from '@swarmcast/platform';
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
  invalid: string | null;
}

/** Transport evidence: an announce on the episode's torrent or an origin fetch of its file. */
export interface Evidence {
  episodeId: string;
  audienceKey: AudienceKey;
  time: number;
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
 * the audience key. Both rotate (the key daily, with its salt), so counts over a week or
 * a month count a person once per rotation: an upper bound, stated in the report.
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

/** Exact distinct listeners of valid plays per period start. */
export function uniqueListeners(plays: readonly PlayRow[], period: ListenerPeriod): Map<number, number> {
  const sets = new Map<number, Set<string>>();
  for (const p of plays) {
    if (p.invalid) continue;
    const k = periodStart(p.startedAt, period);
    let s = sets.get(k);
    if (!s) {
      s = new Set();
      sets.set(k, s);
    }
    s.add(listenerIdentity(p));
  }
  return new Map([...sets].sort((a, b) => a[0] - b[0]).map(([k, s]) => [k, s.size]));
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
