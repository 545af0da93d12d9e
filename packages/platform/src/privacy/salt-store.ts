import { randomBytes } from 'node:crypto';
import type { Migration } from '../db/db.ts';

/**
 * Where the daily salts of audience keys live. A salt is created (random, 32 bytes) the
 * first time a UTC day is asked for and destroyed at a fixed time, {@link saltDestroyAt}:
 * the end of its day plus {@link saltGraceMs} for events that arrive late. A day whose salt
 * is already destroyed gets a fresh random salt that is never stored, so nothing can link
 * to the destroyed one.
 *
 * Never in the relational database: `redisSaltStore` (Redis expires it on its own) or
 * `fileSaltStore` (the embedded node: a file under the data dir, overwritten and removed on
 * schedule), each shared by every process of a node; `memorySaltStore` for a lone process.
 */
export interface SaltStore {
  /** The salt of a UTC day ("YYYY-MM-DD"). */
  saltFor(day: string): Promise<Uint8Array>;
  /** Stops timers and connections the store owns. */
  close?(): Promise<void>;
}

/**
 * How long after its day ends a salt is kept: facts and beacons are keyed at the edge with
 * their own time, and may reach the edge this late (queues, clock skew). The longest window
 * that needs a day's keys is that day itself: keys change at midnight, so no window links
 * two days (docs/measurement-methodology.md, "the daily salt").
 */
export const saltGraceMs = 2 * 3_600_000;

/** When the salt of a UTC day is destroyed (ms since the epoch). */
export function saltDestroyAt(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) + 86_400_000 + saltGraceMs;
}

export type RandomBytes = (n: number) => Uint8Array;

/** The day before a "YYYY-MM-DD" day. */
export function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

export function checkDay(day: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new TypeError(`not a UTC day: ${day}`);
  }
}

/**
 * Salts in this process only: right for a lone process (one node, tests). With `now`, salts
 * are destroyed on schedule like the shared stores'; without, the asked day's start stands
 * for now (callers with their own clock, e.g. tests on a manual clock in the past).
 */
export function memorySaltStore(
  random: RandomBytes = randomBytes,
  now?: () => number,
): SaltStore & { days(): string[] } {
  // Each salt with its destroy time, computed once (see shared-salt-stores.ts' cache).
  const salts = new Map<string, { salt: Uint8Array; destroyAt: number }>();
  let latest = 0;
  const clock = () => now?.() ?? latest;
  const sweep = () => {
    const t = clock();
    for (const [d, s] of salts) if (s.destroyAt <= t) salts.delete(d);
  };
  return {
    async saltFor(day) {
      // A kept day's start is already in `latest`: only the sweep can change the answer.
      const kept = salts.get(day);
      if (kept) {
        sweep();
        if (salts.has(day)) return kept.salt;
      }
      checkDay(day);
      latest = Math.max(latest, Date.parse(`${day}T00:00:00Z`));
      sweep();
      const destroyAt = saltDestroyAt(day);
      if (destroyAt <= clock()) return random(32);
      let salt = salts.get(day)?.salt;
      if (!salt) {
        salt = random(32);
        salts.set(day, { salt, destroyAt });
      }
      return salt;
    },
    days: () => {
      sweep();
      return [...salts.keys()].sort();
    },
  };
}

export const privacyMigrations: Migration[] = [
  {
    // Historical: salts were once kept in the database. The next migration removes them.
    id: 'platform/0001-daily-salts',
    sql: `CREATE TABLE platform_daily_salts (
      day date PRIMARY KEY,
      salt bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
  {
    // Salts never live in the relational database (a dump or backup would keep them next to
    // the keys they protect): Redis with a TTL, or a file under the data dir (salt-files.ts).
    id: 'platform/0002-no-salts-in-database',
    sql: 'DROP TABLE IF EXISTS platform_daily_salts',
  },
];
