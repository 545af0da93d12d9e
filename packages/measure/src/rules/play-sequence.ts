import type { PlayBeacon } from '../beacon-types.ts';
import { type Held, type Release, releaseHeld } from './hold.ts';

export type { PlayBeacon };

/**
 * Whether a content-play beacon is possible for its session (rules tested one by one in
 * play-sequence.test.ts). A beacon is judged by the place its `seq` claims in the session,
 * not by when it is judged: several consumers share the stream, so a beacon may be judged
 * after a later one of its session that another consumer committed first. A seq below the
 * session's highest that has not been seen (a gap) is judged when it comes, against the
 * session as its seq places it, and with honest beacons every judgement is the one a single
 * consumer gives in receive order (late-beacons.test.ts compares them).
 *
 * 1. `session-invalid`: the session was already judged invalid by a beacon of a lower seq
 *    (a gap below the one that invalidated it is judged as it would have been before).
 * 2. `duplicate`: a `seq` already seen (a retried POST is folded earlier by its event id;
 *    this catches a replay under a new id). Seen: at most the session's highest and not in
 *    one of its gaps; at most `maxSeqGaps` gap ranges are kept (the lowest go first: their
 *    seqs then count as seen).
 * 3. `out-of-order`: anything before the session's `start`, or a second `start`. A beacon
 *    whose session has no `start` yet is out of order only so far (`awaiting`): several
 *    consumers share the stream, so the start may be in a batch another one has not
 *    committed; the pipeline holds it (rules/hold.ts) and judges it once the start is judged
 *    or its hold has passed.
 * 4. `unknown-episode`: the episode is not published.
 * 5. `contradiction`: position beyond the duration, a duration that disagrees with the
 *    published one by more than 5 %, byte counters or listened time going backwards in seq
 *    order (below those of the highest seq judged, or, for a gap below it, above them),
 *    `complete` short of 90 % of the episode, a beacon naming another episode than the one
 *    its session started on (checked first: it is a lie whatever else it says).
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
  /** The highest seq seen. */
  lastSeq: number;
  /** Seq ranges `[from, to]` below `lastSeq` not seen yet, ascending (at most `maxSeqGaps`). */
  gaps: SeqRange[];
  /** The seq whose listened time, byte counters and peer mode the session holds. */
  countersSeq: number;
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

/** Inclusive range of seqs. */
export type SeqRange = [number, number];

/**
 * Gap ranges kept per session: an honest player's beacons leave none once all are judged
 * (a few while another consumer's batch is in flight); a client skipping seqs on purpose
 * cannot grow the row.
 */
export const maxSeqGaps = 16;

export interface PlayJudgement {
  reason: PlayRuleReason | string | null;
  session: PlaySession | null;
  /** `out-of-order` only because the session's `start` has not been judged yet; else null. */
  awaiting: 'start' | null;
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
  const out = (reason: string | null, next: PlaySession | null = session): PlayJudgement => ({
    reason,
    session: next,
    awaiting: null,
  });
  if (session && session.episodeId !== b.episodeId) return out('contradiction');
  const gap = session !== null && b.seq < session.lastSeq && inGaps(session.gaps, b.seq);
  if (session?.invalid && !gap) return out('session-invalid');
  if (session && b.seq <= session.lastSeq && !gap) return out('duplicate');
  if (publishedDurationMs === null) return out('unknown-episode');
  if (b.event === 'start' && session !== null) return out('out-of-order');
  if (b.event !== 'start' && session === null) return { ...out('out-of-order'), awaiting: 'start' };
  if (ivt) {
    // An invalid-traffic start opens a session that stays invalid, so its later beacons
    // are kept under session-invalid instead of looking like orphans.
    return out(ivt, invalidated(session ?? fresh(b, receivedAt), b.seq, ivt));
  }
  // Counters go forward in seq order: a beacon after the one whose counters the session
  // holds may not be below them, a gap before it may not be above them.
  const after = session === null || b.seq > session.countersSeq;
  const backwards =
    session !== null &&
    (after
      ? b.bytesFromPeers < session.bytesFromPeers ||
        b.bytesFromWebSeed < session.bytesFromWebSeed ||
        b.listenedMs < session.listenedMs
      : b.bytesFromPeers > session.bytesFromPeers ||
        b.bytesFromWebSeed > session.bytesFromWebSeed ||
        b.listenedMs > session.listenedMs);
  const contradicts =
    b.positionMs > b.durationMs + rules.slackMs ||
    Math.abs(b.durationMs - publishedDurationMs) > publishedDurationMs * 0.05 ||
    (b.event === 'complete' && b.positionMs < b.durationMs * 0.9) ||
    backwards;
  if (contradicts) {
    // A start that contradicts itself or the catalog opens a session that stays invalid,
    // as an invalid-traffic start does: its later beacons are kept under session-invalid at
    // once, not held for a start that has been judged (they waited out the whole hold).
    if (session === null)
      return out('contradiction', invalidated(fresh(b, receivedAt), b.seq, 'contradiction'));
    return out('contradiction');
  }
  const base = session ?? fresh(b, receivedAt);
  const elapsed = receivedAt - base.startedAt;
  if (b.listenedMs > elapsed * rules.maxPlaybackRate + rules.slackMs) {
    return out('too-fast', invalidated(base, b.seq, 'too-fast'));
  }
  const next: PlaySession = {
    ...base,
    lastSeq: Math.max(base.lastSeq, b.seq),
    gaps: seen(base, b.seq),
    maxPositionMs: Math.max(base.maxPositionMs, Math.min(b.positionMs, b.durationMs)),
    completed: base.completed || b.event === 'complete',
  };
  if (!after) return out(null, next);
  return out(null, {
    ...next,
    countersSeq: b.seq,
    listenedMs: b.listenedMs,
    bytesFromPeers: b.bytesFromPeers,
    bytesFromWebSeed: b.bytesFromWebSeed,
    peerMode: b.peerMode ?? base.peerMode,
  });
}

