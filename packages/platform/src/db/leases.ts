/**
 * Leases: exactly one process of a network holds a named job at a time (the seeder of one
 * torrent, say), and another takes it over soon after the holder dies. Kept in the
 * relational database every process already shares (PostgreSQL, or PGlite for the one
 * embedded process), so no role needs Redis to be correct.
 *
 * A lease is a row (name, holder, expires_at). Claiming is one compare-and-set statement:
 * insert, or take the row over when it expired or is already ours (then it is a renewal).
 * Times come from the caller's clock, not the database's, so tests can move time; every
 * process of one network must keep its clock roughly right (NTP), and the TTL must be far
 * larger than their skew.
 */
import type { Migration, Queryable } from './db.ts';

export const leaseMigrations: Migration[] = [
  {
    id: 'platform/0003-leases',
    sql: `CREATE TABLE platform_leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      expires_at bigint NOT NULL
    )`,
  },
];

/** Rows per statement: keeps each claim well under PostgreSQL's parameter limit. */
const CHUNK = 500;

/**
 * Claims or renews `names` for `holder` until `now + ttlMs`; answers the names this holder
 * holds afterwards (a subset of `names`). Names held by another live holder are left alone.
 */
export async function claimLeases(
  db: Queryable,
  holder: string,
  names: readonly string[],
  o: { now: number; ttlMs: number },
): Promise<Set<string>> {
  const held = new Set<string>();
  const expires = o.now + o.ttlMs;
  // One order for every claimer: two processes claiming overlapping sets lock rows in the
  // same order, so they queue instead of deadlocking.
  const sorted = [...new Set(names)].sort();
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const part = sorted.slice(i, i + CHUNK);
    const r = await db.query<{ name: string }>(
      `INSERT INTO platform_leases (name, holder, expires_at)
       SELECT n, $1, $2 FROM unnest($3::text[]) AS n
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE platform_leases.holder = excluded.holder OR platform_leases.expires_at < $4
       RETURNING name`,
      [holder, expires, part, o.now],
    );
    for (const row of r.rows) held.add(row.name);
  }
  return held;
}

/** Gives leases up at once (a clean stop), so another holder need not wait for the TTL. */
export async function releaseLeases(db: Queryable, holder: string, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += CHUNK) {
    await db.query('DELETE FROM platform_leases WHERE holder = $1 AND name = ANY($2::text[])', [
      holder,
      names.slice(i, i + CHUNK),
    ]);
  }
}

/** Who holds each of `names` now (expired leases are nobody's). */
export async function leaseHolders(
  db: Queryable,
  names: readonly string[],
  now: number,
): Promise<Map<string, string>> {
  const r = await db.query<{ name: string; holder: string }>(
    'SELECT name, holder FROM platform_leases WHERE name = ANY($1::text[]) AND expires_at >= $2',
    [names as string[], now],
  );
  return new Map(r.rows.map((row) => [row.name, row.holder]));
}
