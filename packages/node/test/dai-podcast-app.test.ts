/**
 * The proof of dynamic ad insertion end to end, as a podcast app and an advertiser see it:
 * a paid campaign is booked; the feed is read with a feed parser; the enclosure is fetched
 * the way Apple Podcasts does (a bytes=0-1 probe, ranged chunks, a connection dropped mid
 * chunk, a resume); the parts equal one full GET of the same plan; a second listener gets
 * its own plan; a bot and a probe-only app deliver nothing; the advertiser report shows
 * exactly the deliveries that count, beside (never summed with) VAST impressions; the
 * ledger balances, reruns bill nothing twice, and a delivery judged invalid is refunded.
 */

import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createAccount, createApiToken } from '@swarmcast/catalog';
import { Ledger } from '@swarmcast/ledger';
import { invalidateDelivery } from '@swarmcast/measure';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { houseAdFile } from '../src/house-ads.ts';
import { type RunningNode, startNode } from '../src/index.ts';

const apple = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
const overcast = 'Overcast/3.0 (+http://overcast.fm/; iOS podcast app)';
const bot = 'curl/8.5.0';
const cpmMicros = 20_000_000;
const adminToken = 'dai-proof-admin-token';

let node: RunningNode;
let dir: Awaited<ReturnType<typeof scratchDir>>;
let buyer: string;
let advertiserId: string;
let campaignId: string;
let lineItemId: string;
let enclosure: string;
let requests = 0;
const previousToken = process.env.SWARMCAST_ADMIN_TOKEN;

