import { type Clock, systemClock, type Transaction } from '@swarmcast/platform';
import { type HeldAdBeacon, releaseHeldBeacons } from '../rules/ad-hold.ts';
import { type AdTimingRules, type DecisionState, defaultAdTimingRules } from '../rules/ad-sequence.ts';
import { heldUntil } from '../rules/hold.ts';
import {
  defaultPlayRules,
  type HeldPlayBeacon,
  type PlayRules,
  releaseHeldPlays,
} from '../rules/play-sequence.ts';
import {
  type AdEventRow,
  insertAdEvents,
  insertPlayEvents,
  lockDecisionIds,
  lockSessionIds,
  type PlayEventRow,
  readPlaySessions,
  saveHeldPlays,
} from './process-batch.ts';

/** Advisory lock class of the hold sweep ("SMS1"), taken with key 0 by the one sweeping. */
const SWEEP_LOCK_CLASS = 0x534d5331;

export interface SweepOptions {
  clock?: Clock;
  adTiming?: AdTimingRules;
  playRules?: PlayRules;
  /** Keys (decisions, play sessions) of each kind judged per call (default 200). */
  limit?: number;
}

/**
 * Judges the held beacons (rules/hold.ts) whose hold has passed while nothing else of their
 * key came: an ad beacon held for a `start` or `impression`, a play beacon held for its
 * session's `start`, that never arrived is out of order for good. A batch judges the held
 * beacons of the keys it touches itself; this sweep covers the rest (the pipeline runs it on
 * a timer; one sweep transaction at a time among all processes, the others return 0). Each key is locked as a batch locks it
 * (decisions, then sessions, in id order) and re-read under the lock, so a sweep on another
 * process or a batch that just released the beacons is harmless; a beacon's judged row is
 * written once (its primary key), in the transaction that removes it from the held ones.
 * Returns how many beacons it judged.
 */
export async function judgeExpiredHolds(tx: Transaction, o: SweepOptions = {}): Promise<number> {
  // One sweeper at a time across the measure processes: without this, every other process's
  // sweep picked the same due keys, waited on their locks for the whole of the first one's
  // transaction (0.2-0.45 s, a pooled connection held, at load ~25) and then found nothing.
  // Skipping is safe: whoever holds the lock sweeps, and the rest try again next tick.
  const sweeper = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, 0) AS ok', [
    SWEEP_LOCK_CLASS,
  ]);
  if (sweeper.rows[0]?.ok !== true) return 0;
  const now = (o.clock ?? systemClock).now();
  const limit = o.limit ?? 200;
  const reasons: [string, string | null][] = [];
  await sweepDecisions(tx, o, now, limit, reasons);
  await sweepPlaySessions(tx, o, now, limit, reasons);
  if (reasons.length > 0) {
    // Their marks said `held` until now.
    await tx.query(
      `UPDATE measure_events m SET reason = u.reason FROM unnest($1::text[], $2::text[]) AS u(id, reason)
       WHERE m.id = u.id`,
      [reasons.map(([id]) => id), reasons.map(([, r]) => r)],
    );
  }
  return reasons.length;
}

/** A held beacon judged by the sweep: past its hold it can only be out of order (or invalid). */
function mustNotCount(id: string, reason: string | null, counts: boolean): void {
  // Held beacons await a start or an impression, which a batch releases them with: past
  // their hold they are never valid, never charge and never invalidate.
  if (reason === null || counts) {
    throw new Error(`held beacon ${id} judged ${String(reason)} by the sweep: it must go through a batch`);
  }
}

async function sweepDecisions(
  tx: Transaction,
  o: SweepOptions,
  now: number,
  limit: number,
  reasons: [string, string | null][],
): Promise<void> {
  const due = await tx.query<{ decision_id: string }>(
    'SELECT decision_id FROM measure_decisions WHERE held_until <= $1 ORDER BY decision_id LIMIT $2',
    [now, limit],
  );
  if (due.rows.length === 0) return;
  const ids = due.rows.map((r) => r.decision_id).sort();
  await lockDecisionIds(tx, ids);
  const rows = await tx.query<{
    decision_id: string;
    seen: DecisionState['seen'];
    invalid: string | null;
    held: HeldAdBeacon[];
    creative_duration_ms: number;
  }>(
    `SELECT decision_id, seen, invalid, held, creative_duration_ms FROM measure_decisions
      WHERE decision_id = ANY($1::text[]) AND held_until <= $2`,
    [ids, now],
  );
  const adRows: AdEventRow[] = [];
  const decisions: [string, string, string | null, string | null, number | null][] = [];
  for (const row of rows.rows) {
    const prior: DecisionState = { decisionId: row.decision_id, seen: row.seen, invalid: row.invalid };
    const claims = { creativeDurationMs: Number(row.creative_duration_ms) };
    const release = releaseHeldBeacons(prior, row.held, claims, now, o.adTiming ?? defaultAdTimingRules);
    for (const { beacon: b, judgement: j } of release.judged) {
      mustNotCount(b.id, j.reason, j.countImpression || j.invalidateDecision);
      adRows.push([b.id, row.decision_id, b.event, j.reason, b.receivedAt, b.audienceKey]);
      reasons.push([b.id, j.reason]);
    }
    decisions.push([
      row.decision_id,
      JSON.stringify(release.state.seen),
      release.held.length === 0 ? null : JSON.stringify(release.held),
      release.state.invalid,
      heldUntil(release.held),
    ]);
  }
  await insertAdEvents(tx, adRows);
  if (decisions.length > 0) {
    await tx.query(
      `UPDATE measure_decisions m SET seen = u.seen::jsonb, held = u.held::jsonb, invalid = u.invalid, held_until = u.hu
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(id, seen, held, invalid, hu)
        WHERE m.decision_id = u.id`,
      [0, 1, 2, 3, 4].map((i) => decisions.map((r) => r[i])),
    );
  }
}

async function sweepPlaySessions(
  tx: Transaction,
  o: SweepOptions,
  now: number,
  limit: number,
  reasons: [string, string | null][],
): Promise<void> {
  const due = await tx.query<{ session_id: string }>(
    'SELECT session_id FROM measure_play_held WHERE held_until <= $1 ORDER BY session_id LIMIT $2',
    [now, limit],
  );
  if (due.rows.length === 0) return;
  const ids = due.rows.map((r) => r.session_id).sort();
  await lockSessionIds(tx, ids);
  const stored = await readPlaySessions(tx, ids, now);
  const playRows: PlayEventRow[] = [];
  const left = new Map<string, { held: HeldPlayBeacon[]; hadHeld: boolean }>();
  for (const [sessionId, s] of stored) {
    const release = releaseHeldPlays(s.session, s.held, now, o.playRules ?? defaultPlayRules);
    for (const { beacon: h, judgement: j } of release.judged) {
      // Only beacons awaiting their session's start are held, so the session cannot change.
      mustNotCount(h.id, j.reason, j.session !== s.session);
      playRows.push([h.id, sessionId, h.beacon.event, j.reason, h.receivedAt]);
      reasons.push([h.id, j.reason]);
    }
    left.set(sessionId, { held: release.held, hadHeld: true });
  }
  await insertPlayEvents(tx, playRows);
  await saveHeldPlays(tx, left);
}
