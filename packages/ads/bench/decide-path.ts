/**
 * CPU per ad decision inside the process, no HTTP: decideBreak over the bench's inventory
 * (decide.bench.ts fixtures: 1,000 line items, 500 requests) and, with `--encode`, the
 * answer's UTF-8 length and bytes as the socket write needs them. Rounds of N decisions;
 * each prints CPU microseconds per decision (the first round includes warm-up).
 * Profile: node --cpu-prof --import tsx packages/ads/bench/decide-path.ts
 * `--batch=N` signs N decisions' pods together, as the HTTP route does for the requests of
 * one event-loop turn (batch-signer.ts); without it each pod is signed alone.
 * usage: decide-path.ts [decisions per round (3000)] [rounds (4)] [--encode] [--batch=N]
 */
import { loadavg } from 'node:os';
import { type BreakAnswer, type DecideDeps, decideBreak, decideBreakShared } from '../src/decide.ts';
import { BatchSigner, generateSigningKey } from '../src/index.ts';
import { benchDeps, buildStore, byId, requests } from './decide.bench.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const encode = process.argv.includes('--encode');
const batch = Number(process.argv.find((a) => a.startsWith('--batch='))?.slice(8) ?? 0);
// The default turn (setImmediate), as in the server: it runs once the loop below awaits.
const signer = new BatchSigner();
const perRound = Number(args[0] ?? 3000);
const rounds = Number(args[1] ?? 4);
const key = generateSigningKey('bench');
const deps: DecideDeps = benchDeps(buildStore(), key);
const queries = requests.map((r) => new URLSearchParams(r.path!.split('?')[1]));
for (let round = 0; round < rounds; round++) {
  const before = process.cpuUsage();
  let bytes = 0;
  const count = (answer: BreakAnswer) => {
    if (encode) bytes += Buffer.byteLength(answer.vast) + Buffer.from(answer.vast).length;
  };
  const pending: Promise<void>[] = [];
  for (let i = 0; i < perRound; i++) {
    const q = queries[i % queries.length]!;
    const req = {
      episode: byId.get(q.get('episode')!)!,
      breakId: q.get('break')!,
      listenerId: q.get('lid'),
      country: 'DE',
      device: 'phone' as const,
      now: Date.now(),
    };
    if (batch <= 0) count(decideBreak(deps, req));
    else {
      pending.push(decideBreakShared(deps, req, signer.sign).then(count));
      // One "turn" every `batch` requests: sign them together, then let their answers render.
      if ((i + 1) % batch === 0 || i === perRound - 1) await Promise.all(pending.splice(0));
    }
  }
  const cpu = process.cpuUsage(before);
  console.log(
    `round ${round + 1}: ${((cpu.user + cpu.system) / perRound).toFixed(1)} us CPU per decision${encode ? ` (encoded, ${bytes} bytes)` : ''}${batch > 0 ? `, signed in batches of ${batch}` : ''}, load ${loadavg()[0]!.toFixed(2)}`,
  );
}
