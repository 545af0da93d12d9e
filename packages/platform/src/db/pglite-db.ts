import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { PlatformError } from '../errors.ts';
import type { Db, QueryResult, Transaction } from './db.ts';
import { acquireDirLock } from './dir-lock.ts';
import { sharedParsers } from './value-parsers.ts';

function wrap(target: PGlite | PgliteTransaction): Transaction {
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await target.query<R>(sql, params);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

/**
 * PGlite (Postgres compiled to WASM, in this process) with its files under `dir`. One
 * process per directory: a lock file refuses a second live process instead of letting two
 * WASM instances corrupt the same files. `dir` undefined means in memory (tests only).
 */
export async function openPgliteDb(dir: string | undefined): Promise<Db> {
  let release: (() => Promise<void>) | undefined;
  if (dir !== undefined) {
    await mkdir(dir, { recursive: true });
    release = await acquireDirLock(`${dir}.lock`);
  }
  let pg: PGlite;
  try {
    pg = await PGlite.create({ ...(dir === undefined ? {} : { dataDir: dir }), parsers: sharedParsers });
  } catch (err) {
    await release?.();
    throw err;
  }
  const outer = wrap(pg);
  let closed = false;
  const guard = () => {
    if (closed) throw new PlatformError('PLT_DB_CLOSED', 'PGlite database used after close()');
  };
  return {
    engine: 'pglite',
    async query(sql, params) {
      guard();
      return outer.query(sql, params);
    },
    async exec(sql) {
      guard();
      return outer.exec(sql);
    },
    async transaction(fn) {
      guard();
      return pg.transaction((tx) => fn(wrap(tx)));
    },
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
      await release?.();
    },
  };
}
