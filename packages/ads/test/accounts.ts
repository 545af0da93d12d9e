/**
 * Real catalog accounts for the advertiser-side tests: the catalog's tables on an in-memory
 * PGlite, accounts with API tokens and web sessions, and the `auth` hook the node injects
 * (the same rule as web's `whoIs`: a Bearer token is an API token, else the session cookie).
 */
import {
  authenticate,
  catalogMigrations,
  createAccount,
  createApiToken,
  createSession,
} from '@swarmcast/catalog';
import { type Clock, type Db, migrate, openDb } from '@swarmcast/platform';
import type { AdsAuth } from '../src/index.ts';

export const testCookie = 'test_session';

export interface TestAccounts {
  db: Db;
  auth: AdsAuth;
  /** A new account of `role`: its API token and a web session cookie value. */
  account(role: 'advertiser' | 'admin' | 'creator'): Promise<{ id: string; token: string; session: string }>;
  close(): Promise<void>;
}

export async function testAccounts(clock: Clock): Promise<TestAccounts> {
  const db = await openDb({ inMemory: true, migrations: catalogMigrations });
  await migrate(db, catalogMigrations);
  let n = 0;
  return {
    db,
    auth: async (req) => {
      const header = req.headers.authorization;
      if (header?.startsWith('Bearer ')) {
        const a = await authenticate(db, header.slice(7), 'api', clock);
        return a && { accountId: a.id, role: a.role, via: 'token' };
      }
      const m = new RegExp(`(?:^|; )${testCookie}=([^;]+)`).exec(String(req.headers.cookie ?? ''));
      const a = m ? await authenticate(db, m[1]!, 'web', clock) : null;
      return a && { accountId: a.id, role: a.role, via: 'session' };
    },
    async account(role) {
      const made = await createAccount(db, {
        email: `${role}-${++n}@example.org`,
        name: `${role} ${n}`,
        password: 'correct horse battery',
        role,
      });
      if (!made.ok) throw new Error(made.message);
      return {
        id: made.value.id,
        token: await createApiToken(db, made.value.id, 'test'),
        session: await createSession(db, made.value.id, clock),
      };
    },
    close: () => db.close(),
  };
}
