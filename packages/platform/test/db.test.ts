import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, type Migration, migrate, openDb, PlatformError } from '../src/index.ts';

/**
 * One suite, both engines: PGlite in a temp dir and the real PostgreSQL on 127.0.0.1 (a
 * fresh database per run, dropped after). Whatever passes here behaves the same in a
 * laptop node and in production.
 */
const pgPrereq = await requireServices('db suite on PostgreSQL', 'postgres');

interface Engine {
  name: 'pglite' | 'postgres';
  skip: boolean;
  /** Opens another handle on the same database (another "process" for PostgreSQL). */
  open(): Promise<Db>;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

function pgliteEngine(): Engine {
  let dir: { path: string; remove(): Promise<void> } | undefined;
  return {
    name: 'pglite',
    skip: false,
    async setup() {
      dir = await scratchDir('swarmcast-db-');
    },
    open: () => openDb({ dataDir: dir!.path }),
    async teardown() {
      await dir?.remove();
    },
  };
}

function postgresEngine(): Engine {
  let scratch: Awaited<ReturnType<typeof scratchPostgres>> | undefined;
  return {
    name: 'postgres',
    skip: pgPrereq.skip,
    async setup() {
      scratch = await scratchPostgres('swarmcast_platform');
    },
    open: () => openDb({ databaseUrl: scratch!.url }),
    async teardown() {
      await scratch?.drop();
    },
  };
}

const shows: Migration = {
  id: 'test/0001-shows',
  sql: `CREATE TABLE shows (id serial PRIMARY KEY, slug text UNIQUE NOT NULL, plays int8 NOT NULL DEFAULT 0);
        CREATE INDEX shows_plays ON shows (plays);`,
};
const episodes: Migration = {
  id: 'test/0002-episodes',
  sql: `CREATE TABLE episodes (id serial PRIMARY KEY, show_id int NOT NULL REFERENCES shows(id), title text NOT NULL)`,
};

for (const engine of [pgliteEngine(), postgresEngine()]) {
  describe.skipIf(engine.skip)(`database on ${engine.name}`, () => {
    let db: Db;
    beforeAll(async () => {
      await engine.setup();
      db = await engine.open();
    });
    afterAll(async () => {
      await db?.close();
      await engine.teardown();
    });

    it('reports its engine', () => {
      expect(db.engine).toBe(engine.name);
    });

    it.skipIf(engine.name !== 'pglite')(
      'runs PGlite with a 16MB buffer pool and keeps the settings initdb wrote',
      async () => {
        const show = async (name: string) =>
          Object.values((await db.query<Record<string, string>>(`show ${name}`)).rows[0]!)[0];
        expect(await show('shared_buffers')).toBe('16MB');
        expect(await show('timezone')).toBe('UTC');
        expect(await show('default_text_search_config')).toBe('pg_catalog.english');
      },
    );

    it('migrates in order, once, and records each id', async () => {
      const first = await migrate(db, [shows, episodes]);
      expect(first).toEqual({ applied: [shows.id, episodes.id], skipped: [] });
      const again = await migrate(db, [shows, episodes]);
      expect(again).toEqual({ applied: [], skipped: [shows.id, episodes.id] });
      const { rows } = await db.query<{ id: string }>('SELECT id FROM swarmcast_migrations ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual([shows.id, episodes.id]);
    });

    it('refuses an applied migration whose SQL was edited', async () => {
      const edited = { ...shows, sql: `${shows.sql} -- tweak` };
      const err = await migrate(db, [edited]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlatformError);
      expect((err as PlatformError).code).toBe('PLT_MIGRATION_CHANGED');
      expect((err as Error).message).toContain(shows.id);
    });

    it('refuses duplicate ids before touching the database', async () => {
      const err = await migrate(db, [shows, shows]).catch((e: unknown) => e);
      expect((err as PlatformError).code).toBe('PLT_MIGRATION_DUPLICATE');
    });

    it('rolls back every migration of a call when one fails', async () => {
      const good: Migration = { id: 'test/0003-good', sql: 'CREATE TABLE good_one (x int)' };
      const bad: Migration = { id: 'test/0004-bad', sql: 'CREATE TABLE broken (x nosuchtype)' };
      await expect(migrate(db, [shows, episodes, good, bad])).rejects.toThrow(/test\/0004-bad/);
      const { rows } = await db.query(`SELECT to_regclass('good_one') AS t`);
      expect(rows[0]?.t).toBeNull();
      const ids = await db.query<{ id: string }>('SELECT id FROM swarmcast_migrations ORDER BY id');
      expect(ids.rows.map((r) => r.id)).toEqual([shows.id, episodes.id]);
    });

    it('queries with $n parameters and counts affected rows', async () => {
      const ins = await db.query('INSERT INTO shows (slug, plays) VALUES ($1, $2), ($3, $4)', [
        'a',
        5,
        "b'; DROP TABLE shows; --",
        7,
      ]);
      expect(ins.affectedRows).toBe(2);
      const sel = await db.query<{ slug: string; plays: number }>(
        'SELECT slug, plays FROM shows WHERE plays > $1 ORDER BY plays',
        [4],
      );
      expect(sel.rows).toEqual([
        { slug: 'a', plays: 5 },
        { slug: "b'; DROP TABLE shows; --", plays: 7 },
      ]);
      const upd = await db.query('UPDATE shows SET plays = plays + 1');
      expect(upd.affectedRows).toBe(2);
    });

    it('returns the same value types on both engines', async () => {
      const { rows } = await db.query(
        `SELECT 9007199254740991::int8 AS big, count(*) AS n, 1.25::numeric AS dec, 3::int4 AS i,
                '2026-03-04'::date AS day, '2026-03-04T05:06:07.123Z'::timestamptz AS at,
                '2026-03-04 05:06:07'::timestamp AS naive,
                '{"a":[1,2]}'::jsonb AS j, '\\x00ff'::bytea AS b, true AS t, NULL::text AS nothing
         FROM shows`,
      );
      const r = rows[0]!;
      expect(r.big).toBe(9007199254740991);
      expect(r.n).toBe(2);
      expect(r.dec).toBe('1.25');
      expect(r.i).toBe(3);
      expect((r.day as Date).toISOString()).toBe('2026-03-04T00:00:00.000Z');
      expect((r.at as Date).toISOString()).toBe('2026-03-04T05:06:07.123Z');
      expect((r.naive as Date).toISOString()).toBe('2026-03-04T05:06:07.000Z');
      expect(r.j).toEqual({ a: [1, 2] });
      expect(r.b).toBeInstanceOf(Uint8Array);
      expect([...(r.b as Uint8Array)]).toEqual([0, 255]);
      expect(r.t).toBe(true);
      expect(r.nothing).toBeNull();
    });

    it('refuses an int8 beyond 2^53 instead of rounding it', async () => {
      await expect(db.query('SELECT 9007199254740993::int8 AS x')).rejects.toThrow(/PLT_DB_VALUE_RANGE/);
    });

    it('commits a transaction and rolls one back when it throws', async () => {
      const id = await db.transaction(async (tx) => {
        const r = await tx.query<{ id: number }>('INSERT INTO shows (slug) VALUES ($1) RETURNING id', [
          'tx1',
        ]);
        await tx.query('INSERT INTO episodes (show_id, title) VALUES ($1, $2)', [r.rows[0]!.id, 'ep']);
        return r.rows[0]!.id;
      });
      expect(typeof id).toBe('number');
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO shows (slug) VALUES ($1)', ['tx2']);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      const { rows } = await db.query<{ slug: string }>(
        "SELECT slug FROM shows WHERE slug LIKE 'tx%' ORDER BY slug",
      );
      expect(rows.map((r) => r.slug)).toEqual(['tx1']);
    });

    it('rolls back a transaction whose statement fails, leaving the handle usable', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO shows (slug) VALUES ($1)', ['dup']);
          await tx.query('INSERT INTO shows (slug) VALUES ($1)', ['dup']);
        }),
      ).rejects.toThrow(/duplicate key|unique/i);
      const { rows } = await db.query("SELECT count(*) AS n FROM shows WHERE slug = 'dup'");
      expect(rows[0]?.n).toBe(0);
    });

    it('keeps a transaction isolated from queries running beside it', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const tx = db.transaction(async (t) => {
        await t.query('INSERT INTO shows (slug) VALUES ($1)', ['inflight']);
        await gate;
      });
      const outside = db.query("SELECT count(*) AS n FROM shows WHERE slug = 'inflight'");
      // The outside read must not see the uncommitted row (PGlite queues it behind the
      // transaction; PostgreSQL runs it on another connection under READ COMMITTED).
      const early = await Promise.race([outside, new Promise((r) => setTimeout(() => r('waiting'), 50))]);
      release();
      await tx;
      const seen = early === 'waiting' ? await outside : early;
      const n = (seen as { rows: { n: number }[] }).rows[0]!.n;
      expect(n === 0 || early === 'waiting').toBe(true);
      const after = await db.query("SELECT count(*) AS n FROM shows WHERE slug = 'inflight'");
      expect(after.rows[0]?.n).toBe(1);
    });

    it('runs several statements with exec()', async () => {
      await db.exec(`CREATE TABLE scratch_a (x int); INSERT INTO scratch_a VALUES (1), (2);`);
      const { rows } = await db.query('SELECT sum(x) AS s FROM scratch_a');
      expect(rows[0]?.s).toBe(3);
    });

    it('applies each migration once when several handles migrate at once', async () => {
      const handles = engine.name === 'postgres' ? await Promise.all([1, 2, 3].map(() => engine.open())) : [];
      try {
        const targets = handles.length > 0 ? handles : [db, db, db];
        const counter: Migration = {
          id: 'test/0005-counter',
          sql: `CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (1);`,
        };
        const results = await Promise.all(targets.map((h) => migrate(h, [shows, episodes, counter])));
        expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 1]);
        const { rows } = await db.query('SELECT count(*) AS n FROM counter');
        expect(rows[0]?.n).toBe(1);
      } finally {
        await Promise.all(handles.map((h) => h.close()));
      }
    });
  });
}

