import { PGlite } from '@electric-sql/pglite';
import type { Db, Migration, Transaction } from '@swarmcast/platform';

/**
 * An in-memory PGlite as a Db, for tests until the platform's openDb is on main.
 * It is the real engine (Postgres compiled to WASM), not a stand-in.
 */
export async function memoryDb(migrations: Migration[]): Promise<Db> {
  const pg = new PGlite();
  for (const m of migrations) await pg.exec(m.sql);
  const wrap = (q: { query: PGlite['query']; exec: PGlite['exec'] }): Transaction => ({
    async query<R>(sql: string, params?: unknown[]) {
      const r = await q.query<R>(sql, params as unknown[]);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  return {
    engine: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx as unknown as PGlite))),
    close: () => pg.close(),
  };
}
