/**
 * The origin's side of a takedown (catalog takedown.ts): the files of taken-down episodes,
 * and of every episode of a taken-down show, are answered 410 Gone, not served. The list is read from the catalog at most every few
 * seconds per database (the hot path never waits on a query otherwise), and at once after
 * an admin of this process takes something down.
 */
import { catalogErrors, takenDownMediaPaths } from '@swarmcast/catalog';
import type { Queryable } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';

const maxAgeMs = 5_000;
const lists = new WeakMap<
  Queryable,
  { paths: Set<string>; at: number; loading: Promise<Set<string>> | null }
>();

async function takenDownPaths(db: Queryable, now: number): Promise<Set<string>> {
  let l = lists.get(db);
  if (!l) {
    l = { paths: new Set(), at: -Infinity, loading: null };
    lists.set(db, l);
  }
  if (now - l.at < maxAgeMs) return l.paths;
  const entry = l;
  entry.loading ??= takenDownMediaPaths(db)
    .then((rows) => {
      entry.paths = new Set(rows.map((p) => `/media/${p}`));
      entry.at = Date.now();
      return entry.paths;
    })
    .finally(() => {
      entry.loading = null;
    });
  return entry.loading;
}

/** Forget the cached list (after a takedown or reinstatement here). */
export function takedownsChanged(db: Queryable): void {
  lists.delete(db);
}

/** 410 for the media of taken-down episodes, before the origin serves anything. */
export function refuseTakenDownMedia(app: FastifyInstance, db: Queryable): void {
  app.addHook('onRequest', async (req, reply) => {
    const url = req.raw.url ?? '';
    if (!url.startsWith('/media/')) return;
    const q = url.indexOf('?');
    let path = q >= 0 ? url.slice(0, q) : url;
    try {
      path = decodeURIComponent(path);
    } catch {
      return;
    }
    if ((await takenDownPaths(db, Date.now())).has(path))
      return reply
        .code(410)
        .header('cache-control', 'no-store')
        .send({ code: 'CAT_TAKEN_DOWN', message: catalogErrors.CAT_TAKEN_DOWN.meaning });
  });
}
