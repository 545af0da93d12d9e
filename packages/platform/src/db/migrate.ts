import { createHash } from 'node:crypto';
import { PlatformError } from '../errors.ts';
import type { Db, Migration } from './db.ts';

/** Arbitrary but fixed: every Swarmcast process migrating one database takes this lock. */
const MIGRATION_LOCK_KEY = 0x53574d31;

export interface MigrateResult {
  /** Ids applied by this call, in order. */
  applied: string[];
  /** Ids that were already applied and unchanged. */
  skipped: string[];
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Applies the migrations not yet applied, in the order given (concatenate parts in layer
 * order; within a part, ids sort by number). Everything runs in one transaction holding a
 * transaction-scoped advisory lock, so several processes starting at once apply each
 * migration exactly once and the losers see the winner's work. An applied migration whose
 * SQL changed since is a PLT_MIGRATION_CHANGED error: write a new migration instead.
 * Applied ids missing from `migrations` are left alone (another part's, or a newer build's).
 *
 * Because of the single transaction, a migration may not use statements that refuse to
 * run in one (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE on old servers).
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<MigrateResult> {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (seen.has(m.id))
      throw new PlatformError('PLT_MIGRATION_DUPLICATE', `migration id ${m.id} appears twice`);
    seen.add(m.id);
  }
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS swarmcast_migrations (
      id text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ id: string; checksum: string }>(
      'SELECT id, checksum FROM swarmcast_migrations',
    );
    const done = new Map(rows.map((r) => [r.id, r.checksum]));
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const m of migrations) {
      const sum = checksum(m.sql);
      const previous = done.get(m.id);
      if (previous !== undefined) {
        if (previous !== sum) {
          throw new PlatformError(
            'PLT_MIGRATION_CHANGED',
            `migration ${m.id} was applied with checksum ${previous.slice(0, 12)} but its SQL now hashes to ${sum.slice(0, 12)}; never edit an applied migration, add a new one`,
          );
        }
        result.skipped.push(m.id);
        continue;
      }
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new Error(`migration ${m.id} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query('INSERT INTO swarmcast_migrations (id, checksum) VALUES ($1, $2)', [m.id, sum]);
      result.applied.push(m.id);
    }
    return result;
  });
}