const url = (p: string) => new URL(p, node.url).toString();
async function post(path: string, body: unknown, token: string) {
  const res = await fetch(url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { id: string };
}
async function get(ua: string, headers: Record<string, string> = {}, method = 'GET') {
  requests++;
  const res = await fetch(enclosure, { method, headers: { 'user-agent': ua, ...headers } });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

beforeAll(async () => {
  dir = await scratchDir('dai-proof');
  process.env.SWARMCAST_ADMIN_TOKEN = adminToken;
  node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path });
  const account = await createAccount(node.db, {
    email: 'buyer@dai.example',
    name: 'DAI buyer',
    password: 'correct horse battery',
    role: 'advertiser',
  });
  if (!account.ok) throw new Error(account.message);
  buyer = await createApiToken(node.db, account.value.id, 'test');
  advertiserId = (await post('/ads/api/advertisers', { name: 'Acme Audio' }, buyer)).id;
  const now = Date.now();
  campaignId = (
    await post(
      '/ads/api/campaigns',
      {
        advertiserId,
        name: 'Podcast apps',
        startsAt: now - 3_600_000,
        endsAt: now + 30 * 86_400_000,
        currency: 'EUR',
        totalBudgetMicros: 1_000_000_000,
      },
      buyer,
    )
  ).id;
  const upload = await fetch(url(`/ads/api/creatives?advertiser=${advertiserId}&name=Spot`), {
    method: 'POST',
    headers: { 'content-type': 'audio/mpeg', authorization: `Bearer ${buyer}` },
    body: await readFile(houseAdFile),
  });
  expect(upload.status).toBe(201);
  const creative = (await upload.json()) as { id: string };
  await post(`/ads/api/creatives/${creative.id}/approval`, { state: 'approved' }, adminToken);
  lineItemId = (
    await post(
      '/ads/api/line-items',
      {
        campaignId,
        name: 'All podcast apps',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 100_000 },
        cpmMicros,
        pacing: 'asap',
        creativeIds: [creative.id],
      },
      buyer,
    )
  ).id;
  // Preparing the creative for the demo episodes' encoding happens ahead of listeners.
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

describe('dynamic ad insertion, counted and billed', () => {
  let planId: string;

  it('a podcast app (probe, chunks, dropped connection, resume) assembles one full GET of its plan', async () => {
    expect(enclosure).toMatch(/\/dai\/[^/]+\.mp3$/);
    const probe = await get(apple, { range: 'bytes=0-1' });
    expect(probe.res.status).toBe(206);
    const etag = probe.res.headers.get('etag')!;
    planId = /^plan=(.+)$/.exec(probe.res.headers.get('x-swarmcast-dai')!)![1]!;
    const total = Number(probe.res.headers.get('content-range')!.split('/')[1]);
    const chunk = Math.ceil(total / 4);
    const first = await get(apple, { range: `bytes=0-${chunk - 1}`, 'if-range': etag });
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
    const resume = chunk + partial.length;
    const parts = [first.body, partial];
    for (let at = resume; at < total; at += chunk) {
      const r = await get(apple, {
        range: `bytes=${at}-${Math.min(total, at + chunk) - 1}`,
        'if-range': etag,
      });
      expect(r.res.status).toBe(206);
      parts.push(r.body);
    }
    const full = await get(apple);
    expect(full.res.headers.get('etag')).toBe(etag);
    expect(Buffer.concat(parts).equals(full.body)).toBe(true);
    expect(full.body.length).toBe(total);
  });

  it('a second audience key gets its own plan; a probe-only app, a HEAD and a bot deliver nothing', async () => {
    const other = await get(overcast, { range: 'bytes=0-1' });
    expect(other.res.headers.get('x-swarmcast-dai')).not.toBe(`plan=${planId}`);
    expect(other.res.headers.get('etag')).not.toBe(
      (await get(apple, { range: 'bytes=0-1' })).res.headers.get('etag'),
    );
    await get(overcast, {}, 'HEAD');
    const crawler = await get(bot);
    expect(crawler.res.status).toBe(200);
  });

  it('the advertiser report shows exactly the deliveries that count, beside VAST impressions; the ledger balances', async () => {
    const measure = node.services.measure;
    const stitchedFacts = async () =>
      Number(
        (
          await node.db.query<{ n: unknown }>(
            "SELECT count(*) AS n FROM measure_downloads WHERE fact ? 'planId' OR path LIKE 'swarmcast-demo/%'",
          )
        ).rows[0]!.n,
      );
    await waitFor(
      async () => (await stitchedFacts()) >= requests && (await measure.lag()) === 0,
      60_000,
      'facts stored',
    );
    const plan = (
      await node.db.query<{
        plan: { breaks: Array<{ ads: Array<{ lineItemId: string; decisionId: string }> }> };
      }>('SELECT plan FROM ads_stitch_plans WHERE id = $1', [planId])
    ).rows[0]!.plan;
    const ads = plan.breaks.flatMap((b) => b.ads);
    const paid = ads.filter((a) => a.lineItemId === lineItemId);
    expect(paid.length).toBeGreaterThan(0);

    // The node also settles on its own timer, and a run judges only the listeners with new
    // facts: every listener is marked again so this run judges them all (billing each
    // delivery once whatever the reruns).
    await node.db.query(
      "INSERT INTO measure_settle_keys SELECT DISTINCT audience_key FROM measure_downloads WHERE fact ? 'planId' ON CONFLICT DO NOTHING",
    );
    const settled = await measure.settleDeliveries();
    expect(settled.forged).toBe(0);
    expect(settled.judged).toBeGreaterThanOrEqual(3); // Apple, Overcast, the bot
    expect(settled.notDelivered.bot).toBeGreaterThan(0);
    expect(settled.notDelivered.probe).toBeGreaterThan(0);
    // Incremental: no new facts, nobody judged again.
    expect(await measure.settleDeliveries()).toMatchObject({ delivered: 0, judged: 0 });
    // Every ad of the Apple listener's plan, and nothing from the probe, the HEAD and the bot.
    const rows = await node.db.query<{ decision_id: string; plan_id: string }>(
      'SELECT decision_id, plan_id FROM measure_ad_deliveries ORDER BY decision_id',
    );
    expect(rows.rows.map((r) => r.decision_id)).toEqual(ads.map((a) => a.decisionId).sort());
    expect(new Set(rows.rows.map((r) => r.plan_id))).toEqual(new Set([planId]));

    const report = (await (
      await fetch(url(`/api/measure/advertiser/${advertiserId}`), {
        headers: { authorization: `Bearer ${buyer}` },
      })
    ).json()) as {
      campaigns: Array<{ campaignId: string; spendMicros: number; delivery: { impressions: number } }>;
      serverSide: {
        delivered: number;
        refunded: number;
        groups: Array<{ group: string; delivered: number }>;
      };
    };
    expect(report.serverSide.delivered).toBe(paid.length);
    expect(report.serverSide.groups).toEqual([{ group: campaignId, delivered: paid.length, refunded: 0 }]);
    // Client-side impressions are their own metric: none were played in our player.
    expect(report.campaigns[0]).toMatchObject({ campaignId, spendMicros: (paid.length * cpmMicros) / 1000 });
    expect(report.campaigns[0]!.delivery.impressions).toBe(0);
    const page = await (
      await fetch(url(`/measure/advertiser/${advertiserId}`), {
        headers: { authorization: `Bearer ${buyer}` },
      })
    ).text();
    expect(page).toContain('Ads delivered in podcast apps (server-side)');

    const ledger = new Ledger(node.db);
    expect((await ledger.check()).balanced).toBe(true);
    expect(await ledger.balance(`advertiser:${advertiserId}`)).toBe(-(paid.length * cpmMicros) / 1000);

    // The ad server's budgets and pacing run on measured delivery: the DAI deliveries come back
    // to it over the stream (delivery.measured, source "dai") and show in its campaign report.
    const adsReport = async () =>
      (await (
        await fetch(url(`/ads/api/campaigns/${campaignId}/report`), {
          headers: { authorization: `Bearer ${buyer}` },
        })
      ).json()) as { spendMicros: number; lineItems: Array<{ impressions: number }> };
    await waitFor(
      async () => (await adsReport()).lineItems[0]?.impressions === paid.length,
      60_000,
      'measured DAI deliveries fed back to the ad server',
    );
    expect((await adsReport()).spendMicros).toBe((paid.length * cpmMicros) / 1000);

    // A delivery judged invalid later is refunded by the exact negation of its charge.
    expect(await invalidateDelivery(node.db, paid[0]!.decisionId, 'operator', Date.now())).toBe('refunded');
    expect(await ledger.balance(`advertiser:${advertiserId}`)).toBe(-((paid.length - 1) * cpmMicros) / 1000);
    expect((await ledger.check()).balanced).toBe(true);
    const after = (await (
      await fetch(url(`/api/measure/advertiser/${advertiserId}`), {
        headers: { authorization: `Bearer ${buyer}` },
      })
    ).json()) as { serverSide: { delivered: number; refunded: number } };
    expect(after.serverSide).toMatchObject({ delivered: paid.length - 1, refunded: 1 });
    await waitFor(
      async () => (await adsReport()).lineItems[0]?.impressions === paid.length - 1,
      60_000,
      'the refund fed back to the ad server',
    );
  }, 240_000);
});
