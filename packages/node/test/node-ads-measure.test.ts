import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, createApiToken, latestEpisodes } from '@swarmcast/catalog';
import { Ledger } from '@swarmcast/ledger';
import { ManualClock } from '@swarmcast/platform';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerBytesOf } from '../src/header-bytes.ts';
import { houseAdFile, houseIds } from '../src/house-ads.ts';
import { type RunningNode, startNode } from '../src/index.ts';
import { adminTokenFile, signingKeyFile } from '../src/secrets.ts';

/**
 * The ad and measurement loop of a whole node on a real socket, as `npm start` runs it:
 * VMAP and VAST for a demo episode, the tracking URLs fired with a player's timing (on a
 * manual clock), the pipeline on the node's own stream, then the advertiser report and
 * the ledger.
 */
const t0 = Date.UTC(2026, 10, 23, 10);
const clock = new ManualClock(t0);
const adminToken = 'integrate-admin-token';
const cpmMicros = 20_000_000; // 20 EUR per thousand
let node: RunningNode;
let dir: Awaited<ReturnType<typeof scratchDir>>;
const previousToken = process.env.SWARMCAST_ADMIN_TOKEN;

beforeAll(async () => {
  dir = await scratchDir('node-ads');
  process.env.SWARMCAST_ADMIN_TOKEN = adminToken;
  node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path, clock });
}, 240_000);

afterAll(async () => {
  if (previousToken === undefined) delete process.env.SWARMCAST_ADMIN_TOKEN;
  else process.env.SWARMCAST_ADMIN_TOKEN = previousToken;
  await node?.close();
  await dir?.remove();
});

const url = (p: string) => new URL(p, node.url).toString();
/** Reports need credentials: the node's admin token reads them all. */
const asAdmin = { headers: { authorization: `Bearer ${adminToken}` } };
const xmlText = (s: string) => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const player = (i: number) => `SwarmcastPlayer/1.0 (integration listener ${i})`;

async function welcomeEpisode() {
  const eps = await latestEpisodes(node.db, 10);
  const ep = eps.find((e) => e.title === 'Welcome to Swarmcast');
  expect(ep, 'the demo episode with three ad breaks').toBeDefined();
  return ep!;
}

