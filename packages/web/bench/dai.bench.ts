/**
 * Stitched enclosure vs the plain file on the same node, 200 concurrent connections (env
 * DAI_BENCH_CONNECTIONS), DAI_BENCH_SECONDS each (default 5): requests/s, bytes/s and p99
 * latency of whole-file GETs of the demo's "Welcome" episode (one listener: one plan, so the
 * stitched side measures serving, not deciding); then plan decision + signature p99
 * (decideStitchPlan over the ad server's store, 2,000 fresh audience keys). autocannon runs
 * in a worker thread of this process; the machine is shared: quote medians and the load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdsStore, decideStitchPlan, generateSigningKey, keyRing, loadStore } from '@swarmcast/ads';
import { episodeForAds, latestEpisodes } from '@swarmcast/catalog';
import autocannon from 'autocannon';
import { startNode } from '../src/index.ts';

const seconds = Number(process.env.DAI_BENCH_SECONDS ?? 5);
const connections = Number(process.env.DAI_BENCH_CONNECTIONS ?? 200);
const dir = join(tmpdir(), `dai-bench-${process.pid}`);
const node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir, seed: false });
try {
  await node.services.warmDai();
  await node.services.dai!.preparedIdle();
  const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast')!;
  const ua = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
  const stitched = new URL(`/dai/${ep.id}.mp3`, node.url).toString();
  const first = await fetch(stitched, { headers: { 'user-agent': ua } });
  await first.arrayBuffer();
  const plain = new URL(`/media/${ep.media!.path}`, node.url).toString();
  const run = (url: string) =>
    autocannon({ url, connections, duration: seconds, headers: { 'user-agent': ua }, workers: 1 });
  const p = await run(plain);
  const s = await run(stitched);
  const row = (r: autocannon.Result) => ({
    reqPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  });

  // Plan decision + signature, the ad server's policy over its live store.
  const store: AdsStore = await loadStore(node.db, Date.now());
  const episode = (await episodeForAds(node.db, ep.id))!;
  const ring = keyRing(generateSigningKey('bench'));
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    decideStitchPlan(
      { view: store, signingKey: () => ring.active, newId: () => `b${i}`, tokenTtlMs: 86_400_000 },
      {
        episode,
        audienceKey: `key-${i}`,
        planKey: `key-${i}`,
        window: '2026-12-07',
        country: 'DE',
        device: 'phone',
        profileKey: 'p',
        now: Date.now(),
        prepared: () => true,
      },
    );
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const result = {
    connections,
    seconds,
    plain: row(p),
    stitched: row(s),
    throughputRatio: Math.round((s.requests.average / p.requests.average) * 100) / 100,
    p99Ratio: Math.round((s.latency.p99 / Math.max(1, p.latency.p99)) * 100) / 100,
    decisionP50Ms: Math.round(times[1000]! * 1000) / 1000,
    decisionP99Ms: Math.round(times[1980]! * 1000) / 1000,
    load: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `stitched/plain throughput ${result.throughputRatio} (goal >= 0.8), p99 ratio ${result.p99Ratio} (goal <= 1.2), plan decision + signature p99 ${result.decisionP99Ms} ms (goal < 10); load ${result.load.join(' ')}`,
  );
  mkdirSync(join(import.meta.dirname, '..', '..', '..', 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(import.meta.dirname, '..', '..', '..', 'bench', 'results', 'web-dai.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
} finally {
  await node.close();
}
