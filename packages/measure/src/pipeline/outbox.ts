/**
 * The transactional outbox of measured delivery: `enqueueDelivery` writes a
 * {@link MeasuredDelivery} in the same transaction as the ledger entry it reports (so one
 * exists exactly when the other does), and `flushOutbox` publishes what is waiting on the
 * stream and deletes it in one transaction: a failed publish leaves the rows for the next
 * flush; a crash after publishing but before deleting publishes them again, which the ad
 * server's consumer ignores (idempotent by id). Several pipeline processes may flush at
 * once (rows are locked, others skipped).
 *
 * Server-side (DAI) deliveries use the same two functions with `source: 'dai'`.
 */
import {
  type DecisionClaims,
  type MeasuredDelivery,
  measuredDeliveryId,
  measuredDeliverySubject,
} from '@swarmcast/ads';
import type { Db, EventStream, Queryable } from '@swarmcast/platform';

export async function enqueueDelivery(tx: Queryable, d: MeasuredDelivery): Promise<void> {
  await enqueueDeliveries(tx, [d]);
}

/**
 * Several deliveries in one statement, in the order given (the outbox's `seq` follows it,
 * so a refund queued after its delivery is published after it).
 */
export async function enqueueDeliveries(tx: Queryable, ds: readonly MeasuredDelivery[]): Promise<void> {
  if (ds.length === 0) return;
  await tx.query(
    `INSERT INTO measure_outbox (id, subject, data)
     SELECT id, subject, data FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS u(id, subject, data, n)
     ORDER BY n ON CONFLICT (id) DO NOTHING`,
    [ds.map(measuredDeliveryId), ds.map(() => measuredDeliverySubject), ds.map((d) => JSON.stringify(d))],
  );
}

/** The delivery (or refund) of one decision as the ledger charged it. */
export function deliveryOf(
  kind: MeasuredDelivery['kind'],
  c: Pick<
    DecisionClaims,
    'decisionId' | 'lineItemId' | 'campaignId' | 'advertiserId' | 'listenerId' | 'issuedAt' | 'cpmMicros'
  >,
  time: number,
  chargedMicros: number,
  source: MeasuredDelivery['source'] = 'vast',
): MeasuredDelivery {
  return {
    kind,
    source,
    decisionId: c.decisionId,
    lineItemId: c.lineItemId,
    campaignId: c.campaignId,
    advertiserId: c.advertiserId,
    listenerId: c.listenerId,
    issuedAt: c.issuedAt,
    time,
    cpmMicros: c.cpmMicros,
    chargedMicros,
  };
}

/** Publishes and removes waiting deliveries, oldest first; returns how many went out. */
export async function flushOutbox(db: Db, stream: EventStream, batch = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const r = await tx.query<{ seq: string; id: string; subject: string; data: MeasuredDelivery }>(
        'SELECT seq, id, subject, data FROM measure_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED',
        [batch],
      );
      if (r.rows.length === 0) return 0;
      await stream.publish(r.rows.map((row) => ({ id: row.id, subject: row.subject, data: row.data })));
      await tx.query('DELETE FROM measure_outbox WHERE seq = ANY($1::bigint[])', [r.rows.map((x) => x.seq)]);
      return r.rows.length;
    });
    total += n;
    if (n < batch) return total;
  }
}
