import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { episodeAdBudgetMs, importPublicKeys, type PublicKeys, verifyDecisionToken } from '@swarmcast/ads';
import { createAccount, createApiToken, latestEpisodes } from '@swarmcast/catalog';
import { Ledger } from '@swarmcast/ledger';
import { p2pStatus } from '@swarmcast/player/labels';
import { chromiumLaunchOptions, freePort, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { houseIds } from '../src/house-ads.ts';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * Issue 7's end-to-end proof in a real Chromium against a whole node as `npm start` runs it
 * (startNode: real clock, scratch data dir, free port, the demo show whose "Welcome" episode
 * has a pre-roll, a mid-roll after chapter 1 and a post-roll). An advertiser books a paid
 * line item (a 6 s spot at 20 EUR CPM, skippable after 2 s, with a click-through and a text
 * companion). The 16 s episode may carry max(30 s, 25 %) = 30 s of ads in all (ads' ad-load
 * rule), so each of its three breaks has 10 s: one spot, "Ad 1 of 1"; the house ad, which
 * would fit, never follows a paid ad in a pod.
 *
 * 1. Page A plays the episode through: three breaks, three ads (18 s, within the 30 s
 *    budget). After the pipeline runs, the advertiser report counts exactly 3 paid
 *    impressions, starts, quartiles and completes (the house report none), and the ledger
 *    holds exactly 3 x CPM/1000, split 70/30.
 * 2. Page B seeks past the mid-roll: the break plays once, content resumes at the seek
 *    target, and playing across the break again does not replay it.
 * 3. Page C has no WebRTC (RTCPeerConnection removed before any script runs): it still
 *    plays its pre-roll and the episode, every byte from the web seed (its engine's figures).
 * 4. Page B' gets most of its bytes from page A' over WebRTC, measured by both engines (B's
 *    bytes from peers, A's bytes uploaded) with the node's seeder gone so A is B's only peer,
 *    and B's play beacons carry the same figure to the collector.
 * 5. Page D follows the spot's "Learn more" (a new tab, ClickTracking fired, one click in the
 *    report) and skips it with the keyboard once allowed; the episode then plays.
 * Screenshots of each state go to test-results/e2e/.
 *
 * Headless Chromium announces itself as "HeadlessChrome", which the OPAWG bot list (and
 * so measurement's IVT filter) rightly treats as a bot; the listeners here use the user
 * agent of the same Chromium in a window, as a person's browser sends it.
 */
const prereq = requireBinaries('the player end to end in Chromium', 'chromium', 'ffmpeg');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'e2e');
const adminToken = 'e2e-admin-token';
const cpmMicros = 20_000_000;
const listenerUa =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface AdHit {
  event: string;
  position: string;
  podSequence: number;
  campaignId: string;
  decisionId: string;
  creativeDurationMs: number;
}

/**
 * What one page sent: ad beacons (with the claims of their decision tokens, verified with
 * the node's public keys), play beacons, media bytes.
 */
function watch(page: Page, keys: PublicKeys) {
  const ads: AdHit[] = [];
  const plays: { event: string; positionMs: number; bytesFromPeers?: number }[] = [];
  const media: { url: string; status: number; bytes: number }[] = [];
  /** Every request's path (and break, for VAST; position, for ad beacons), in order. */
  const order: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    order.push(u.pathname === '/ads/vast' ? `/ads/vast:${u.searchParams.get('break')}` : u.pathname);
    if (u.pathname.startsWith('/beacon/ad/')) {
      const verified = verifyDecisionToken(u.searchParams.get('t') ?? '', keys, Date.now());
      const claims = verified.ok
        ? verified.claims
        : { position: 'bad-token', podSequence: 0, campaignId: '', decisionId: '', creativeDurationMs: 0 };
      ads.push({
        event: u.pathname.slice('/beacon/ad/'.length),
        position: claims.position,
        podSequence: claims.podSequence,
        campaignId: claims.campaignId,
        decisionId: claims.decisionId,
        creativeDurationMs: claims.creativeDurationMs,
      });
      order[order.length - 1] = `${u.pathname}:${claims.position}`;
    } else if (u.pathname === '/beacon/play') {
      const b = JSON.parse(r.postData() ?? '{}') as {
        event: string;
        positionMs: number;
        bytesFromPeers?: number;
      };
      plays.push({ event: b.event, positionMs: b.positionMs, bytesFromPeers: b.bytesFromPeers });
    }
  });
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/media/')) return;
    const len = Number(r.headers()['content-length'] ?? 0);
    media.push({ url: u.pathname, status: r.status(), bytes: len });
  });
  const count = (event: string, position?: string) =>
    ads.filter((a) => a.event === event && (position === undefined || a.position === position)).length;
  return { ads, plays, media, order, count };
}