describe('database on pglite: files and locking', () => {
  it('persists under <dataDir>/db across reopen and refuses a second open of the same dir', async () => {
    const dir = await scratchDir('swarmcast-db-');
    try {
      const a = await openDb({ dataDir: dir.path });
      await a.exec('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
      const err = await openDb({ dataDir: dir.path }).catch((e: unknown) => e);
      expect((err as PlatformError).code).toBe('PLT_DB_LOCKED');
      await a.close();
      await expect(a.query('SELECT 1')).rejects.toThrow(/PLT_DB_CLOSED/);
      const b = await openDb({ dataDir: dir.path });
      const { rows } = await b.query('SELECT v FROM kept');
      expect(rows).toEqual([{ v: 'still here' }]);
      await b.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('database on pglite: a template instead of initdb (SWARMCAST_PGLITE_TEMPLATE)', () => {
  it('builds the template once and gives every new database, on disk or in memory, its own copy', async () => {
    const dir = await scratchDir('swarmcast-db-template-');
    const before = process.env.SWARMCAST_PGLITE_TEMPLATE;
    process.env.SWARMCAST_PGLITE_TEMPLATE = join(dir.path, 'template');
    try {
      const a = await openDb({ dataDir: join(dir.path, 'a') });
      const ready = join(dir.path, 'template', 'ready');
      expect((await stat(join(ready, 'data.tar'))).size).toBeGreaterThan(0);
      expect(await readdir(join(dir.path, 'template'))).toEqual(['ready']);
      const templateFiles = (await readdir(join(ready, 'data'), { recursive: true })).length;
      const b = await openDb({ dataDir: join(dir.path, 'b') });
      const m = await openDb({ inMemory: true });
      await a.exec('CREATE TABLE only_a (v text); INSERT INTO only_a VALUES ($$a$$)');
      await m.exec('CREATE TABLE only_m (v text)');
      // Each database is its own: nothing written to one shows in another or in the template.
      await expect(b.query('SELECT v FROM only_a')).rejects.toThrow(/only_a/);
      await expect(b.query('SELECT 1 FROM only_m')).rejects.toThrow(/only_m/);
      await expect(m.query('SELECT v FROM only_a')).rejects.toThrow(/only_a/);
      expect((await readdir(join(ready, 'data'), { recursive: true })).length).toBe(templateFiles);
      await Promise.all([a.close(), b.close(), m.close()]);
      // A copied database persists like any other.
      const again = await openDb({ dataDir: join(dir.path, 'a') });
      expect((await again.query('SELECT v FROM only_a')).rows).toEqual([{ v: 'a' }]);
      await again.close();
    } finally {
      if (before === undefined) delete process.env.SWARMCAST_PGLITE_TEMPLATE;
      else process.env.SWARMCAST_PGLITE_TEMPLATE = before;
      await dir.remove();
    }
  });
});
