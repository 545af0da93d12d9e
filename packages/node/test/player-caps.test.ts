import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importPublicKeys, type PublicKeys, verifyDecisionToken } from '@swarmcast/ads';
import { createAccount, createApiToken, latestEpisodes } from '@swarmcast/catalog';
import { chromiumLaunchOptions, freePort, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * Frequency caps in our own player (issue 13): the player sends its listener id with the
 * VMAP request, the VMAP passes it on to every VAST tag, and the ad server caps per id. One
 * listener (one browser profile, so one stored listener id) opens the demo episode four
 * times (three portal pages and the embed) and plays its pre-roll each time; a sponsorship
 * line item capped at 2 a day fills exactly two of those pre-rolls, and measurement and the
 * ad server both count exactly 2 impressions.
 */
const prereq = requireBinaries('frequency caps in Chromium', 'chromium', 'ffmpeg');
const adminToken = 'caps-admin-token';
const cpmMicros = 12_345_678;
const listenerUa =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe.skipIf(prereq.skip)('a capped line item in the portal player', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;
  let keys: PublicKeys = new Map();
  let episodeId = '';
  let advertiserId = '';
  let campaignId = '';
  let lineItemId = '';
  let buyer = '';
  const previousToken = process.env.SWARMCAST_ADMIN_TOKEN;
  const url = (p: string) => new URL(p, node.url).toString();

  beforeAll(async () => {
    dir = await scratchDir('player-caps');
    process.env.SWARMCAST_ADMIN_TOKEN = adminToken;
    node = await startNode({ port: await freePort(), host: '127.0.0.1', dataDir: join(dir.path, 'node') });
    const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast');
    expect(ep, 'the demo episode with a pre-roll').toBeDefined();
    episodeId = ep!.id;
    const spot = join(dir.path, 'spot.mp3');
    const made = spawnSync(
      'ffmpeg',
      // biome-ignore format: one ffmpeg command line
      ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=550:duration=2', '-ac', '1', '-b:a', '64k', spot],
      { timeout: 30_000 },
    );
    expect(made.status).toBe(0);
    const account = await createAccount(node.db, {
      email: 'capped@e2e.example',
      name: 'Capped buyer',
      password: 'correct horse battery',
      role: 'advertiser',
    });
    if (!account.ok) throw new Error(account.message);
    buyer = await createApiToken(node.db, account.value.id, 'caps');
    const post = async (path: string, body: unknown, token: string) => {
      const res = await fetch(url(path), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
      return (await res.json()) as { id: string };
    };
    advertiserId = (await post('/ads/api/advertisers', { name: 'Capped Co' }, buyer)).id;
    campaignId = (
      await post(
        '/ads/api/campaigns',
        {
          advertiserId,
          name: 'Twice a day',
          startsAt: Date.now() - 3_600_000,
          endsAt: Date.now() + 7 * 86_400_000,
          currency: 'EUR',
          totalBudgetMicros: 1_000_000_000,
        },
        buyer,
      )
    ).id;
    const upload = await fetch(
      url(`/ads/api/creatives?${new URLSearchParams({ advertiser: advertiserId, name: 'Capped spot' })}`),
      {
        method: 'POST',
        headers: { 'content-type': 'audio/mpeg', authorization: `Bearer ${buyer}` },
        body: await readFile(spot),
      },
    );
    expect(upload.status, await upload.clone().text()).toBe(201);
    const creative = (await upload.json()) as { id: string };
    await post(`/ads/api/creatives/${creative.id}/approval`, { state: 'approved' }, adminToken);
    lineItemId = (
      await post(
        '/ads/api/line-items',
        {
          campaignId,
          name: 'Capped',
          priority: 'sponsorship',
          goal: { kind: 'impressions', impressions: 1000 },
          cpmMicros,
          pacing: 'asap',
          caps: [{ max: 2, periodMs: 86_400_000 }],
          creativeIds: [creative.id],
        },
        buyer,
      )
    ).id;
    keys = importPublicKeys(((await (await fetch(url('/ads/keys'))).json()) as { keys: [] }).keys);
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.close();
    if (previousToken === undefined) delete process.env.SWARMCAST_ADMIN_TOKEN;
    else process.env.SWARMCAST_ADMIN_TOKEN = previousToken;
    await dir?.remove();
  });

  it('delivers exactly its cap (2) to one listener over four plays', async () => {
    const context = await browser.newContext({
      userAgent: listenerUa,
      viewport: { width: 1000, height: 800 },
    });
    const vmapLids = new Set<string | null>();
    const cappedImpressions: string[] = [];
    const otherImpressions: string[] = [];
    context.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/ads/vmap') vmapLids.add(u.searchParams.get('lid'));
      if (u.pathname === '/beacon/ad/impression') {
        const v = verifyDecisionToken(u.searchParams.get('t') ?? '', keys, Date.now());
        if (v.ok && v.claims.lineItemId === lineItemId) cappedImpressions.push(v.claims.decisionId);
        else otherImpressions.push(v.ok ? v.claims.lineItemId : 'bad-token');
      }
    });
    // Play 1 (portal page): the pre-roll and the mid-roll both carry the capped spot (two
    // pods, one ad of the campaign each). Plays 2-4 (another page, the embed, a page again):
    // the same listener, so only the house ad.
    const plays: Array<[string, boolean]> = [
      [`/episodes/${episodeId}`, true],
      [`/episodes/${episodeId}`, false],
      [`/embed/${episodeId}`, false],
      [`/episodes/${episodeId}`, false],
    ];
    for (const [i, [path, throughMid]] of plays.entries()) {
      const page = await context.newPage();
      const before = cappedImpressions.length + otherImpressions.length;
      await page.goto(url(path));
      const region = page.getByRole('region', { name: /^Player: / });
      await region.waitFor({ state: 'attached', timeout: 20_000 });
      await region.focus();
      await page.keyboard.press('k');
      // The pre-roll played (its impression beacon went out), then the episode itself.
      await expect
        .poll(() => cappedImpressions.length + otherImpressions.length, { timeout: 60_000, interval: 200 })
        .toBeGreaterThan(before);
      await expect
        .poll(() => page.locator('.sc-content').evaluate((e: HTMLMediaElement) => e.currentTime), {
          timeout: 60_000,
          interval: 200,
        })
        .toBeGreaterThan(0.3);
      if (throughMid)
        await expect.poll(() => cappedImpressions.length, { timeout: 120_000, interval: 250 }).toBe(2);
      expect(cappedImpressions.length, `after play ${i + 1} (${path})`).toBe(2);
      await page.close();
    }
    // One listener id, sent with every VMAP request (portal pages and the embed).
    expect(vmapLids.size).toBe(1);
    const [lid] = [...vmapLids];
    expect(lid).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(cappedImpressions).size).toBe(2);
    expect(otherImpressions.length).toBeGreaterThanOrEqual(3); // the house ad filled plays 2-4

    // Measurement counted exactly the cap, and the ad server's report agrees.
    const day = new Date().toISOString().slice(0, 10);
    const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const auth = { headers: { authorization: `Bearer ${buyer}` } };
    const measured = await waitFor(
      async () => {
        const r = (await (
          await fetch(url(`/api/measure/advertiser/${advertiserId}?from=${day}&to=${next}`), auth)
        ).json()) as { totals: { impressions: number; spendMicros: number } };
        return r.totals.impressions === 2 ? r : null;
      },
      60_000,
      'measurement to count the 2 capped impressions',
    );
    expect(measured!.totals.spendMicros).toBe(2 * Math.floor(cpmMicros / 1000));
    const ads = await waitFor(
      async () => {
        const r = (await (await fetch(url(`/ads/api/campaigns/${campaignId}/report`), auth)).json()) as {
          spendMicros: number;
          lineItems: { impressions: number; decisions: number }[];
        };
        return r.spendMicros === measured!.totals.spendMicros ? r : null;
      },
      30_000,
      'the ad server to apply the measured delivery',
    );
    expect(ads!.lineItems[0]).toMatchObject({ impressions: 2, decisions: 2 });
    await context.close();
  }, 300_000);
});
