import { PlatformError } from '../errors.ts';
import type { Db, Transaction } from './db.ts';

/** What an engine supplies; the shared part (use after close is an error, close once) is here. */
export interface EngineParts {
  engine: Db['engine'];
  outer: Transaction;
  transaction: Db['transaction'];
  close(): Promise<void>;
}

export function closableDb(parts: EngineParts): Db {
  let closed = false;
  const guard = () => {
    if (closed) throw new PlatformError('PLT_DB_CLOSED', `${parts.engine} database used after close()`);
  };
  return {
    engine: parts.engine,
    async query(sql, params) {
      guard();
      return parts.outer.query(sql, params);
    },
    async exec(sql) {
      guard();
      return parts.outer.exec(sql);
    },
    async transaction(fn) {
      guard();
      return parts.transaction(fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      await parts.close();
    },
  };
}
