/**
 * CPU per ad decision inside the process, no HTTP: decideBreak over the bench's inventory
 * (decide.bench.ts fixtures: 1,000 line items, 500 requests) and, with `--encode`, the
 * answer's UTF-8 length and bytes as the socket write needs them. Rounds of N decisions;
 * each prints CPU microseconds per decision (the first round includes warm-up).
 * Profile: node --cpu-prof --import tsx packages/ads/bench/decide-path.ts
 * usage: decide-path.ts [decisions per round (3000)] [rounds (4)] [--encode]
 */
import { loadavg } from 'node:os';
import { presentCreative } from '../src/creative-urls.ts';
import { type DecideDeps, decideBreak } from '../src/decide.ts';
import { generateSigningKey } from '../src/index.ts';
import { buildStore, byId, requests } from './decide.bench.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const encode = process.argv.includes('--encode');
const perRound = Number(args[0] ?? 3000);
const rounds = Number(args[1] ?? 4);
const key = generateSigningKey('bench');
let n = 0;
const deps: DecideDeps = {
  store: buildStore(),
  signingKey: () => key,
  collector: 'https://node.example',
  newId: () => `id${n++}`,
  tokenTtlMs: 3_600_000,
  adSystemVersion: 'x',
  present: (c) => presentCreative(c, 'https://node.example'),
};
const queries = requests.map((r) => new URLSearchParams(r.path!.split('?')[1]));
for (let round = 0; round < rounds; round++) {
  const before = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < perRound; i++) {
    const q = queries[i % queries.length]!;
    const answer = decideBreak(deps, {
      episode: byId.get(q.get('episode')!)!,
      breakId: q.get('break')!,
      listenerId: q.get('lid'),
      country: 'DE',
      device: 'phone',
      now: Date.now(),
    });
    if (encode) bytes += Buffer.byteLength(answer.vast) + Buffer.from(answer.vast).length;
  }
  const cpu = process.cpuUsage(before);
  console.log(
    `round ${round + 1}: ${((cpu.user + cpu.system) / perRound).toFixed(1)} us CPU per decision${encode ? ` (encoded, ${bytes} bytes)` : ''}, load ${loadavg()[0]!.toFixed(2)}`,
  );
}