/** Every ad of a VAST document with its tracking URLs. */
function adsOf(vast: string) {
  return [...vast.matchAll(/<Ad [^>]*>([\s\S]*?)<\/Ad>/g)].map((m) => {
    const body = m[1]!;
    const urls: Record<string, string> = {};
    urls.impression = xmlText(/<Impression[^>]*>([^<]+)<\/Impression>/.exec(body)![1]!);
    for (const t of body.matchAll(/<Tracking event="(\w+)"[^>]*>([^<]+)<\/Tracking>/g)) {
      urls[t[1]!] ??= xmlText(t[2]!);
    }
    const media = xmlText(/<MediaFile [^>]*>\s*(?:<!\[CDATA\[)?([^<\]]+)/.exec(body)![1]!.trim());
    const duration = /<Duration>(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?<\/Duration>/.exec(body)!;
    const durationMs =
      (Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000 +
      Number(duration[4] ?? 0);
    return { urls, media, durationMs, body };
  });
}

let cb = 0;
/** Fires a tracking URL as a player does: macros filled, GET from the listener. */
async function fire(raw: string, listener: number, playheadMs: number) {
  const s = Math.floor(playheadMs / 1000);
  const filled = raw
    .replace('[TIMESTAMP]', encodeURIComponent(new Date(clock.now()).toISOString()))
    .replace(
      '[ADPLAYHEAD]',
      `00:00:${String(s).padStart(2, '0')}.${String(playheadMs % 1000).padStart(3, '0')}`,
    )
    .replace('[CACHEBUSTING]', String(++cb))
    .replace('[MEDIAPLAYHEAD]', '00:00:00.000')
    .replace('[BREAKPOSITION]', '1');
  const res = await fetch(filled, { headers: { 'user-agent': player(listener) } });
  expect([200, 204]).toContain(res.status);
  await res.arrayBuffer();
}

async function adminJson(path: string, body: unknown, token = adminToken) {
  const res = await fetch(url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { id: string };
}

describe('a node serves and measures ads', () => {
  it('keeps its signing key in the data dir, mode 0600, and takes the admin token from the env', async () => {
    const key = await stat(join(dir.path, signingKeyFile));
    expect(key.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir.path, signingKeyFile), 'utf8'))).toMatchObject({
      crv: 'Ed25519',
    });
    await expect(stat(join(dir.path, adminTokenFile))).rejects.toThrow();
    const keys = (await (await fetch(url('/ads/keys'))).json()) as { keys: Array<{ x: string }> };
    expect(keys.keys).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir.path, signingKeyFile), 'utf8')).x).toBe(keys.keys[0]!.x);
  });

  it('answers VMAP for a demo episode, and a fresh node fills its breaks with the house ad', async () => {
    const ep = await welcomeEpisode();
    const vmap = await (await fetch(url(`/ads/vmap?episode=${ep.id}&lid=listener-0`))).text();
    const tags = [...vmap.matchAll(/<vmap:AdTagURI[^>]*>(?:<!\[CDATA\[)?([^<\]]+)/g)].map((m) =>
      xmlText(m[1]!),
    );
    expect(tags).toHaveLength(3); // pre, mid after chapter 1, post
    for (const tag of tags) expect(tag.startsWith(`${new URL(node.url).origin}/ads/vast?`)).toBe(true);
    const vast = await (await fetch(tags[0]!)).text();
    const ads = adsOf(vast);
    expect(ads).toHaveLength(1);
    expect(ads[0]!.media).toBe(`${new URL(node.url).origin}/ads/media/${houseIds.creative}.mp3`);
    const media = await fetch(ads[0]!.media);
    expect(media.status).toBe(200);
    expect(Buffer.from(await media.arrayBuffer()).equals(await readFile(houseAdFile))).toBe(true);
  });

  it('counts one impression per decision and charges CPM/1000 with the creator share', async () => {
    const ep = await welcomeEpisode();
    // An advertiser account books a standard line item with its API token; the admin approves.
    const account = await createAccount(node.db, {
      email: 'buyer@acme.example',
      name: 'Acme buyer',
      password: 'correct horse battery',
      role: 'advertiser',
    });
    if (!account.ok) throw new Error(account.message);
    const buyer = await createApiToken(node.db, account.value.id, 'test');
    const advertiser = await adminJson('/ads/api/advertisers', { name: 'Acme Audio' }, buyer);
    const campaign = await adminJson(
      '/ads/api/campaigns',
      {
        advertiserId: advertiser.id,
        name: 'Launch',
        startsAt: t0 - 3_600_000,
        endsAt: t0 + 30 * 86_400_000,
        currency: 'EUR',
        totalBudgetMicros: 1_000_000_000,
      },
      buyer,
    );
    const upload = await fetch(url(`/ads/api/creatives?advertiser=${advertiser.id}&name=Launch%20spot`), {
      method: 'POST',
      headers: { 'content-type': 'audio/mpeg', authorization: `Bearer ${buyer}` },
      body: await readFile(houseAdFile),
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const creative = (await upload.json()) as { id: string };
    await adminJson(`/ads/api/creatives/${creative.id}/approval`, { state: 'approved' });
    await adminJson(
      '/ads/api/line-items',
      {
        campaignId: campaign.id,
        name: 'Run of network',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 100_000 },
        cpmMicros,
        pacing: 'asap',
        creativeIds: [creative.id],
      },
      buyer,
    );

    const listeners = [1, 2, 3];
    let decisions = 0;
    let paidDecisions = 0;
    let beacons = 0;
    for (const i of listeners) {
      clock.set(t0 + i * 120_000);
      const vmap = await (await fetch(url(`/ads/vmap?episode=${ep.id}&lid=listener-${i}`))).text();
      const pre = xmlText(/<vmap:AdTagURI[^>]*>(?:<!\[CDATA\[)?([^<\]]+)/.exec(vmap)![1]!);
      const vast = await (await fetch(pre, { headers: { 'user-agent': player(i) } })).text();
      const ads = adsOf(vast);
      expect(ads.length).toBeGreaterThan(0);
      // The paid line item outranks the house one.
      expect(ads[0]!.media).toContain(creative.id);
      // The player plays the pod in order: impression and start, quartiles as the ad plays.
      for (const ad of ads) {
        decisions++;
        if (ad.media.includes(creative.id)) paidDecisions++;
        const began = clock.now();
        await fire(ad.urls.impression!, i, 0);
        await fire(ad.urls.start!, i, 0);
        const marks = [
          ['firstQuartile', 0.25],
          ['midpoint', 0.5],
          ['thirdQuartile', 0.75],
          ['complete', 1],
        ] as const;
        for (const [event, share] of marks) {
          const at = Math.round(ad.durationMs * share);
          clock.set(began + at);
          await fire(ad.urls[event]!, i, at);
        }
        beacons += 6;
        clock.advance(200);
      }
    }
    expect(paidDecisions).toBe(listeners.length);

    const measure = node.services.measure;
    await waitFor(
      async () => (measure.pipeline?.totals.processed ?? 0) >= beacons && (await measure.lag()) === 0,
      30_000,
      'the pipeline to settle',
    );
    // Every pre-roll request (these and the earlier test's) became an ads.opportunity that
    // measurement stored (fill rate).
    const opportunities = async () =>
      (
        await node.db.query<{ slots: number; filled: number }>(
          "SELECT slots, filled FROM measure_opportunities WHERE episode_id = $1 AND break_id = 'pre'",
          [ep.id],
        )
      ).rows;
    await waitFor(
      async () => (await opportunities()).length >= listeners.length,
      30_000,
      'opportunities stored',
    );
    const stored = await opportunities();
    expect(stored.length).toBeGreaterThanOrEqual(listeners.length);
    for (const o of stored) expect(Number(o.filled)).toBeGreaterThan(0);
    const day = new Date(t0).toISOString().slice(0, 10);
    const next = new Date(t0 + 86_400_000).toISOString().slice(0, 10);
    const report = (await (
      await fetch(url(`/api/measure/advertiser/${advertiser.id}?from=${day}&to=${next}`), {
        headers: { authorization: `Bearer ${buyer}` },
      })
    ).json()) as {
      campaigns: Array<{ campaignId: string; spendMicros: number; delivery: Record<string, unknown> }>;
    };
    expect(report.campaigns).toHaveLength(1);
    expect(report.campaigns[0]).toMatchObject({
      campaignId: campaign.id,
      spendMicros: (paidDecisions * cpmMicros) / 1000,
      delivery: {
        impressions: paidDecisions,
        starts: paidDecisions,
        complete: paidDecisions,
        completionRate: 1,
      },
    });
    const house = (await (
      await fetch(url(`/api/measure/advertiser/${houseIds.advertiser}?from=${day}&to=${next}`), asAdmin)
    ).json()) as { campaigns: Array<{ delivery: { impressions: number } }> };
    const houseImpressions = house.campaigns.reduce((n, c) => n + c.delivery.impressions, 0);
    // The buyer reads its own advertiser report (above), not the house one.
    const houseAsBuyer = await fetch(url(`/api/measure/advertiser/${houseIds.advertiser}`), {
      headers: { authorization: `Bearer ${buyer}` },
    });
    expect(houseAsBuyer.status).toBe(403);
    expect(paidDecisions + houseImpressions).toBe(decisions);

    // The ad server heard of the same measured delivery through the stream: its report
    // (the ads dashboard's figures) agrees with measurement's to the micro-unit.
    const adsReport = async () =>
      (await (
        await fetch(url(`/ads/api/campaigns/${campaign.id}/report`), {
          headers: { authorization: `Bearer ${buyer}` },
        })
      ).json()) as {
        spendMicros: number;
        reservedMicros: number;
        lineItems: { impressions: number; decisions: number }[];
      };
    const settled = (await waitFor(
      async () => {
        const r = await adsReport();
        return r.spendMicros === report.campaigns[0]!.spendMicros ? r : null;
      },
      30_000,
      'the ad server to apply measured delivery',
    ))!;
    expect(settled.lineItems.reduce((t, l) => t + l.impressions, 0)).toBe(paidDecisions);
    expect(settled.lineItems.reduce((t, l) => t + l.decisions, 0)).toBe(paidDecisions);
    expect(settled.reservedMicros).toBe(0);

    const ledger = new Ledger(node.db);
    const charged = (paidDecisions * cpmMicros) / 1000;
    expect(await ledger.balance(`advertiser:${advertiser.id}`)).toBe(-charged);
    expect(await ledger.balance(`creator:${ep.show.ownerId}`)).toBe((charged * 70) / 100);
    expect(await ledger.balance('platform')).toBe((charged * 30) / 100);
    expect((await ledger.check()).balanced).toBe(true);

    // The dashboards answer on the node.
    for (const page of [`/measure/advertiser/${advertiser.id}`, '/measure/admin']) {
      expect((await fetch(url(page), asAdmin)).status, page).toBe(200);
    }
    // The ads dashboard is the advertiser's own: 401 without credentials, and the buyer sees
    // its campaign but not the house campaign.
    expect((await fetch(url('/ads/dashboard'))).status).toBe(401);
    const dash = await fetch(url('/ads/dashboard'), { headers: { authorization: `Bearer ${buyer}` } });
    expect(dash.status).toBe(200);
    const dashHtml = await dash.text();
    expect(dashHtml).toContain('Acme Audio');
    expect(dashHtml).not.toContain('House: welcome');
  }, 60_000);

  it('counts origin downloads of a demo episode for its creator (IAB rules, k=5)', async () => {
    const ep = await welcomeEpisode();
    const mediaUrl = url(`/media/${ep.media!.path}`);
    const original = await readFile(join(node.catalog.mediaDir, ep.media!.path));
    // Five podcast apps (five audience keys: k = 5 is the suppression threshold) fetch the whole file.
    for (let i = 1; i <= 5; i++) {
      clock.set(t0 + 3_600_000 + i * 60_000);
      const res = await fetch(mediaUrl, {
        headers: { 'user-agent': `AppleCoreMedia/1.0.0.21E236 (listener ${i})` },
      });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);
    }
    const day = new Date(t0).toISOString().slice(0, 10);
    const next = new Date(t0 + 86_400_000).toISOString().slice(0, 10);
    const creatorReport = async () =>
      (await (
        await fetch(url(`/api/measure/creator/${ep.show.ownerId}?from=${day}&to=${next}`), asAdmin)
      ).json()) as {
        episodes: Array<{ episodeId: string; downloads: number | null }>;
      };
    await waitFor(
      async () => (await creatorReport()).episodes.find((e) => e.episodeId === ep.id)?.downloads === 5,
      30_000,
      'five downloads counted',
    );
    const mine = (await creatorReport()).episodes.find((e) => e.episodeId === ep.id)!;
    expect(mine.downloads).toBe(5);
    // Registered with its ID3 tag as header bytes (the IAB threshold's header part).
    const registered = await node.db.query<{ header_bytes: number; info_hash: string }>(
      'select header_bytes, info_hash from measure_episodes where episode_id = $1',
      [ep.id],
    );
    expect(registered.rows[0]).toEqual({
      header_bytes: headerBytesOf(original.subarray(0, 10)),
      info_hash: ep.torrent!.infoHashV1,
    });
    expect(registered.rows[0]!.header_bytes).toBeGreaterThan(10);
  }, 60_000);
});
