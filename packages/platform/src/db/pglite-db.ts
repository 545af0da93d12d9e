import { mkdir } from 'node:fs/promises';
import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { closableDb } from './closable-db.ts';
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
 * Postgres's buffer cache inside the WASM heap. initdb's 128MB is touched at start and so
 * was a quarter of the node's resident memory after `npm start` (RSS of PGlite alone, one
 * database: 331 MiB at 128MB, 223 at 32MB, 178 at 16MB). The files live on the host's file
 * system, whose page cache serves re-reads anyway, so a small pool costs little for an
 * embedded, single-user database. Given at start (`-c`), not written to postgresql.conf,
 * so existing data directories keep every other setting.
 */
const sharedBuffers = '16MB';

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
    // Loaded here, not at import: the module alone is ~40 MiB of resident memory, which a
    // process on PostgreSQL, or one that needs no database (`swarmcast tracker` and each of
    // its workers), should not pay.
    const { PGlite } = await import('@electric-sql/pglite');
    pg = await PGlite.create({
      ...(dir === undefined ? {} : { dataDir: dir }),
      parsers: sharedParsers,
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
    });
  } catch (err) {
    await release?.();
    throw err;
  }
  return closableDb({
    engine: 'pglite',
    outer: wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async close() {
      await pg.close();
      await release?.();
    },
  });
}
