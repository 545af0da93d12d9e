/**
 * `/ads/vast` as users run it: a whole node (`startNode`, as `swarmcast up` starts it, with
 * the request log at info) serving the ads bench's 1,000 line items (packages/ads/bench/
 * decide.bench.ts fixtures, stored in the node's database and loaded at start), beside the
 * same static documents mounted on the same node, so both pass the node's hooks (request
 * log, text guard, headers, rate limit, role and takedown checks). The harness is the ads
 * bench's (`main`): the node runs in a child process, autocannon here; saturation and a fixed
 * rate, medians of ADS_BENCH_ROUNDS, server CPU per request from /proc, the load average.
 *
 * Differences from `swarmcast up`, each to measure decisions alone: the decision rate limit
 * is raised so the bench's one address is never refused (the limiter still runs per request);
 * stitched enclosures are off (no DAI warm-up of 1,000 fake creatives); the log goes to a
 * file (ADS_BENCH_LOG, default in the temp dir) instead of a terminal. The two audio demo
 * episodes get the fixtures' hour-long length and pre/mid/post breaks.
 */
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveAdvertiser, saveCampaign, saveCreative, saveLineItem } from '@swarmcast/ads';
import { scratchDir } from '@swarmcast/testkit';
import { buildStore, byId, main } from '../../ads/bench/decide.bench.ts';
import { startNode } from '../src/index.ts';

async function serve() {
  const dir = await scratchDir('swarmcast-ads-bench-');
  const dataDir = join(dir.path, 'node');
  const options = {
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logLevel: 'info' as const,
    daiPrepare: null,
    decisionRate: { perSecond: 1e9, burst: 1e9 },
  };
  // First start: the demo show is published; the fixtures go into the database.
  const first = await startNode({ ...options, logLevel: false });
  const store = buildStore();
  for (const a of store.advertisers.values()) await saveAdvertiser(first.db, a);
  for (const c of store.campaigns.values()) await saveCampaign(first.db, c);
  for (const c of store.creatives.values()) await saveCreative(first.db, c);
  for (const li of store.lineItems.values()) await saveLineItem(first.db, li);
  const template = byId.get('ep-1')!;
  const audio = await first.db.query<{ id: string }>(
    `update catalog_episodes set duration_ms = $1, ad_breaks = $2 where media_kind = 'audio' returning id`,
    [template.durationMs, JSON.stringify(template.adBreaks)],
  );
  await first.close();

  // Second start: the store is loaded from the database, as after any restart.
  let sameSizeXml = '';
  const fixed =
    '<?xml version="1.0" encoding="UTF-8"?>\n<VAST version="4.3" xmlns="http://www.iab.com/VAST"/>\n';
  const staticXml = fixed.padEnd(6_000, ' ');
  const node = await startNode({
    ...options,
    routes: (app) => {
      app.get('/static.xml', async (_req, reply) => reply.type('application/xml').send(staticXml));
      app.get('/static-same-size.xml', async (_req, reply) =>
        reply.type('application/xml').send(sameSizeXml),
      );
    },
  });
  const ids = audio.rows.map((r) => r.id);
  const paths = Array.from(
    { length: 500 },
    (_, i) =>
      `/ads/vast?episode=${ids[i % ids.length]}&break=${['pre', 'mid-1', 'post'][i % 3]}&lid=listener-${String(i).padStart(6, '0')}`,
  );
  const headers = { 'x-swarmcast-country': 'DE', 'user-agent': 'Mozilla/5.0 (iPhone)' };
  let total = 0;
  for (const url of paths.slice(0, 60)) total += (await node.app.inject({ url, headers })).body.length;
  sameSizeXml = fixed.padEnd(Math.round(total / 60), ' ');
  const sample = await node.app.inject({ url: paths[1]!, headers });
  const ads = (sample.body.match(/<Ad /g) ?? []).length;
  process.once('SIGINT', () => void node.close().then(() => dir.remove().then(() => process.exit(0))));
  process.stdout.write(
    `${JSON.stringify({
      base: node.url.replace(/\/$/, ''),
      paths,
      info: `node (startNode, log at info); line items: ${store.lineItems.size}; sample mid-roll pod: ${ads} ads, ${sample.body.length} bytes; average answer ${sameSizeXml.length} bytes; static doc ${staticXml.length} bytes`,
    })}\n`,
  );
}

if (process.argv[2] === 'serve') await serve();
else {
  // The request log (a line per request) goes to a file, as a service's log would.
  const log = process.env.ADS_BENCH_LOG ?? join(tmpdir(), `swarmcast-ads-bench-${process.pid}.log`);
  console.log(`node log: ${log}`);
  await main(import.meta.filename, 'node-ads-vast', openSync(log, 'w'));
}
