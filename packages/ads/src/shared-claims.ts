/**
 * The durable record of the claims made on the shared counters (shared-delivery.ts), so that
 * a Redis that lost its keys gets back what was in flight, not only what was measured
 * (shared-seed.ts): the open reservations of decisions not measured yet and the cap holds of
 * unmeasured decisions. Without it a budget or cap could be overspent after a loss by what
 * was in flight.
 *
 * A claim's row (`ads_claims`) is committed before its claim script runs in Redis, so a
 * seeder that reads the table after the loss sees every claim Redis could have held before
 * it. A row whose claim Redis then refuses is deleted, and its id taken out of the counters
 * again (a seed may have read the row in between: shared-delivery.ts). Rows go once nothing
 * needs them: at the token's expiry, or for a capped line item once the decision time is
 * past the longest cap period (`keep_until`).
 *
 * Writes are gathered: the rows of every claim that arrives while a write is in flight go
 * in the next one (one INSERT for many decisions under load).
 */
import type { Queryable } from '@swarmcast/platform';

export interface ClaimRecord {
  decisionId: string;
  lineItemId: string;
  /** The listener, when the line item is capped for it (its cap times); else null. */
  listenerId: string | null;
  issuedAt: number;
  /** The token's expiry: the reservation lasts as long. */
  expiresAt: number;
  /** The end of the cap hold of the decision while unmeasured (capped only; else issuedAt). */
  holdUntil: number;
  /** When nothing needs the row any more. */
  keepUntil: number;
}

export interface ClaimLog {
  /** Durably records claims about to be made in Redis; resolves once committed. */
  record(claims: readonly ClaimRecord[]): Promise<void>;
  /** Forgets claims that Redis refused. */
  forget(decisionIds: readonly string[]): Promise<void>;
}

/** Gathers the items of calls made while a write is in flight into the next write (one statement). */
function gathered<T>(write: (items: T[]) => Promise<void>): (items: readonly T[]) => Promise<void> {
  let queue: T[] = [];
  let waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  let busy = false;
  const pump = async () => {
    busy = true;
    // The calls of this event-loop turn go together (a burst of answers read from Redis).
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const items = queue;
      const done = waiting;
      queue = [];
      waiting = [];
      try {
        await write(items);
        for (const w of done) w.resolve();
      } catch (err) {
        for (const w of done) w.reject(err);
      }
    }
    busy = false;
  };
  return (items) =>
    new Promise<void>((resolve, reject) => {
      queue.push(...items);
      waiting.push({ resolve, reject });
      if (!busy) void pump();
    });
}

/** The claims log in the ads tables (`ads_claims`, migration ads/0006). */
export function dbClaimLog(db: Queryable): ClaimLog {
  const record = gathered<ClaimRecord>(async (rows) => {
    await db.query(
      `INSERT INTO ads_claims (decision_id, line_item_id, listener_id, issued_at, expires_at, hold_until, keep_until)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
       ON CONFLICT (decision_id) DO NOTHING`,
      [
        rows.map((r) => r.decisionId),
        rows.map((r) => r.lineItemId),
        rows.map((r) => r.listenerId),
        rows.map((r) => r.issuedAt),
        rows.map((r) => r.expiresAt),
        rows.map((r) => r.holdUntil),
        rows.map((r) => r.keepUntil),
      ],
    );
  });
  return {
    record: (claims) => (claims.length === 0 ? Promise.resolve() : record(claims)),
    async forget(ids) {
      if (ids.length === 0) return;
      await db.query('DELETE FROM ads_claims WHERE decision_id = ANY($1::text[])', [[...ids]]);
    },
  };
}

/**
 * The advisory lock between applying measured deliveries and reading the seed: a consumer
 * applies a batch to Redis inside the transaction that records it, holding this lock shared;
 * the seeder reads holding it exclusively, so it never reads while a batch already in Redis
 * (lost with it) is not yet committed. Two int4 keys: apart from every one-key lock.
 */
export const seedLockClass = 0x53414431;

export async function lockForMeasured(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock_shared($1, 0)', [seedLockClass]);
}

export async function lockForSeed(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, 0)', [seedLockClass]);
}
