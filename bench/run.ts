/**
 * `npm run bench [part...]`: runs every packages/<part>/bench/*.bench.ts in turn, each
 * in its own process so that one benchmark's heap and sockets cannot skew the next.
 * Each benchmark runs ours and the reference side by side in one run and prints ratios;
 * results also go to bench/results/<part>-<name>.json for the notes and reports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const only = process.argv.slice(2);
const parts = readdirSync(join(root, 'packages')).filter((p) => only.length === 0 || only.includes(p));
const benches = parts.flatMap((part) => {
  const dir = join(root, 'packages', part, 'bench');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => ({ part, file: join(dir, f) }));
});

if (benches.length === 0) {
  console.log(`no benchmarks${only.length ? ` for ${only.join(', ')}` : ''}`);
  process.exit(0);
}
let failed = 0;
for (const { part, file } of benches) {
  console.log(`\n### ${part}: ${file.slice(root.length + 1)}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
