/**
 * Portal latency under load: autocannon at 200 concurrent connections against the home
 * page, a search and an episode page of a node with the demo show (PGlite), beside
 * /healthz on the same server as the floor (Fastify and the socket, no page, no query).
 * WEB_BENCH_SECONDS (default 10) per target, WEB_BENCH_CONNECTIONS (default 200).
 * The machine is shared: compare within one run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import autocannon from 'autocannon';
import { startNode } from '../src/index.ts';

const seconds = Number(process.env.WEB_BENCH_SECONDS ?? 10);
const connections = Number(process.env.WEB_BENCH_CONNECTIONS ?? 200);

const dir = await scratchDir('swarmcast-bench-');
try {
  const node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
  const shows = (await (await fetch(new URL('/api/shows/swarmcast-demo', node.url))).json()) as {
    episodes: Array<{ id: string }>;
  };
  // "search" repeats one query (the portal's read cache answers most of them); "search
  // uncached" sends a different query every time, so each one runs the full-text search.
  const targets: Record<string, string> = {
    'floor /healthz': '/healthz',
    home: '/',
    search: '/search?q=swarm',
    'search uncached': '/search?q=swarm+[<id>]',
    episode: `/episodes/${shows.episodes[0]!.id}`,
  };
  const rows: Array<{
    target: string;
    p50: number;
    p99: number;
    rps: number;
    errors: number;
    non2xx: number;
  }> = [];
  for (const [target, path] of Object.entries(targets)) {
    const options = {
      url: new URL(path, node.url).toString(),
      connections,
      duration: seconds,
      // autocannon replaces [<id>] with a fresh random id in every request (not in its typings).
      idReplacement: target === 'search uncached',
    };
    const r = await autocannon(options);
    rows.push({
      target,
      p50: r.latency.p50,
      p99: r.latency.p99,
      rps: r.requests.average,
      errors: r.errors,
      non2xx: r.non2xx,
    });
  }
  await node.close();
  const floor = rows[0]!;
  const { loadavg } = await import('node:os');
  console.log(
    `portal at ${connections} concurrent, ${seconds} s each (latency ms; ratio = p50 / floor p50); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const r of rows) {
    console.log(
      `${r.target.padEnd(16)} p50 ${String(r.p50).padStart(5)}  p99 ${String(r.p99).padStart(5)}  req/s ${r.rps.toFixed(0).padStart(6)}  errors ${r.errors} non2xx ${r.non2xx}  ratio ${(r.p50 / Math.max(floor.p50, 1)).toFixed(1)}x`,
    );
  }
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/web-portal.json',
    `${JSON.stringify({ connections, seconds, rows }, null, 2)}\n`,
  );
} finally {
  await dir.remove();
}
