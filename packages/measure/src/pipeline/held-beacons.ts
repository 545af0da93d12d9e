import { type Clock, systemClock, type Transaction } from '@swarmcast/platform';
import { defaultAdHoldMs, type HeldAdBeacon, heldUntil, releaseHeldBeacons } from '../rules/ad-hold.ts';
import { type AdTimingRules, type DecisionState, defaultAdTimingRules } from '../rules/ad-sequence.ts';
import { lockDecisionIds } from './process-batch.ts';

export { defaultAdHoldMs };

/**
 * Judges the held ad beacons (rules/ad-hold.ts) whose hold has passed while nothing else of
 * their decision came: a beacon held for a `start` that never arrived is out of order for
 * good. A batch judges the held beacons of the decisions it touches itself; this sweep
 * covers the rest (the pipeline runs it on a timer, so one transaction at a time per
 * process). Each decision is locked as a batch locks it, and re-read under the lock, so a
 * sweep on another process or a batch that just released the beacons is harmless; a
 * beacon's row in `measure_ad_events` is written once (its primary key), in the transaction
 * that removes it from `held`. Returns how many beacons it judged.
 */
export async function judgeExpiredHolds(
  tx: Transaction,
  o: { clock?: Clock; adTiming?: AdTimingRules; limit?: number } = {},
): Promise<number> {
  const now = (o.clock ?? systemClock).now();
  const due = await tx.query<{ decision_id: string }>(
    'SELECT decision_id FROM measure_decisions WHERE held_until <= $1 ORDER BY decision_id LIMIT $2',
    [now, o.limit ?? 200],
  );
  if (due.rows.length === 0) return 0;
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
  const adRows: [string, string, string, string | null, number, string][] = [];
  const decisions: [string, string, string | null, string | null, number | null][] = [];
  for (const row of rows.rows) {
    const prior: DecisionState = { decisionId: row.decision_id, seen: row.seen, invalid: row.invalid };
    const claims = { creativeDurationMs: Number(row.creative_duration_ms) };
    const release = releaseHeldBeacons(prior, row.held, claims, now, o.adTiming ?? defaultAdTimingRules);
    for (const { beacon: b, judgement: j } of release.judged) {
      // Held beacons await a start or an impression, which a batch releases them with: past
      // their hold they can only be out of order (or their decision invalid), never charge.
      if (j.countImpression || j.invalidateDecision) {
        throw new Error(
          `held beacon ${b.id} judged ${String(j.reason)} by the sweep: it must go through a batch`,
        );
      }
      adRows.push([b.id, row.decision_id, b.event, j.reason, b.receivedAt, b.audienceKey]);
    }
    decisions.push([
      row.decision_id,
      JSON.stringify(release.state.seen),
      release.held.length === 0 ? null : JSON.stringify(release.held),
      release.state.invalid,
      heldUntil(release.held),
    ]);
  }
  if (adRows.length > 0) {
    const col = (i: number) => adRows.map((r) => r[i]);
    await tx.query(
      `INSERT INTO measure_ad_events (event_id, decision_id, event, reason, received_at, audience_key)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])`,
      [0, 1, 2, 3, 4, 5].map(col),
    );
    await tx.query(
      `UPDATE measure_events m SET reason = u.reason FROM unnest($1::text[], $2::text[]) AS u(id, reason)
       WHERE m.id = u.id`,
      [col(0), col(3)],
    );
  }
  if (decisions.length > 0) {
    const col = (i: number) => decisions.map((r) => r[i]);
    await tx.query(
      `UPDATE measure_decisions m SET seen = u.seen::jsonb, held = u.held::jsonb, invalid = u.invalid, held_until = u.hu
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(id, seen, held, invalid, hu)
        WHERE m.decision_id = u.id`,
      [0, 1, 2, 3, 4].map(col),
    );
  }
  return adRows.length;
}
