import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type StatementBundle, type StatementKeys, verifyStatementBundle } from '@swarmcast/measure';
import { formatMoney } from '@swarmcast/platform';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast verify-statement <statement.json> [--keys <file|url>] [--json]

Checks a signed daily statement downloaded from a node (GET
/api/measure/statements/campaign/<id>?day=YYYY-MM-DD, or .../episode/<id>) without trusting
the node: the Ed25519 signature under the node's published key, every leaf's Merkle inclusion
proof against the signed root (RFC 9162), that no leaf is missing, and that the counts and the
total recomputed from the leaves are the signed ones. Prints the invoice line it recomputed.
An advertiser's view of an episode's statement (...&advertiser=<id>) holds only its leaves:
the signature and their proofs are checked and the result says PARTIAL.
Exits 0 when every check passes, 1 otherwise. The algorithm: docs/verifiable-statements.md.

  --keys <file|url>  the node's published keys (/.well-known/swarmcast-statements.json), saved
                     or fetched; default: fetched from the URL the statement names
  --json             print the result as JSON`;

async function load(ref: string): Promise<unknown> {
  if (/^https?:\/\//.test(ref)) {
    const res = await fetch(ref);
    if (!res.ok) throw new UsageError(`${ref}: HTTP ${res.status}`);
    return res.json();
  }
  return JSON.parse(await readFile(ref, 'utf8'));
}

const command: Command = {
  summary: 'verify a signed daily statement (invoice) and its Merkle proofs',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { keys: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError(usage);
    const bundle = (await load(positionals[0] as string)) as StatementBundle;
    const keysRef = values.keys ?? bundle.keys;
    if (typeof keysRef !== 'string' || !keysRef)
      throw new UsageError('the statement names no keys URL: pass --keys');
    const keys = (await load(keysRef)) as StatementKeys;
    const v = verifyStatementBundle(bundle, keys);
    const s = bundle.statement;
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ ...v, statement: s, keys: keysRef }, null, 2)}\n`);
    } else {
      io.stdout.write(
        `${s?.kind} ${s?.subject} on ${s?.day} (${s?.account}), key ${s?.keyId} from ${keysRef}\n` +
          `recomputed from ${bundle.leaves?.length ?? 0} leaves: ${v.counts.impressions} impressions, ` +
          `${v.counts.deliveries} server-side deliveries, ${v.counts.refunds} refunds, ` +
          `total ${formatMoney(v.totalMicros, s?.currency ?? 'EUR')} (${v.totalMicros} micros)\n`,
      );
      if (v.ok && v.partial)
        io.stdout.write(
          `PARTIAL OK: signature and the inclusion proofs of these ${bundle.leaves.length} of ${s.leafCount} leaves ` +
            `(advertiser ${bundle.only?.advertiser}'s only) verified; the signed counts and total cover every ` +
            'advertiser and cannot be recomputed from them\n',
        );
      else if (v.ok) io.stdout.write('OK: signature, every inclusion proof, counts and total verified\n');
      else io.stdout.write(`FAILED:\n${v.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    }
    return v.ok ? exitCode.ok : exitCode.failure;
  },
};
export default command;
