import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exportPublicKey } from '@swarmcast/ads';
import { type RingEntry, readSigningKeys, rotateSigningKey } from '@swarmcast/node';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast keys list [--data DIR]
swarmcast keys rotate [--data DIR] [--in SECONDS] [--keep HOURS]

The ad server's decision-signing keys, in <DIR>/ads-signing-key.jwk.json (shared by every
process of the network through the shared data folder). Safe while the node runs, on one
process or many: "rotate" adds a key that starts signing --in seconds from now (default
120); every process re-reads the file every 15 s, so all of them verify the new key before
any signs with it, and all switch at that instant. Old keys keep verifying tokens signed
before (they live 6 h) until they were retired --keep hours ago (default 24), when the next
rotation drops them. "list" prints each key's id, state and public half (never the private).

  --data DIR     the node's data directory (default ./.data)
  --in SECONDS   delay before the new key signs (at least 30: two reloads; default 120)
  --keep HOURS   keep retired keys this long (at least 6, the token lifetime; default 24)`;

function describe(entries: readonly RingEntry[], now: number): string {
  const activeIndex = entries.reduce((a, e, i) => (e.activeFrom <= now ? i : a), 0);
  return entries
    .map((e, i) => {
      const state =
        i === activeIndex
          ? 'active'
          : i > activeIndex
            ? `next, signs from ${new Date(e.activeFrom).toISOString()}`
            : `retired ${new Date(entries[i + 1]!.activeFrom).toISOString()}, verifies only`;
      return `${e.key.keyId}\t${state}\t${exportPublicKey(e.key.keyId, e.key.publicKey).x}\n`;
    })
    .join('');
}

const command: Command = {
  summary: 'list or rotate the ad decision-signing keys (safe while the node runs)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string', default: './.data' },
        in: { type: 'string' },
        keep: { type: 'string' },
      },
    });
    const [action] = positionals;
    if ((action !== 'list' && action !== 'rotate') || positionals.length !== 1)
      throw new UsageError('give "list" or "rotate"');
    const dataDir = resolve(values.data);
    const now = Date.now();
    try {
      if (action === 'list') {
        io.stdout.write(describe(await readSigningKeys(dataDir), now));
        return exitCode.ok;
      }
      const inSeconds = values.in === undefined ? 120 : Number(values.in);
      if (!Number.isFinite(inSeconds) || inSeconds < 30 || inSeconds > 86_400)
        throw new UsageError('--in must be seconds from 30 to 86400');
      const keepHours = values.keep === undefined ? 24 : Number(values.keep);
      if (!Number.isFinite(keepHours) || keepHours < 6 || keepHours > 24 * 365)
        throw new UsageError('--keep must be hours from 6 to 8760');
      const r = await rotateSigningKey(dataDir, now, {
        activateInMs: inSeconds * 1000,
        keepRetiredMs: keepHours * 3_600_000,
      });
      io.stdout.write(
        `added ${r.added.key.keyId}, signing from ${new Date(r.added.activeFrom).toISOString()}` +
          (r.dropped.length > 0 ? `; dropped ${r.dropped.join(', ')}` : '') +
          `\n${describe(r.entries, now)}`,
      );
      return exitCode.ok;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      io.stderr.write(
        code === 'ENOENT'
          ? `swarmcast keys: no signing keys in ${dataDir} (start the node once first)\n`
          : `swarmcast keys: ${(err as Error).message}\n`,
      );
      return exitCode.failure;
    }
  },
};
export default command;
