import { type Db, type Migration, migrate, openDb } from '@swarmcast/platform';

/** A fresh in-memory PGlite with the given migrations applied. */
export async function memoryDb(migrations: Migration[]): Promise<Db> {
  const db = await openDb({ inMemory: true, migrations });
  await migrate(db, migrations);
  return db;
}
