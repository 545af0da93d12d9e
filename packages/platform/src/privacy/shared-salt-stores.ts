/**
 * Daily salts shared by every process of a node, outside the relational database (so no
 * dump or backup of it holds them):
 *
 * - `redisSaltStore`: `SET key salt PX <until destroy> NX`, then `GET`: whoever wins the race,
 *   all processes read one salt, and Redis deletes it at its destroy time by itself.
 * - `fileSaltStore`: the embedded node's; `<dir>/<day>.salt` created exclusively (O_EXCL,
 *   mode 0600), then read back. A sweep (on every new day's salt and every minute) overwrites
 *   each file past its destroy time with random bytes, syncs, and removes it.
 *
 * Both keep what they read in a per-process cache that forgets a salt at its destroy time
 * too. The destroy time is fixed: `saltDestroyAt(day)` (salt-store.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { checkDay, type RandomBytes, type SaltStore, saltDestroyAt } from './salt-store.ts';

interface Options {
  random?: RandomBytes;
  now?: () => number;
}

/** A per-process cache of salts that forgets each at its destroy time. */
function cached(
  load: (day: string) => Promise<Uint8Array>,
  o: Options,
): (day: string) => Promise<Uint8Array> {
  const now = o.now ?? Date.now;
  const random = o.random ?? randomBytes;
  // Each with its destroy time, computed once: this runs for every beacon and fact, and
  // checking and parsing the day strings on each call was ~1 us of it.
  const cache = new Map<string, { salt: Promise<Uint8Array>; destroyAt: number }>();
  return (day) => {
    const t = now();
    for (const [d, c] of cache) if (c.destroyAt <= t) cache.delete(d);
    const hit = cache.get(day);
    if (hit) return hit.salt;
    checkDay(day);
    const destroyAt = saltDestroyAt(day);
    // A destroyed day's salt is never recreated: a fresh random one, stored nowhere.
    if (destroyAt <= t) return Promise.resolve(random(32));
    const salt = load(day);
    cache.set(day, { salt, destroyAt });
    salt.catch(() => {
      if (cache.get(day)?.salt === salt) cache.delete(day);
    });
    return salt;
  };
}

export function redisSaltStore(
  redis: Redis,
  o: Options & { prefix?: string; owned?: boolean } = {},
): SaltStore {
  const now = o.now ?? Date.now;
  const random = o.random ?? randomBytes;
  const prefix = o.prefix ?? 'swarmcast:salt:';
  const saltFor = cached(async (day) => {
    const key = `${prefix}${day}`;
    const ttl = saltDestroyAt(day) - now();
    await redis.set(key, Buffer.from(random(32)), 'PX', Math.max(1, ttl), 'NX');
    const salt = await redis.getBuffer(key);
    if (!salt || salt.length !== 32) throw new Error(`salt for ${day} missing in Redis`);
    return new Uint8Array(salt);
  }, o);
  return {
    saltFor,
    async close() {
      if (o.owned) redis.disconnect();
    },
  };
}

const saltFile = /^(\d{4}-\d{2}-\d{2})\.salt$/;

/** Overwrites a file with random bytes, syncs it, and removes it. */
async function shred(path: string, random: RandomBytes): Promise<void> {
  const f = await open(path, 'r+').catch(() => null);
  if (f) {
    try {
      const { size } = await f.stat();
      await f.write(random(Math.max(size, 32)), 0, Math.max(size, 32), 0);
      await f.sync();
    } finally {
      await f.close();
    }
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

export function fileSaltStore(
  dir: string,
  o: Options & { sweepEveryMs?: number } = {},
): SaltStore & { sweep(): Promise<string[]> } {
  const now = o.now ?? Date.now;
  const random = o.random ?? randomBytes;
  const sweep = async (): Promise<string[]> => {
    const removed: string[] = [];
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const m = saltFile.exec(name);
      if (!m || saltDestroyAt(m[1] as string) > now()) continue;
      await shred(join(dir, name), random);
      removed.push(m[1] as string);
    }
    return removed;
  };
  const saltFor = cached(async (day) => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${day}.salt`);
    await writeFile(path, random(32), { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await sweep();
    let salt = await readFile(path);
    // Another process may have created the file an instant ago and not written it yet.
    for (let i = 0; salt.length < 32 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 10));
      salt = await readFile(path);
    }
    if (salt.length !== 32) throw new Error(`salt file for ${day} is damaged`);
    return new Uint8Array(salt);
  }, o);
  const timer = setInterval(() => void sweep().catch(() => undefined), o.sweepEveryMs ?? 60_000);
  timer.unref();
  return {
    saltFor,
    sweep,
    async close() {
      clearInterval(timer);
    },
  };
}

/**
 * The node's salt store: Redis when `redisUrl` is set (shared by every process and node
 * using it), else files under `<dataDir>/salts` (shared by the processes of one node).
 */
export function openSaltStore(o: {
  redisUrl?: string | null | undefined;
  dataDir: string;
  /** The node's clock (destroy times follow it). */
  now?: () => number;
  /** Redis key prefix of the salts (default `swarmcast:salt:`; a second network needs its own). */
  redisPrefix?: string | undefined;
}): SaltStore {
  const opts = o.now ? { now: o.now } : {};
  if (o.redisUrl) {
    // Required here, not imported: a node without Redis should not load the client (~8 MiB).
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    return redisSaltStore(new Redis(o.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 }), {
      ...opts,
      ...(o.redisPrefix ? { prefix: o.redisPrefix } : {}),
      owned: true,
    });
  }
  return fileSaltStore(join(o.dataDir, 'salts'), opts);
}
