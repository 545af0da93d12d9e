import type pgTypes from 'pg';
import { closableDb } from './closable-db.ts';
import type { Db, QueryResult, Transaction } from './db.ts';
import { sharedParsers } from './value-parsers.ts';

interface PgLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

function wrap(target: PgLike): Transaction {
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await target.query(sql, params);
      return { rows: r.rows as R[], affectedRows: r.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      // No parameters: pg uses the simple protocol, which accepts several statements.
      await target.query(sql);
    },
  };
}

// Loaded by openPostgresDb, not at import: an embedded node (PGlite) should not pay for it.
let pg: typeof pgTypes | undefined;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const own = sharedParsers[oid];
    if (own && format !== 'binary') return own;
    return (pg as typeof pgTypes).types.getTypeParser(oid, format as 'text');
  },
};

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** How long a query waits for a connection before failing (default 5 s). */
  connectTimeoutMs?: number;
}

/** PostgreSQL through a pg Pool; each transaction takes one pooled client. */
export async function openPostgresDb(url: string, options: PostgresOptions = {}): Promise<Db> {
  pg ??= (await import('pg')).default;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    // While the server is away a request waits at most this long for a connection, then
    // fails (503 upstream) instead of hanging until the client gives up.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    keepAlive: true,
  });
  // An idle client losing its server connection must not crash the process.
  pool.on('error', () => {});
  // Fail at open, with the server's reason, rather than at the first query.
  const probe = await pool.connect().catch(async (err) => {
    await pool.end().catch(() => {});
    throw err;
  });
  probe.release();
  return closableDb({
    engine: 'postgres',
    outer: wrap(pool as unknown as PgLike),
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: the server going away between two
      // statements would emit an 'error' with no listener and kill the process. The failure
      // reaches the transaction through its next query instead.
      let broken = false;
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client as unknown as PgLike));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  });
}
