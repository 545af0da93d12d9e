/**
 * Relational storage: PGlite under the data dir by default, PostgreSQL with DATABASE_URL.
 * Same SQL and the same migrations on both; parts write plain parameterised SQL ($1, $2).
 *
 * Values come back the same on both engines: int2/int4/int8 and count(*) as JS numbers
 * (int8 beyond 2^53 throws rather than rounding), numeric as a string, timestamptz and
 * date as Date (date at UTC midnight), json/jsonb parsed, bytea as Uint8Array (a Buffer
 * on PostgreSQL, which is a Uint8Array).
 */
export interface QueryResult<R> {
  rows: R[];
  /** Rows changed by INSERT/UPDATE/DELETE. */
  affectedRows: number;
}

/** What code that only reads and writes rows needs (a Db, or a transaction). */
export interface Queryable {
  /** One statement, parameters as $1, $2, ... */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** A Queryable that also runs scripts: a Db or an open transaction. */
export interface Transaction extends Queryable {
  /** Several statements separated by semicolons, no parameters (schema scripts). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Transaction {
  readonly engine: 'pglite' | 'postgres';
  /** Runs fn in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One versioned schema change of one part. Applied once, in order, recorded by id. */
export interface Migration {
  /** Unique and never reused, e.g. "catalog/0001-shows". Sorted within a part. */
  id: string;
  sql: string;
}
