import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serviceUrl } from './prerequisites.ts';

/**
 * A fresh, empty PostgreSQL database on the test server, so that runs (and parallel test
 * files) never see each other's tables or advisory locks. drop() removes it, closing any
 * connection a test left open. Call after requireServices('postgres') said it is there.
 */
export async function scratchPostgres(
  prefix = 'swarmcast_test',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = serviceUrl('postgres');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
