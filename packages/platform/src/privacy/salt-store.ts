import { randomBytes } from 'node:crypto';
import type { Migration, Queryable } from '../db/db.ts';

/**
 * Where the daily salts of audience keys live. A salt is created (random, 32 bytes) the
 * first time a UTC day is asked for, and every salt older than the day before the asked
 * day is deleted then: yesterday's stays for late events, anything older is destroyed.
 */
export interface SaltStore {
  /** The salt of a UTC day ("YYYY-MM-DD"). */
  saltFor(day: string): Promise<Uint8Array>;
}

export type RandomBytes = (n: number) => Uint8Array;

/** The day before a "YYYY-MM-DD" day. */
export function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

function checkDay(day: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new TypeError(`not a UTC day: ${day}`);
  }
}

/** Salts in this process only: right for a lone process (one node, tests). */
export function memorySaltStore(random: RandomBytes = randomBytes): SaltStore & { days(): string[] } {
  const salts = new Map<string, Uint8Array>();
  return {
    async saltFor(day) {
      checkDay(day);
      let salt = salts.get(day);
      if (!salt) {
        salt = random(32);
        salts.set(day, salt);
      }
      const keepFrom = dayBefore(day);
      for (const d of salts.keys()) if (d < keepFrom) salts.delete(d);
      return salt;
    },
    days: () => [...salts.keys()].sort(),
  };
}

export const privacyMigrations: Migration[] = [
  {
    id: 'platform/0001-daily-salts',
    sql: `CREATE TABLE platform_daily_salts (
      day date PRIMARY KEY,
      salt bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];

/**
 * Salts in the database, shared by every process of a deployment (run
 * `privacyMigrations` first). The first process to ask for a day creates its salt
 * (INSERT ... ON CONFLICT DO NOTHING, then read back: whoever wins, all see one salt) and
 * deletes the salts older than yesterday. Each process caches the salts it has read.
 */
export function dbSaltStore(db: Queryable, random: RandomBytes = randomBytes): SaltStore {
  const cache = new Map<string, Promise<Uint8Array>>();
  const load = async (day: string): Promise<Uint8Array> => {
    await db.query(
      'INSERT INTO platform_daily_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING',
      [day, Buffer.from(random(32))],
    );
    await db.query('DELETE FROM platform_daily_salts WHERE day < $1', [dayBefore(day)]);
    const { rows } = await db.query<{ salt: Uint8Array }>(
      'SELECT salt FROM platform_daily_salts WHERE day = $1',
      [day],
    );
    const salt = rows[0]?.salt;
    if (!salt) throw new Error(`salt for ${day} vanished between insert and select`);
    return new Uint8Array(salt);
  };
  return {
    saltFor(day) {
      checkDay(day);
      let p = cache.get(day);
      if (!p) {
        p = load(day);
        cache.set(day, p);
        p.catch(() => cache.delete(day));
        const keepFrom = dayBefore(day);
        for (const d of cache.keys()) if (d < keepFrom) cache.delete(d);
      }
      return p;
    },
  };
}
