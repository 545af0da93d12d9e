/**
 * Portal latency under load: autocannon at 200 concurrent connections against the home
 * page, a search and an episode page of a node with the demo show (PGlite), beside
 * /healthz on the same server as the floor (Fastify and the socket, no page, no query).
 * The node runs in a child process (this file with `serve`), so the load generator never
 * shares its event loop; the node's CPU per request comes from /proc, which says more than
 * latency on a shared machine. WEB_BENCH_SECONDS (default 10) per target,
 * WEB_BENCH_CONNECTIONS (default 200). Each target opens its connections at once, and a
 * busy node accepts one per event-loop turn (docs/operations.md): the p99 and the
 * timeouts (errors) include that wait. The machine is shared: compare within one run.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuSeconds, scratchDir } from '@swarmcast/testkit';
import autocannon from 'autocannon';
import { startNode } from '../src/index.ts';

const seconds = Number(process.env.WEB_BENCH_SECONDS ?? 10);
const connections = Number(process.env.WEB_BENCH_CONNECTIONS ?? 200);

/** The server side: a node with the demo show; prints its URL and an episode id. */
async function serve() {
  const dir = await scratchDir('swarmcast-bench-');
  const node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
  const shows = (await (await fetch(new URL('/api/shows/swarmcast-demo', node.url))).json()) as {
    episodes: Array<{ id: string }>;
  };
  process.once('SIGINT', () => void node.close().then(() => dir.remove().then(() => process.exit(0))));
  process.stdout.write(`${JSON.stringify({ url: node.url, episode: shows.episodes[0]!.id })}\n`);
}

async function main() {
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, 'serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const node = await new Promise<{ url: string; episode: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`bench node exited with ${code}`)));
  });
  // "search" repeats one query (the portal's read cache answers most of them); "search
  // uncached" sends a different query every time, so each one runs the full-text search.
  const targets: Record<string, string> = {
    'floor /healthz': '/healthz',
    home: '/',
    search: '/search?q=swarm',
    'search uncached': '/search?q=swarm+[<id>]',
    episode: `/episodes/${node.episode}`,
  };
  const rows: Array<{
    target: string;
    p50: number;
    p99: number;
    rps: number;
    errors: number;
    non2xx: number;
    cpuUsPerRequest: number;
  }> = [];
  for (const [target, path] of Object.entries(targets)) {
    const options = {
      url: new URL(path, node.url).toString(),
      connections,
      duration: seconds,
      // autocannon replaces [<id>] with a fresh random id in every request (not in its typings).
      idReplacement: target === 'search uncached',
    };
    const before = cpuSeconds(child.pid!);
    const r = await autocannon(options);
    const cpu = cpuSeconds(child.pid!) - before;
    rows.push({
      target,
      p50: r.latency.p50,
      p99: r.latency.p99,
      rps: r.requests.average,
      errors: r.errors,
      non2xx: r.non2xx,
      cpuUsPerRequest: Math.round((cpu * 1e6) / Math.max(1, r['2xx'] + r.non2xx)),
    });
  }
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  const floor = rows[0]!;
  const { loadavg } = await import('node:os');
  console.log(
    `portal at ${connections} concurrent, ${seconds} s each (latency ms; ratio = p50 / floor p50); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const r of rows) {
    console.log(
      `${r.target.padEnd(16)} p50 ${String(r.p50).padStart(5)}  p99 ${String(r.p99).padStart(5)}  req/s ${r.rps.toFixed(0).padStart(6)}  errors ${r.errors} non2xx ${r.non2xx}  node CPU ${String(r.cpuUsPerRequest).padStart(5)} us/req  ratio ${(r.p50 / Math.max(floor.p50, 1)).toFixed(1)}x`,
    );
  }
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/web-portal.json',
    `${JSON.stringify({ connections, seconds, rows }, null, 2)}\n`,
  );
}

if (process.argv[2] === 'serve') await serve();
else await main();
