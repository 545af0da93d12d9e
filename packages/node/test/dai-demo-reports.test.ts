/**
 * The demo node out of the box: its demo show's feed enclosure carries the house ad; a
 * podcast app fetches it the way Apple Podcasts does (a bytes=0-1 probe, ranged chunks, a
 * connection dropped mid chunk, a resume); after settling, the house advertiser's report
 * and the demo creator's report show those server-side deliveries as their own metric,
 * beside (never summed with) the client-side VAST impressions, which stay zero here.
 */
import { request } from 'node:http';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { houseIds } from '../src/house-ads.ts';
import { type RunningNode, startNode } from '../src/index.ts';

const apple = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
const adminToken = 'dai-demo-reports-admin';
const previousToken = process.env.SWARMCAST_ADMIN_TOKEN;

interface ServerSide {
  delivered: number;
  refunded: number;
  groups: Array<{ group: string; delivered: number; refunded: number }>;
}

describe('the demo node: house-ad deliveries in the reports', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let enclosure: string;
  let requests = 0;
  const url = (p: string) => new URL(p, node.url).toString();
  const get = async (headers: Record<string, string>) => {
    requests++;
    const res = await fetch(enclosure, { headers: { 'user-agent': apple, ...headers } });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const admin = async <T>(path: string) => {
    const res = await fetch(url(path), { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status, path).toBe(200);
    return (path.startsWith('/api/') ? await res.json() : await res.text()) as T;
  };

  beforeAll(async () => {
    dir = await scratchDir('dai-demo-reports-');
    process.env.SWARMCAST_ADMIN_TOKEN = adminToken;
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path });
    await node.services.warmDai();
    await node.services.dai!.preparedIdle();
    const items = (await new Parser().parseURL(url('/shows/swarmcast-demo/feed.xml'))).items;
    enclosure = items.find((i) => i.title === 'Welcome to Swarmcast')!.enclosure!.url;
  }, 180_000);
  afterAll(async () => {
    if (previousToken === undefined) delete process.env.SWARMCAST_ADMIN_TOKEN;
    else process.env.SWARMCAST_ADMIN_TOKEN = previousToken;
    await node?.close();
    await dir?.remove();
  });

  it('an Apple-pattern fetch of the demo enclosure is counted as house-ad deliveries, apart from impressions', async () => {
    expect(enclosure).toMatch(/\/dai\/[^/]+\.mp3$/);
    const probe = await get({ range: 'bytes=0-1' });
    expect(probe.res.status).toBe(206);
    const etag = probe.res.headers.get('etag')!;
    const planId = /^plan=(.+)$/.exec(probe.res.headers.get('x-swarmcast-dai')!)![1]!;
    const total = Number(probe.res.headers.get('content-range')!.split('/')[1]);
    const chunk = Math.ceil(total / 4);
    const first = await get({ range: `bytes=0-${chunk - 1}`, 'if-range': etag });
    expect(first.res.status).toBe(206);
    requests++;
    const partial = await new Promise<Buffer>((resolve, reject) => {
      const u = new URL(enclosure);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: { 'user-agent': apple, range: `bytes=${chunk}-${2 * chunk - 1}` },
        },
        (res) => {
          const got: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            got.push(c);
            n += c.length;
            if (n >= 3000) {
              req.destroy();
              resolve(Buffer.concat(got));
            }
          });
          res.on('end', () => resolve(Buffer.concat(got)));
        },
      );
      req.on('error', (err) => (err.message.includes('aborted') ? undefined : reject(err)));
      req.end();
    });
    const parts = [first.body, partial];
    for (let at = chunk + partial.length; at < total; at += chunk) {
      const r = await get({ range: `bytes=${at}-${Math.min(total, at + chunk) - 1}`, 'if-range': etag });
      expect(r.res.status).toBe(206);
      parts.push(r.body);
    }
    expect(Buffer.concat(parts).length).toBe(total);

    // The plan's ads are the house ad (nothing else is booked on a fresh node).
    const plan = (
      await node.db.query<{ plan: { breaks: Array<{ ads: Array<{ lineItemId: string }> }> } }>(
        'SELECT plan FROM ads_stitch_plans WHERE id = $1',
        [planId],
      )
    ).rows[0]!.plan;
    const ads = plan.breaks.flatMap((b) => b.ads);
    expect(ads.length).toBeGreaterThan(0);
    expect(new Set(ads.map((a) => a.lineItemId))).toEqual(new Set([houseIds.lineItem]));

    const measure = node.services.measure;
    await waitFor(
      async () =>
        Number(
          (
            await node.db.query<{ n: unknown }>(
              'SELECT count(*) AS n FROM measure_downloads WHERE fact @> $1::jsonb',
              [JSON.stringify({ planId })],
            )
          ).rows[0]!.n,
        ) >= requests && (await measure.lag()) === 0,
      60_000,
      'facts stored',
    );
    await measure.settleDeliveries();
    const delivered = await node.db.query<{ n: unknown }>(
      'SELECT count(*) AS n FROM measure_ad_deliveries WHERE plan_id = $1',
      [planId],
    );
    expect(Number(delivered.rows[0]!.n)).toBe(ads.length);

    // The house advertiser: deliveries per campaign, impressions (VAST, our player) apart.
    const adv = await admin<{
      serverSide?: ServerSide;
      totals: { impressions: number };
      campaigns: Array<{ campaignId: string; delivery: { impressions: number } }>;
    }>(`/api/measure/advertiser/${houseIds.advertiser}`);
    expect(adv.serverSide?.delivered).toBe(ads.length);
    expect(adv.serverSide?.groups).toEqual([
      { group: houseIds.campaign, delivered: ads.length, refunded: 0 },
    ]);
    expect(adv.totals.impressions).toBe(0);
    for (const c of adv.campaigns) expect(c.delivery.impressions).toBe(0);

    // The demo creator: deliveries per episode, apart from the ad impressions in our player.
    const demo = await node.db.query<{ id: string }>(
      `SELECT id FROM catalog_accounts WHERE email = 'demo@swarmcast.invalid'`,
    );
    const episodeId = /\/dai\/([^/]+)\.mp3$/.exec(enclosure)![1]!;
    const creator = await admin<{ serverSide?: ServerSide; episodes: Array<Record<string, unknown>> }>(
      `/api/measure/creator/${demo.rows[0]!.id}`,
    );
    expect(creator.serverSide?.delivered).toBe(ads.length);
    expect(creator.serverSide?.groups).toEqual([{ group: episodeId, delivered: ads.length, refunded: 0 }]);

    for (const page of [
      await admin<string>(`/measure/advertiser/${houseIds.advertiser}`),
      await admin<string>(`/measure/creator/${demo.rows[0]!.id}`),
    ]) {
      expect(page).toContain('Ads delivered in podcast apps (server-side)');
    }
  });
});
