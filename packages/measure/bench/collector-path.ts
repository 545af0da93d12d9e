/**
 * CPU per ad beacon of the collector, embedded: on the embedded stream and on a stream that
 * stores nothing (the HTTP path alone), in alternating rounds, with the node's edge
 * classification of each sender (a browser's user agent), wrk (its own process) sending
 * unique beacons over keep-alive connections as the beacons bench does. Prints the
 * collector's CPU per acknowledged beacon (process.cpuUsage) and beacons/s, medians.
 * Profile with: node --cpu-prof --import tsx packages/measure/bench/collector-path.ts
 * (EMBEDDED_ONLY=1 or HTTP_ONLY=1 for one kind of round).
 * usage: collector-path.ts [seconds per round (5)] [rounds (3)] [connections (256)]
 * The machine is shared: CPU per beacon says more than beacons/s; the load is printed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateSigningKey, signDecision } from '@swarmcast/ads';
import {
  createAudienceKeys,
  type EventStream,
  loadAddressList,
  memorySaltStore,
  openEventStream,
  systemClock,
} from '@swarmcast/platform';
import Fastify from 'fastify';
import { collectorRoutes } from '../src/collect/collector.ts';
import { edgeClassifier } from '../src/collect/edge.ts';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const connections = Number(process.argv[4] ?? 256);
const key = generateSigningKey('bench');
const token = signDecision(
  {
    v: 1,
    decisionId: 'bench-decision',
    adId: 'ad',
    lineItemId: 'li',
    campaignId: 'camp',
    advertiserId: 'adv',
    episodeId: 'ep',
    showId: 'show',
    creatorId: 'creator',
    breakId: 'pre',
    position: 'pre',
    podSequence: 1,
    creativeDurationMs: 30_000,
    cpmMicros: 20_000_000,
    listenerId: 'bench-listener',
    issuedAt: 0,
    expiresAt: 8.64e15,
  },
  key,
);
// The node's edge classification, from a browser's user agent (see beacons.bench.ts).
const edge = edgeClassifier(createAudienceKeys(memorySaltStore()), await loadAddressList(null));
const browserUserAgent =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const nullStream: EventStream = {
  publish: async () => {},
  consume: async () => {
    throw new Error('the null stream has no consumers');
  },
  close: async () => {},
};

let runs = 0;
async function wrk(url: string, duration: number): Promise<{ rps: number; acked: number }> {
  const script = join(tmpdir(), `collector-path-${process.pid}-${++runs}.lua`);
  writeFileSync(
    script,
    `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, wrk.path .. "&cb=${process.pid}-${runs}-" .. n)\nend\n`,
  );
  const { stdout } = await promisify(execFile)('wrk', [
    '-t',
    '1',
    '-c',
    String(connections),
    '-d',
    `${duration}s`,
    '--timeout',
    '10s',
    '-H',
    `User-Agent: ${browserUserAgent}`,
    '-s',
    script,
    url,
  ]);
  rmSync(script, { force: true });
  const total = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]), acked: total - non2xx };
}

async function round(stream: EventStream): Promise<{ cpuUs: number; rps: number }> {
  const app = Fastify();
  const collector = collectorRoutes(app, { stream, edge, clock: systemClock });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}/beacon/ad/pause?t=${token}&ah=00:00:12.000`;
  await wrk(url, 1); // warm up
  const cpu = process.cpuUsage();
  const r = await wrk(url, seconds);
  const used = process.cpuUsage(cpu);
  await app.close();
  await collector.close();
  return { cpuUs: (used.user + used.system) / Math.max(1, r.acked), rps: r.rps };
}

const dir = mkdtempSync(join(tmpdir(), 'collector-path-'));
const stream = await openEventStream({ dataDir: dir });
const res: Record<'embedded' | 'http', { cpuUs: number; rps: number }[]> = { embedded: [], http: [] };
try {
  for (let r = 0; r < rounds; r++) {
    if (!process.env.EMBEDDED_ONLY) res.http.push(await round(nullStream));
    if (!process.env.HTTP_ONLY) res.embedded.push(await round(stream));
    console.log(
      `round ${r + 1}: embedded ${res.embedded.at(-1)?.cpuUs.toFixed(1)} us ${res.embedded.at(-1)?.rps.toFixed(0)}/s` +
        (res.http.length
          ? `, http alone ${res.http.at(-1)!.cpuUs.toFixed(1)} us ${res.http.at(-1)!.rps.toFixed(0)}/s`
          : '') +
        `, load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
} finally {
  await stream.close();
  rmSync(dir, { recursive: true, force: true });
}
const med = (xs: number[]) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : Number.NaN;
console.log(
  `collector CPU per beacon, medians of ${rounds}: embedded ${med(res.embedded.map((x) => x.cpuUs)).toFixed(1)} us ` +
    `(${med(res.embedded.map((x) => x.rps)).toFixed(0)}/s), HTTP path alone ${med(res.http.map((x) => x.cpuUs)).toFixed(1)} us ` +
    `(${med(res.http.map((x) => x.rps)).toFixed(0)}/s), load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
