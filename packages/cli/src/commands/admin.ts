import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogMigrations, createAccount, setRoleByEmail } from '@swarmcast/catalog';
import { migrate, openDb, privacyMigrations } from '@swarmcast/platform';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast admin add --email E [--name N] [--data DIR]
swarmcast admin promote --email E [--data DIR]

An admin is an ordinary account with the admin role: it logs in at /login like anyone and
sees the Admin pages. "add" creates one (the password comes from $SWARMCAST_ADMIN_PASSWORD,
or a random one is printed once); "promote" gives an existing account the admin role.
The node's admin token keeps working for scripts.

  --email E    the account's e-mail
  --name N     display name for "add" (default: the part before @)
  --data DIR   the node's data directory (default ./.data); DATABASE_URL for PostgreSQL.
               With the embedded database, stop the node first (one process per directory).`;

const command: Command = {
  summary: 'create an admin account, or make an account admin',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        email: { type: 'string' },
        name: { type: 'string' },
        data: { type: 'string', default: './.data' },
      },
    });
    const [action] = positionals;
    if ((action !== 'add' && action !== 'promote') || positionals.length !== 1)
      throw new UsageError('give "add" or "promote"');
    const email = (values.email ?? '').trim().toLowerCase();
    if (!email.includes('@')) throw new UsageError('--email must be an e-mail address');
    let db: Awaited<ReturnType<typeof openDb>>;
    try {
      db = await openDb({ databaseUrl: io.env.DATABASE_URL, dataDir: resolve(values.data) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      io.stderr.write(
        code === 'PLT_DB_LOCKED'
          ? 'swarmcast admin: the node is running on this data directory; stop it first (or use PostgreSQL)\n'
          : `swarmcast admin: ${(err as Error).message}\n`,
      );
      return exitCode.failure;
    }
    try {
      await migrate(db, [...privacyMigrations, ...catalogMigrations]);
      if (action === 'promote') {
        if (!(await setRoleByEmail(db, email, 'admin'))) {
          io.stderr.write(`swarmcast admin: no account with the e-mail ${email}\n`);
          return exitCode.failure;
        }
        io.stdout.write(`${email} is now an admin; log in at /login\n`);
        return exitCode.ok;
      }
      const given = io.env.SWARMCAST_ADMIN_PASSWORD;
      const password = given && given.length >= 10 ? given : randomBytes(12).toString('base64url');
      const r = await createAccount(db, {
        email,
        name: values.name ?? email.split('@')[0] ?? 'admin',
        password,
        role: 'admin',
      });
      if (!r.ok) {
        io.stderr.write(`swarmcast admin: ${r.message}\n`);
        return exitCode.failure;
      }
      io.stdout.write(
        `Admin account ${email} created; log in at /login${given ? '' : ` with the password ${password} (shown once)`}\n`,
      );
      return exitCode.ok;
    } finally {
      await db.close();
    }
  },
};
export default command;