describe.skipIf(prereq.skip)('the player end to end against npm start', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;
  let episodeId = '';
  let episodePath = '';
  let creatorId = '';
  let midMs = 0;
  let episodeMs = 0;
  let advertiserId = '';
  let campaignId = '';
  let buyerToken = '';
  let keys: PublicKeys = new Map();
  const previousToken = process.env.SWARMCAST_ADMIN_TOKEN;
  const url = (p: string) => new URL(p, node.url).toString();
  const clickThroughUrl = () => url('/search?q=spring');
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = await scratchDir('player-e2e');
    await mkdir(shots, { recursive: true });
    process.env.SWARMCAST_ADMIN_TOKEN = adminToken;
    node = await startNode({
      port: await freePort(),
      host: '127.0.0.1',
      dataDir: join(dir.path, 'node'),
    });
    const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast');
    expect(ep, 'the demo episode with pre, mid and post breaks').toBeDefined();
    episodeId = ep!.id;
    episodePath = `/media/${ep!.media!.path}`;
    creatorId = ep!.show.ownerId;
    const mid = ep!.adBreaks.find((b) => b.position === 'mid');
    expect(mid).toBeDefined();
    midMs = mid!.offsetMs;
    episodeMs = ep!.durationMs;

    // An advertiser books a paid line item with its own API token; the admin approves the spot.
    const spot = join(dir.path, 'spot.mp3');
    const made = spawnSync(
      'ffmpeg',
      // biome-ignore format: one ffmpeg command line
      ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=660:duration=6', '-ac', '1', '-b:a', '64k', spot],
      { timeout: 30_000 },
    );
    expect(made.status).toBe(0);
    const account = await createAccount(node.db, {
      email: 'buyer@e2e.example',
      name: 'E2E buyer',
      password: 'correct horse battery',
      role: 'advertiser',
    });
    if (!account.ok) throw new Error(account.message);
    const buyer = await createApiToken(node.db, account.value.id, 'e2e');
    buyerToken = buyer;
    const post = async (path: string, body: unknown, token: string) => {
      const res = await fetch(url(path), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
      return (await res.json()) as { id: string };
    };
    advertiserId = (await post('/ads/api/advertisers', { name: 'Spring Audio' }, buyer)).id;
    campaignId = (
      await post(
        '/ads/api/campaigns',
        {
          advertiserId,
          name: 'Spring',
          startsAt: Date.now() - 3_600_000,
          endsAt: Date.now() + 30 * 86_400_000,
          currency: 'EUR',
          totalBudgetMicros: 1_000_000_000,
        },
        buyer,
      )
    ).id;
    const spotQuery = new URLSearchParams({
      advertiser: advertiserId,
      name: 'Spring spot',
      skipOffset: '2',
      clickThrough: clickThroughUrl(),
      companionText: 'Spring sale: 20% off',
    });
    const upload = await fetch(url(`/ads/api/creatives?${spotQuery}`), {
      method: 'POST',
      headers: { 'content-type': 'audio/mpeg', authorization: `Bearer ${buyer}` },
      body: await readFile(spot),
    });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const creative = (await upload.json()) as { id: string };
    await post(`/ads/api/creatives/${creative.id}/approval`, { state: 'approved' }, adminToken);
    await post(
      '/ads/api/line-items',
      {
        campaignId,
        name: 'Run of network',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 100_000 },
        cpmMicros,
        pacing: 'asap',
        creativeIds: [creative.id],
      },
      buyer,
    );
    keys = importPublicKeys(((await (await fetch(url('/ads/keys'))).json()) as { keys: [] }).keys);
    const o = chromiumLaunchOptions(join(dir.path, 'home'));
    // Two headless pages on one machine: offer plain loopback addresses, not mDNS names that
    // nothing here resolves (real listeners use STUN candidates).
    browser = await chromium.launch({
      ...o,
      args: [...o.args, '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await node?.close();
    if (previousToken === undefined) delete process.env.SWARMCAST_ADMIN_TOKEN;
    else process.env.SWARMCAST_ADMIN_TOKEN = previousToken;
    await dir?.remove();
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });

  async function listener(init?: () => void) {
    const context = await browser.newContext({
      userAgent: listenerUa,
      viewport: { width: 1000, height: 800 },
    });
    contexts.push(context);
    if (init) await context.addInitScript(init);
    const page = await context.newPage();
    const seen = watch(page, keys);
    await page.goto(url(`/episodes/${episodeId}`));
    const region = page.getByRole('region', { name: 'Player: Welcome to Swarmcast' });
    await region.waitFor({ state: 'attached', timeout: 20_000 });
    return { page, seen, region, content: page.locator('.sc-content'), label: page.locator('.sc-ad-label') };
  }
  /** The page's swarm engine figures (null until it runs, or when the page plays the origin URL). */
  const engineStats = (p: Page) =>
    p.evaluate(async () => {
      type Stats = {
        peers: number;
        bytesFromPeers: number;
        bytesFromWebSeed: number;
        uploaded: number;
        complete: boolean;
      };
      const host = document.querySelector('[data-swarmcast-player]') as
        | (HTMLElement & { swarmcastPlayer?: { p2p?: Promise<{ engine: { stats(): Stats } } | null> } })
        | null;
      const pb = await host?.swarmcastPlayer?.p2p;
      return pb ? pb.engine.stats() : null;
    });
  const position = (p: Page) =>
    p.locator('.sc-content').evaluate((e: HTMLMediaElement) => e.currentTime * 1000);

  const day = () => new Date().toISOString().slice(0, 10);
  const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  async function delivery(advertiser: string) {
    // Reports need credentials; the node's admin token reads every advertiser's.
    const res = await fetch(url(`/api/measure/advertiser/${advertiser}?from=${day()}&to=${tomorrow()}`), {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      campaigns: Array<{ campaignId: string; spendMicros: number; delivery: Record<string, unknown> }>;
    };
    return r.campaigns;
  }
  /** Waits until the pipeline has judged every beacon sent so far and the paid report reaches `n`. */
  async function settle(n: number) {
    const measure = node.services.measure;
    await waitFor(
      async () => {
        if ((await measure.lag()) !== 0) return false;
        const c = (await delivery(advertiserId)).find((x) => x.campaignId === campaignId);
        return ((c?.delivery.complete as number | undefined) ?? 0) >= n;
      },
      60_000,
      `the pipeline to count ${n} paid completes`,
      250,
    );
    // Beacons still in flight would show up as lag; wait for it to be 0 once more.
    await waitFor(async () => (await measure.lag()) === 0, 30_000, 'the pipeline to be idle');
  }

  const quartiles = ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'];

  it('page A: pre-roll, mid-roll and post-roll pods play in order; the report and the ledger show exactly them', async () => {
    const a = await listener();
    await a.region.focus();
    await a.page.keyboard.press('k');
    // The pre-roll: the paid spot alone (no house ad after it).
    await a.page.locator('.sc-ad-label', { hasText: /^Ad 1 of 1 · / }).waitFor({ timeout: 30_000 });
    // Time left in the spot, rounded up: ffmpeg's "6 s" MP3 lasts 6.034 s (whole frames plus
    // the encoder's padding), so the first instants of the countdown show 0:07.
    expect(await a.label.textContent()).toMatch(/^Ad 1 of 1 · 0:0[0-7]$/);
    // The paid spot is skippable after 2 s: the button counts down, then offers the skip.
    await a.page.locator('.sc-skip', { hasText: /^Skip (in [12]|ad)$/ }).waitFor({ timeout: 10_000 });
    await a.page.screenshot({ path: join(shots, '01-page-a-pre-roll-ad-1-of-1.png') });
    await expect.poll(() => position(a.page), { timeout: 30_000, interval: 200 }).toBeGreaterThan(500);
    expect(await a.label.isVisible()).toBe(false);
    await a.page.screenshot({ path: join(shots, '03-page-a-content.png') });
    // The mid-roll comes when playback crosses its offset, and content resumes there.
    await a.page.locator('.sc-ad-label', { hasText: /^Ad 1 of 1 · / }).waitFor({ timeout: 60_000 });
    expect(await position(a.page)).toBeGreaterThanOrEqual(midMs - 1000);
    await a.page.screenshot({ path: join(shots, '04-page-a-mid-roll.png') });
    await expect.poll(() => a.seen.count('complete', 'post'), { timeout: 120_000, interval: 250 }).toBe(1);
    await a.page.screenshot({ path: join(shots, '05-page-a-after-post-roll.png') });
    await expect.poll(() => a.seen.plays.some((p) => p.event === 'complete'), { timeout: 20_000 }).toBe(true);

    // What the page sent: each break's pod once, the paid spot alone.
    for (const pos of ['pre', 'mid', 'post']) {
      for (const e of quartiles) expect(a.seen.count(e, pos), `${pos} ${e}`).toBe(1);
      const hits = a.seen.ads.filter((h) => h.position === pos && h.event === 'impression');
      expect(hits.map((h) => [h.podSequence, h.campaignId])).toEqual([[1, campaignId]]);
    }
    // The ad load: every ad of the episode together within max(30 s, 25 % of the content).
    const impressions = a.seen.ads.filter((h) => h.event === 'impression');
    const adMs = impressions.reduce((n, h) => n + h.creativeDurationMs, 0);
    expect(episodeMs).toBeLessThan(30_000);
    expect(adMs).toBeGreaterThan(0);
    expect(adMs).toBeLessThanOrEqual(episodeAdBudgetMs(episodeMs));
    expect(a.seen.count('error')).toBe(0);
    expect(a.seen.count('impression', 'bad-token'), 'every beacon carries a token the node signed').toBe(0);
    // Prefetch: the mid-roll's pod was asked, and its creative fetched whole, before
    // the break began to render. (The post-roll's pod may be asked meanwhile too.)
    const midStart = a.seen.order.indexOf('/beacon/ad/impression:mid');
    const midVast = a.seen.order.findIndex((p) => p.startsWith('/ads/vast:mid'));
    expect(midVast).toBeGreaterThan(a.seen.order.lastIndexOf('/beacon/ad/complete:pre'));
    expect(midVast).toBeLessThan(midStart);
    const nextVast = a.seen.order.findIndex((p, i) => i > midVast && p.startsWith('/ads/vast:'));
    const midPod = a.seen.order.slice(midVast, nextVast === -1 ? midStart : Math.min(nextVast, midStart));
    expect(midPod.filter((p) => p.startsWith('/ads/media/')).length, a.seen.order.join(' ')).toBe(1);
    // The episode came from the node's origin (the web seed), in ranges.
    expect(a.seen.media.some((m) => m.url === episodePath && [200, 206].includes(m.status))).toBe(true);
    await a.page.close();

    // What measurement made of it.
    await settle(3);
    const [paid] = (await delivery(advertiserId)).filter((c) => c.campaignId === campaignId);
    expect(paid).toMatchObject({
      spendMicros: (3 * cpmMicros) / 1000,
      delivery: {
        impressions: 3,
        starts: 3,
        firstQuartile: 3,
        midpoint: 3,
        thirdQuartile: 3,
        complete: 3,
        completionRate: 1,
        invalidByReason: {},
      },
    });
    // The house ad never played after the paid spot: its report has no impression.
    const house = (await delivery(houseIds.advertiser)).find((c) => c.campaignId === houseIds.campaign);
    expect((house?.delivery.impressions as number | undefined) ?? 0).toBe(0);
    expect(house?.spendMicros ?? 0).toBe(0);
    const ledger = new Ledger(node.db);
    const charged = (3 * cpmMicros) / 1000;
    expect(await ledger.balance(`advertiser:${advertiserId}`)).toBe(-charged);
    expect(await ledger.balance(`creator:${creatorId}`)).toBe((charged * 70) / 100);
    expect(await ledger.balance('platform')).toBe((charged * 30) / 100);
    expect((await ledger.check()).balanced).toBe(true);
    // The advertiser, signed in with its own token, sees the same figures on its dashboard.
    const own = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${buyerToken}` } });
    contexts.push(own);
    const dashboard = await own.newPage();
    const shown = await dashboard.goto(
      url(`/measure/advertiser/${advertiserId}?from=${day()}&to=${tomorrow()}`),
    );
    expect(shown?.status()).toBe(200);
    await dashboard.screenshot({ path: join(shots, '06-measure-report.png'), fullPage: true });
    await dashboard.close();
  }, 300_000);

  it('page B: a seek past the mid-roll plays that break once, resumes at the target, and never replays it', async () => {
    const b = await listener();
    await b.region.focus();
    await b.page.keyboard.press('k');
    await expect.poll(() => b.seen.count('complete', 'pre'), { timeout: 60_000, interval: 250 }).toBe(1);
    await expect.poll(() => position(b.page), { timeout: 30_000, interval: 200 }).toBeGreaterThan(300);
    expect(await position(b.page)).toBeLessThan(midMs);
    const target = midMs + 2500;
    await b.content.evaluate((e: HTMLMediaElement, t) => {
      e.currentTime = t / 1000;
    }, target);
    await b.page.locator('.sc-ad-label', { hasText: /^Ad 1 of 1 · / }).waitFor({ timeout: 30_000 });
    await b.page.screenshot({ path: join(shots, '07-page-b-seek-past-mid-roll.png') });
    await expect.poll(() => b.seen.count('complete', 'mid'), { timeout: 60_000, interval: 250 }).toBe(1);
    await expect
      .poll(() => position(b.page), { timeout: 30_000, interval: 200 })
      .toBeGreaterThanOrEqual(target);
    await b.page.screenshot({ path: join(shots, '08-page-b-resumed-after-mid-roll.png') });
    // Back before the break and across it again: no second mid-roll.
    await b.content.evaluate((e: HTMLMediaElement, t) => {
      e.currentTime = t / 1000;
    }, midMs - 1500);
    await expect
      .poll(() => position(b.page), { timeout: 30_000, interval: 200 })
      .toBeGreaterThan(midMs + 1000);
    expect(b.seen.count('impression', 'mid')).toBe(1);
    expect(await b.label.isVisible()).toBe(false);
    expect(b.seen.count('error')).toBe(0);
    await b.page.close();
  }, 300_000);

  it('page C: with WebRTC removed, the pre-roll and the episode still play from the web seed', async () => {
    const c = await listener(() => {
      for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel']) {
        Reflect.deleteProperty(globalThis, name);
      }
    });
    expect(
      await c.page.evaluate(() => typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection),
    ).toBe('undefined');
    await c.region.focus();
    await c.page.keyboard.press('k');
    await expect.poll(() => c.seen.count('complete', 'pre'), { timeout: 60_000, interval: 250 }).toBe(1);
    await expect.poll(() => position(c.page), { timeout: 30_000, interval: 200 }).toBeGreaterThan(2000);
    await c.page.screenshot({ path: join(shots, '09-page-c-no-webrtc-playing.png') });
    // The page's engine ran with no WebRTC: no peer, every byte from the web seed.
    const sc = await engineStats(c.page);
    expect(sc).toMatchObject({ peers: 0, bytesFromPeers: 0 });
    expect(sc!.bytesFromWebSeed).toBeGreaterThan(0);
    expect(c.seen.media.some((m) => m.url === episodePath && [200, 206].includes(m.status))).toBe(true);
    expect(c.seen.count('error')).toBe(0);
    await c.page.close();

    // Over all three pages: pre, mid and post of A, pre and mid of B, pre of C.
    await settle(6);
    const [paid] = (await delivery(advertiserId)).filter((x) => x.campaignId === campaignId);
    expect(paid?.delivery).toMatchObject({ impressions: 6, complete: 6, invalidByReason: {} });
    expect(paid?.spendMicros).toBe((6 * cpmMicros) / 1000);
    expect(await new Ledger(node.db).balance(`advertiser:${advertiserId}`)).toBe((-6 * cpmMicros) / 1000);
  }, 300_000);

  it('page B gets most of its bytes from page A over WebRTC (measured by both engines)', async () => {
    const a = await listener();
    await waitFor(async () => (await engineStats(a.page)) !== null, 30_000, 'page A to start its engine');
    await a.region.focus();
    await a.page.keyboard.press('k');
    await waitFor(
      async () => (await engineStats(a.page))?.complete === true,
      90_000,
      'page A to hold the episode',
    );
    // Page A holds every piece. The node's own seeder now leaves the swarm, so the only peer
    // page B can meet is page A, and A's upload counter tells what B got from it.
    await node.services.seeding?.close();
    const b = await listener();
    await waitFor(async () => (await engineStats(b.page)) !== null, 30_000, 'page B to start its engine');
    await b.region.focus();
    await b.page.keyboard.press('k');
    await waitFor(
      async () => (await engineStats(b.page))?.complete === true,
      90_000,
      'page B to hold the episode',
    );
    await expect.poll(() => position(b.page), { timeout: 60_000, interval: 250 }).toBeGreaterThan(1000);
    const sa = (await engineStats(a.page))!;
    const sb = (await engineStats(b.page))!;
    const share = sb.bytesFromPeers / (sb.bytesFromPeers + sb.bytesFromWebSeed);
    console.log(
      `page B: ${sb.bytesFromPeers} B from peers, ${sb.bytesFromWebSeed} B from the web seed (${(100 * share).toFixed(1)}% from peers); page A uploaded ${sa.uploaded} B`,
    );
    await b.page.screenshot({ path: join(shots, '10-page-b-from-page-a.png') });
    expect(sb.peers).toBe(1);
    expect(share).toBeGreaterThan(0.5);
    // A was B's only peer: its uploads account for B's bytes from peers.
    expect(sa.uploaded).toBeGreaterThanOrEqual(sb.bytesFromPeers);
    expect(b.seen.media.some((m) => m.url === episodePath)).toBe(true);
    // The player shows it, and its play beacons carry the same figures to the collector
    // (the last one, sent as the listener leaves).
    await b.page
      .locator('.sc-peers', { hasText: p2pStatus(1, sb.bytesFromPeers, sb.bytesFromWebSeed).text })
      .waitFor({ timeout: 10_000 });
    await b.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide')));
    await expect
      .poll(() => b.seen.plays.find((x) => x.event === 'stop')?.bytesFromPeers, { timeout: 15_000 })
      .toBe(sb.bytesFromPeers);
  }, 300_000);

  it('page D: the spot shows its companion, "Learn more" opens the advertiser and counts a click, Enter skips it', async () => {
    const d = await listener();
    await d.region.focus();
    await d.page.keyboard.press('k');
    await d.page.locator('.sc-ad-label', { hasText: /^Ad 1 of 1 · / }).waitFor({ timeout: 30_000 });
    const companion = d.page.getByRole('complementary', { name: 'Advertisement' });
    await companion.getByText('Spring sale: 20% off').waitFor({ timeout: 10_000 });
    // Pause the spot (k) so the rest happens inside it, however slow the machine. The pause
    // was polled for the default second only, which a loaded machine overran (CI, load 2-13).
    await d.page.keyboard.press('k');
    await expect
      .poll(() => d.page.locator('.sc-ad').evaluate((e: HTMLMediaElement) => e.paused), { timeout: 15_000 })
      .toBe(true);
    const [tab] = await Promise.all([
      d.page.waitForEvent('popup', { timeout: 15_000 }),
      d.page.getByRole('link', { name: /^Learn more about this ad/ }).click(),
    ]);
    expect(tab.url()).toBe(clickThroughUrl());
    await tab.close();
    await expect.poll(() => d.seen.count('click', 'pre'), { timeout: 10_000 }).toBe(1);
    // Resume, and skip with the keyboard once the offset has passed.
    await d.region.focus();
    await d.page.keyboard.press('k');
    const skip = d.page.locator('.sc-skip', { hasText: 'Skip ad' });
    await skip.waitFor({ timeout: 15_000 });
    await d.page.screenshot({ path: join(shots, '11-page-d-skippable-spot-with-companion.png') });
    await skip.focus();
    await d.page.keyboard.press('Enter');
    await expect.poll(() => d.seen.count('skip', 'pre'), { timeout: 10_000 }).toBe(1);
    // The pod held only the spot: the episode plays next.
    await expect.poll(() => position(d.page), { timeout: 30_000, interval: 200 }).toBeGreaterThan(300);
    expect(await d.label.isVisible()).toBe(false);
    const paid = d.seen.ads.filter((h) => h.campaignId === campaignId);
    expect(paid.filter((h) => h.event === 'impression')).toHaveLength(1);
    expect(paid.filter((h) => h.event === 'complete')).toHaveLength(0);
    // The collector counts the click for the campaign (no other page clicked).
    await waitFor(
      async () =>
        (await node.services.measure.lag()) === 0 &&
        ((await delivery(advertiserId)).find((c) => c.campaignId === campaignId)?.delivery
          .clicks as number) >= 1,
      60_000,
      'the click to be counted',
      250,
    );
    const [report] = (await delivery(advertiserId)).filter((c) => c.campaignId === campaignId);
    expect(report?.delivery.clicks).toBe(1);
  }, 300_000);
});
