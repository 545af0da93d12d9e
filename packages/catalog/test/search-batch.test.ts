import type { Db, Queryable } from '@swarmcast/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createShow, search } from '../src/index.ts';
import { engines } from './engines.ts';

const all = await engines('batched search');

/** The database as search() sees it, counting its statements; `fail` makes some throw. */
function counting(db: Db, fail: (sql: string, params?: unknown[]) => boolean = () => false) {
  const seen = { statements: 0 };
  const q: Queryable = {
    query(sql, params) {
      seen.statements++;
      if (fail(sql, params)) return Promise.reject(new Error('refused by the test'));
      return db.query(sql, params);
    },
  };
  return { q, seen };
}

const words = ['harbour', 'lighthouse', 'orchard', 'glacier', 'meadow', 'volcano', 'canyon', 'lagoon'];

for (const engine of all) {
  describe.skipIf(engine.skip)(`batched search on ${engine.name}`, () => {
    let db: Db;

    beforeAll(async () => {
      db = await engine.open();
      const a = await createAccount(db, {
        email: 'b@example.org',
        name: 'B',
        password: 'correct horse battery',
      });
      if (!a.ok) throw new Error('setup');
      for (const w of words) {
        const s = await createShow(db, a.value, {
          slug: `${w}-show`,
          title: `The ${w} hour`,
          description: w,
        });
        if (!s.ok) throw new Error('setup');
      }
    });
    afterAll(async () => {
      await db?.close();
      await engine.teardown();
    });

    it('answers concurrent searches in a few statements, each with its own hits', async () => {
      const alone = [];
      for (const w of words) alone.push(await search(db, w));
      expect(alone.map((hits) => hits.map((h) => h.slug))).toEqual(words.map((w) => [`${w}-show`]));

      const { q, seen } = counting(db);
      const queries = [...words, 'hour', 'nothing-matches-this', 'lagoon harbour', 'glac'];
      const together = await Promise.all(queries.map((w) => search(q, w)));
      expect(together.slice(0, words.length)).toEqual(alone);
      expect(together[words.length]!.map((h) => h.slug).sort()).toEqual(words.map((w) => `${w}-show`).sort());
      expect(together[words.length + 1]).toEqual([]);
      expect(together[words.length + 2]).toEqual([]);
      expect(together[words.length + 3]!.map((h) => h.slug)).toEqual(['glacier-show']);
      // One statement for the lot (PGlite runs one at a time; PostgreSQL may start a few).
      expect(seen.statements).toBeLessThanOrEqual(engine.name === 'pglite' ? 1 : 4);
    });

    it('limits and live-at times are per search', async () => {
      const { q } = counting(db);
      const [one, many] = await Promise.all([search(q, 'hour', 1), search(q, 'hour', 40)]);
      expect(one).toHaveLength(1);
      expect(many).toHaveLength(words.length);
    });

    it("a statement that fails is retried search by search: one search's failure is its own", async () => {
      // The batch fails whenever it holds the poisoned text; alone, only that search fails.
      const { q } = counting(db, (_sql, params) => JSON.stringify(params).includes('poison'));
      const results = await Promise.allSettled([
        search(q, 'orchard'),
        search(q, 'poison'),
        search(q, 'meadow'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(
        (results[0] as PromiseFulfilledResult<Array<{ slug: string }>>).value.map((h) => h.slug),
      ).toEqual(['orchard-show']);
      expect(
        (results[2] as PromiseFulfilledResult<Array<{ slug: string }>>).value.map((h) => h.slug),
      ).toEqual(['meadow-show']);
    });
  });
}
