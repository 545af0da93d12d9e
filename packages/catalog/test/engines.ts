import { type Db, migrate, openDb } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { catalogMigrations } from '../src/migrations.ts';

/**
 * The two database engines every data-layer test runs on: PGlite in a temp dir and the
 * real PostgreSQL on 127.0.0.1 (a fresh database, dropped after).
 */
export interface Engine {
  name: 'pglite' | 'postgres';
  skip: boolean;
  /** A migrated, empty catalog database. */
  open(): Promise<Db>;
  teardown(): Promise<void>;
}

export async function engines(what: string): Promise<Engine[]> {
  const pg = await requireServices(`${what} on PostgreSQL`, 'postgres');
  const cleanups: Array<() => Promise<void>> = [];
  const migrated = async (db: Db) => {
    await migrate(db, catalogMigrations);
    return db;
  };
  const teardown = async () => {
    for (const c of cleanups.splice(0)) await c();
  };
  return [
    {
      name: 'pglite',
      skip: false,
      async open() {
        const dir = await scratchDir('swarmcast-catalog-');
        cleanups.push(dir.remove);
        return migrated(await openDb({ dataDir: dir.path, migrations: catalogMigrations }));
      },
      teardown,
    },
    {
      name: 'postgres',
      skip: pg.skip,
      async open() {
        const scratch = await scratchPostgres('swarmcast_catalog');
        cleanups.push(scratch.drop);
        return migrated(await openDb({ databaseUrl: scratch.url }));
      },
      teardown,
    },
  ];
}
