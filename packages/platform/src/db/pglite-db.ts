import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { closableDb } from './closable-db.ts';
import type { Db, Migration, QueryResult, Transaction } from './db.ts';
import { acquireDirLock } from './dir-lock.ts';
import { migrate } from './migrate.ts';
import { sharedParsers } from './value-parsers.ts';

function wrap(target: PGlite | PgliteTransaction): Transaction {
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await target.query<R>(sql, params);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

/**
 * Postgres's buffer cache inside the WASM heap. initdb's 128MB is touched at start and so
 * was a quarter of the node's resident memory after `npm start` (RSS of PGlite alone, one
 * database: 331 MiB at 128MB, 223 at 32MB, 178 at 16MB). The files live on the host's file
 * system, whose page cache serves re-reads anyway, so a small pool costs little for an
 * embedded, single-user database. Given at start (`-c`), not written to postgresql.conf,
 * so existing data directories keep every other setting.
 */
const sharedBuffers = '16MB';

/**
 * A freshly initialised cluster to copy instead of running initdb again (tests): initdb in
 * WASM is 3-5 s of CPU per database, a copy and open about 0.5 s, a load of its tarball
 * into memory about 1 s; on a loaded 2-core machine that was 20-40 s of every node's start.
 * `SWARMCAST_PGLITE_TEMPLATE` names the directory that keeps it (vitest.config.ts sets one
 * per PGlite version); unset, every new database runs initdb as before. The template is
 * built once by whichever process needs it first and moved into place whole (a rename), so
 * parallel test processes never see half of one.
 */
async function pgliteTemplate(
  PGliteClass: typeof PGlite,
  root: string,
): Promise<{ dir: string; tar: string }> {
  const ready = join(root, 'ready');
  const found = { dir: join(ready, 'data'), tar: join(ready, 'data.tar') };
  if (
    await stat(found.tar).then(
      () => true,
      () => false,
    )
  )
    return found;
  const building = join(root, `building-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(building, { recursive: true });
  try {
    const pg = await PGliteClass.create({ dataDir: join(building, 'data') });
    const tar = await pg.dumpDataDir('none');
    await pg.close();
    await writeFile(join(building, 'data.tar'), new Uint8Array(await tar.arrayBuffer()));
    await rename(building, ready).catch(async (err: NodeJS.ErrnoException) => {
      // Another process moved its template into place first: use that one.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return found;
}

/**
 * The template after `migrations` (tests): running every part's migrations was the other
 * half of a node's start in the tests (13 s of 22 on a loaded 2-core machine, after the
 * 12 s open). Keyed by the ids and SQL of exactly these migrations, so a changed or added
 * migration builds a new one, and the caller's own migrate() then finds each applied (and
 * checks its checksum) as with any existing database. Built beside the plain template, the
 * same way (whole, by a rename).
 */
async function migratedTemplate(
  PGliteClass: typeof PGlite,
  root: string,
  migrations: readonly Migration[],
): Promise<{ dir: string; tar: string }> {
  const key = createHash('sha256');
  for (const m of migrations) key.update(`${m.id}\0${m.sql}\0`);
  const home = join(root, `migrated-${key.digest('hex').slice(0, 24)}`);
  const ready = join(home, 'ready');
  const found = { dir: join(ready, 'data'), tar: join(ready, 'data.tar') };
  if (
    await stat(found.tar).then(
      () => true,
      () => false,
    )
  )
    return found;
  const base = await pgliteTemplate(PGliteClass, root);
  const building = join(home, `building-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(building, { recursive: true });
  try {
    await cp(base.dir, join(building, 'data'), { recursive: true });
    const pg = await PGliteClass.create({
      dataDir: join(building, 'data'),
      parsers: sharedParsers,
      startParams: [...PGliteClass.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
    });
    try {
      await migrate(
        closableDb({
          engine: 'pglite',
          outer: wrap(pg),
          transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
          close: async () => {},
        }),
        migrations,
      );
      const tar = await pg.dumpDataDir('none');
      await writeFile(join(building, 'data.tar'), new Uint8Array(await tar.arrayBuffer()));
    } finally {
      await pg.close();
    }
    await rename(building, ready).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return found;
}

/** Each template's tarball, read once per process (in-memory databases load it). */
const templateTars = new Map<string, Promise<Blob>>();

/**
 * PGlite (Postgres compiled to WASM, in this process) with its files under `dir`. One
 * process per directory: a lock file refuses a second live process instead of letting two
 * WASM instances corrupt the same files. `dir` undefined means in memory (tests only).
 */
export async function openPgliteDb(dir: string | undefined, migrations?: readonly Migration[]): Promise<Db> {
  let release: (() => Promise<void>) | undefined;
  if (dir !== undefined) {
    await mkdir(dir, { recursive: true });
    release = await acquireDirLock(`${dir}.lock`);
  }
  let pg: PGlite;
  try {
    // Loaded here, not at import: the module alone is ~40 MiB of resident memory, which a
    // process on PostgreSQL, or one that needs no database (`swarmcast tracker` and each of
    // its workers), should not pay.
    const { PGlite } = await import('@electric-sql/pglite');
    const root = process.env.SWARMCAST_PGLITE_TEMPLATE;
    let loadDataDir: Blob | undefined;
    if (root) {
      const template = migrations?.length
        ? await migratedTemplate(PGlite, root, migrations)
        : await pgliteTemplate(PGlite, root);
      if (dir === undefined) {
        let tar = templateTars.get(template.tar);
        if (!tar) {
          tar = readFile(template.tar).then((b) => new Blob([new Uint8Array(b)]));
          templateTars.set(template.tar, tar);
        }
        loadDataDir = await tar;
      } else if ((await readdir(dir)).length === 0) {
        // A new database: the template's files instead of initdb. An existing one opens as is.
        await cp(template.dir, dir, { recursive: true });
      }
    }
    pg = await PGlite.create({
      ...(dir === undefined ? {} : { dataDir: dir }),
      ...(loadDataDir ? { loadDataDir } : {}),
      parsers: sharedParsers,
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
    });
  } catch (err) {
    await release?.();
    throw err;
  }
  return closableDb({
    engine: 'pglite',
    outer: wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async close() {
      await pg.close();
      await release?.();
    },
  });
}
