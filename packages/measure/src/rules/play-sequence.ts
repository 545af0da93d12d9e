import type { PlayBeacon } from '../beacon-types.ts';

/**
 * Whether a content-play beacon is possible for its session (rules tested one by one in
 * play-sequence.test.ts):
 *
 * 1. `session-invalid`: the session was already judged invalid.
 * 2. `duplicate`: a `seq` already seen (a retried POST is folded earlier by its event id;
 *    this catches a replay under a new id).
 * 3. `out-of-order`: anything before the session's `start`, or a second `start`.
 * 4. `unknown-episode`: the episode is not published.
 * 5. `contradiction`: position beyond the duration, a duration that disagrees with the
 *    published one by more than 5 %, byte counters or listened time going backwards,
 *    `complete` short of 90 % of the episode.
 * 6. `too-fast`: more media listened than wall time has passed since `start` allows at
 *    `maxPlaybackRate` (3x) plus slack. Invalidates the session.
 */
export type PlayRuleReason =
  | 'session-invalid'
  | 'duplicate'
  | 'out-of-order'
  | 'unknown-episode'
  | 'contradiction'
  | 'too-fast';

export interface PlaySession {
  sessionId: string;
  episodeId: string;
  startedAt: number;
  lastSeq: number;
  maxPositionMs: number;
  listenedMs: number;
  durationMs: number;
  completed: boolean;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  /** How the page could meet peers (the latest beacon's), null from older players. */
  peerMode: string | null;
  invalid: string | null;
}

export interface PlayRules {
  maxPlaybackRate: number;
  slackMs: number;
}

export const defaultPlayRules: PlayRules = { maxPlaybackRate: 3, slackMs: 5_000 };

export interface PlayJudgement {
  reason: PlayRuleReason | string | null;
  session: PlaySession | null;
}

/**
 * Judges one beacon against its session (null before `start`). `publishedDurationMs` is
 * the episode's duration from the catalog, or null when the episode is unknown.
 */
export function judgePlayBeacon(
  session: PlaySession | null,
  b: PlayBeacon,
  receivedAt: number,
  publishedDurationMs: number | null,
  ivt: string | null,
  rules: PlayRules = defaultPlayRules,
): PlayJudgement {
  if (session?.invalid) return { reason: 'session-invalid', session };
  if (session && b.seq <= session.lastSeq) return { reason: 'duplicate', session };
  if (publishedDurationMs === null) return { reason: 'unknown-episode', session };
  if (b.event === 'start' ? session !== null : session === null) return { reason: 'out-of-order', session };
  if (ivt) {
    // An invalid-traffic start opens a session that stays invalid, so its later beacons
    // are kept under session-invalid instead of looking like orphans.
    const s = session ?? fresh(b, receivedAt);
    return { reason: ivt, session: { ...s, lastSeq: b.seq, invalid: ivt } };
  }
  const contradicts =
    b.positionMs > b.durationMs + rules.slackMs ||
    Math.abs(b.durationMs - publishedDurationMs) > publishedDurationMs * 0.05 ||
    (b.event === 'complete' && b.positionMs < b.durationMs * 0.9) ||
    (session !== null &&
      (b.bytesFromPeers < session.bytesFromPeers ||
        b.bytesFromWebSeed < session.bytesFromWebSeed ||
        b.listenedMs < session.listenedMs));
  if (contradicts) return { reason: 'contradiction', session };
  const base = session ?? fresh(b, receivedAt);
  const elapsed = receivedAt - base.startedAt;
  if (b.listenedMs > elapsed * rules.maxPlaybackRate + rules.slackMs) {
    return { reason: 'too-fast', session: { ...base, lastSeq: b.seq, invalid: 'too-fast' } };
  }
  return {
    reason: null,
    session: {
      ...base,
      lastSeq: b.seq,
      maxPositionMs: Math.max(base.maxPositionMs, Math.min(b.positionMs, b.durationMs)),
      listenedMs: b.listenedMs,
      completed: base.completed || b.event === 'complete',
      bytesFromPeers: b.bytesFromPeers,
      bytesFromWebSeed: b.bytesFromWebSeed,
      peerMode: b.peerMode ?? base.peerMode,
    },
  };
}

function fresh(b: PlayBeacon, receivedAt: number): PlaySession {
  return {
    sessionId: b.sessionId,
    episodeId: b.episodeId,
    startedAt: receivedAt,
    lastSeq: b.seq,
    maxPositionMs: 0,
    listenedMs: 0,
    durationMs: b.durationMs,
    completed: false,
    bytesFromPeers: 0,
    bytesFromWebSeed: 0,
    peerMode: b.peerMode ?? null,
    invalid: null,
  };
}
