import { join } from 'node:path';
import type { Db, Migration } from './db.ts';
import { openPgliteDb } from './pglite-db.ts';
import { openPostgresDb } from './postgres-db.ts';

export interface OpenDbOptions {
  /** PostgreSQL connection URL (DATABASE_URL). When absent, PGlite under the data dir. */
  databaseUrl?: string | undefined;
  /** The node's data directory; PGlite keeps its files in `<dataDir>/db`. */
  dataDir?: string | undefined;
  /** PGlite only: keep everything in memory (tests). Ignored with a databaseUrl. */
  inMemory?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /**
   * The migrations the caller runs next. Only with SWARMCAST_PGLITE_TEMPLATE (tests): a new
   * PGlite database starts as a copy of one already migrated with exactly these, so the
   * caller's migrate() has nothing left to apply. Ignored otherwise.
   */
  migrations?: readonly Migration[];
}

/**
 * Opens the relational store: PostgreSQL when a URL is given, else PGlite persisted under
 * `<dataDir>/db` (or in memory with `inMemory`). Run {@link migrate} before use.
 */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  if (options.databaseUrl) {
    return openPostgresDb(options.databaseUrl, options.poolSize ? { max: options.poolSize } : {});
  }
  if (options.inMemory) return openPgliteDb(undefined, options.migrations);
  if (!options.dataDir) throw new TypeError('openDb needs a dataDir, a databaseUrl, or inMemory');
  return openPgliteDb(join(options.dataDir, 'db'), options.migrations);
}
