import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './scratch.ts';

const run = promisify(execFile);

/** A PostgreSQL cluster this test owns: its own data directory and port, restartable. */
export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server at once (`-m immediate`: clients see their connections reset). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  remove(): Promise<void>;
}

/** The directory of initdb/pg_ctl (Debian keeps them out of PATH), or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/**
 * initdb refuses to run as root: as root the cluster runs as the `postgres` system user
 * through runuser; as anyone else, as that user.
 */
async function asOwner(bin: string, args: string[]): Promise<void> {
  if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', bin, ...args]);
  else await run(bin, args);
}

/**
 * Creates and starts a throwaway PostgreSQL cluster on a free port (trust authentication,
 * loopback only), so a test can restart or stop the database under load without touching
 * the shared server on 5432.
 */
export async function ownPostgres(): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const parent = await mkdtemp(join(tmpdir(), 'swarmcast-pg-'));
  await chmod(parent, 0o777);
  const data = join(parent, 'data');
  if (process.getuid?.() === 0) await run('chown', ['postgres', parent]);
  await asOwner(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${parent} -c fsync=off`;
  const pgCtl = join(bin, 'pg_ctl');
  const start = () =>
    asOwner(pgCtl, ['-D', data, '-o', options, '-l', join(parent, 'log'), '-w', '-t', '60', 'start']);
  const stop = () => asOwner(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
  await start();
  let removed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async remove() {
      if (removed) return;
      removed = true;
      await stop().catch(() => {});
      await rm(parent, { recursive: true, force: true });
    },
  };
}