const inGaps = (gaps: readonly SeqRange[], seq: number) =>
  gaps.some(([from, to]) => from <= seq && seq <= to);

/**
 * The session's gaps once `seq` is seen: taken out of its gap, or, past the highest seq, the
 * seqs it skips added as a gap; the lowest ranges beyond `maxSeqGaps` are forgotten.
 */
function seen(s: PlaySession, seq: number): SeqRange[] {
  let gaps: SeqRange[];
  if (seq > s.lastSeq) gaps = seq > s.lastSeq + 1 ? [...s.gaps, [s.lastSeq + 1, seq - 1]] : s.gaps;
  else {
    gaps = [];
    for (const [from, to] of s.gaps) {
      if (seq < from || seq > to) gaps.push([from, to]);
      else {
        if (from < seq) gaps.push([from, seq - 1]);
        if (seq < to) gaps.push([seq + 1, to]);
      }
    }
  }
  return gaps.length > maxSeqGaps ? gaps.slice(gaps.length - maxSeqGaps) : gaps;
}

/**
 * The session invalidated by beacon `seq`: what comes after it is session-invalid, gaps
 * below it are still judged as they would have been before it.
 */
function invalidated(s: PlaySession, seq: number, reason: string): PlaySession {
  // `seq` is in no range once seen, so a range is either below it or above it.
  const gaps = seen(s, seq).filter(([, to]) => to < seq);
  return { ...s, lastSeq: Math.max(s.lastSeq, seq), gaps, invalid: reason };
}

/**
 * A play beacon as the pipeline judges it, and holds it for its session's `start`
 * (rules/hold.ts): with what was found when it was first seen, its invalid-traffic reason
 * (rates count a beacon once, when it arrives) and its episode's published duration.
 */
export interface HeldPlayBeacon extends Held {
  beacon: PlayBeacon;
  ivt: string | null;
  publishedDurationMs: number | null;
}

/** Receive order; ties by the player's `seq` (its sending order), then as given. */
const playOrder = (a: HeldPlayBeacon, b: HeldPlayBeacon) =>
  a.receivedAt - b.receivedAt || a.beacon.seq - b.beacon.seq;

/**
 * Judges a session's beacons (those held for its start and a batch's new ones) in receive
 * order; those still awaiting the start stay held (`releaseHeld`). The play rules depend on
 * the order they are applied in (seq, listened time and byte counters only go forward), so a
 * batch's own beacons of the session are judged together with the held ones, not before them.
 */
export function releaseHeldPlays(
  prior: PlaySession | null,
  beacons: readonly HeldPlayBeacon[],
  now: number,
  rules: PlayRules = defaultPlayRules,
): Release<PlaySession | null, HeldPlayBeacon, PlayJudgement> {
  return releaseHeld(
    prior,
    beacons,
    now,
    (session, h) => judgePlayBeacon(session, h.beacon, h.receivedAt, h.publishedDurationMs, h.ivt, rules),
    (j) => j.session,
    { order: playOrder },
  );
}

function fresh(b: PlayBeacon, receivedAt: number): PlaySession {
  return {
    sessionId: b.sessionId,
    episodeId: b.episodeId,
    startedAt: receivedAt,
    lastSeq: b.seq,
    gaps: [],
    countersSeq: b.seq,
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
