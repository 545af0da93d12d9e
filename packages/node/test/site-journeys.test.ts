import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createAccount, createApiToken, demoMediaDir, getShow, latestEpisodes } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { houseAdFile } from '../src/house-ads.ts';
import { type RunningNode, startNode } from '../src/index.ts';
import { seedLeaseName } from '../src/seed-roster.ts';

const prereq = requireBinaries('site journeys in a real browser', 'chromium');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'site');
const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Issue 15's proof in Chromium, on one node and one browser: a creator signs up and
 * publishes (a mid-roll after the end is refused in the browser, in clock terms), a listener
 * subscribes, plays, jumps and uses chapters, an admin (an account) approves a creative.
 * Every page is screenshot at 1280 and 375 px (test-results/site/), must not scroll
 * sideways at 375 px, and must have no serious or critical axe-core violations.
 */
describe.skipIf(prereq.skip)('the site in Chromium', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;
  const url = (p: string) => new URL(p, node.url).toString();
  const checked: string[] = [];

  /** Screenshots at both widths, no sideways scroll at 375 px, no serious/critical axe findings. */
  async function check(page: Page, name: string) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(shots, `${name}-1280.png`), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(shots, `${name}-375.png`), fullPage: true });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(wide, `${name} scrolls sideways at 375 px`).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.addScriptTag({ content: await axeSource });
    const found = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run(
              o: unknown,
            ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
          };
        }
      ).axe;
      const r = await axe.run({ resultTypes: ['violations'] });
      return r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map(
          (v) =>
            `${v.id} (${v.impact}): ${v.nodes
              .map((n) => n.target.join(' '))
              .slice(0, 3)
              .join(', ')}`,
        );
    });
    expect(found, `${name}: axe`).toEqual([]);
    checked.push(name);
  }

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    // Behind a proxy on loopback (the country header is believed only from a trusted proxy).
    node = await startNode({
      port: 0,
      host: '127.0.0.1',
      dataDir: join(dir.path, 'node'),
      trustProxy: ['127.0.0.1'],
    });
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  });
  afterAll(async () => {
    await browser?.close();
    await node?.close();
    await dir?.remove();
  }, 600_000);

  it('a creator signs up and publishes; the public pages, report and 404 pass', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    for (const [path, name] of [
      ['/', 'home'],
      ['/search?q=welc', 'search'],
      ['/shows/swarmcast-demo', 'show'],
      ['/login', 'login'],
      ['/signup', 'signup'],
      ['/no/such/page', 'not-found'],
      ['/measure/admin', 'report-logged-out'],
    ] as const) {
      await page.goto(url(path));
      await check(page, name);
    }
    expect(await page.getByRole('link', { name: 'Log in' }).first().getAttribute('href')).toMatch(/^\/login/);

    await page.goto(url('/signup'));
    await page.getByLabel('Name').fill('Grace');
    await page.getByLabel('Email').fill('grace@example.org');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/dashboard$/);
    await check(page, 'creator-dashboard');
    await page.getByLabel('Title').fill('Moths and Bugs');
    await page.getByLabel('Address').fill('moths');
    await page.getByLabel('Category').fill('Technology');
    await page.getByRole('button', { name: 'Create show' }).click();
    await page.waitForURL(/\/dashboard\/shows\/moths$/);
    await page.getByLabel('Media file').setInputFiles(join(demoMediaDir, 'welcome.mp3'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#publish-form').waitFor({ state: 'visible', timeout: 60_000 });
    await page.getByLabel('Episode title').fill('The first moth');
    await page.getByLabel('Mid-rolls at').fill('0:45');
    // Checked in the browser, said the way the creator typed it; the form is not sent.
    await expect
      .poll(() => page.locator('.mid-error').textContent())
      .toBe('0:45 must be before 0:16, the end of the episode');
    await page.getByRole('button', { name: 'Publish' }).click();
    expect(page.url()).toMatch(/\/dashboard\/shows\/moths$/);
    await check(page, 'publish-error');
    await page.getByLabel('Mid-rolls at').fill('0:05');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(/\/episodes\/[0-9a-f-]{36}$/);
    await page.goto(url('/dashboard/shows/moths'));
    expect(await page.getByText('Ready for Apple Podcasts?').count()).toBe(1);
    await check(page, 'show-dashboard');
    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.waitForURL(/\/measure\/creator\//);
    expect(await page.locator('figure.bars').count()).toBeGreaterThanOrEqual(5);
    await check(page, 'report');
    await ctx.close();
  }, 600_000);

  it('a listener subscribes, plays, jumps and uses chapters, by keyboard too', async () => {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(url('/search?q=welc'));
    await page.getByRole('link', { name: 'Welcome to Swarmcast' }).first().click();
    await page.waitForURL(/\/episodes\//);
    for (const app of ['Apple Podcasts', 'Pocket Casts', 'Overcast', 'AntennaPod'])
      expect(await page.getByRole('link', { name: app }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Copy RSS' }).count()).toBe(1);
    expect(await page.getByText(/^Info-hash v1/).isVisible()).toBe(false);
    const content = page.locator('audio.sc-content');
    await content.waitFor({ state: 'attached', timeout: 60_000 });
    expect(await content.getAttribute('aria-label')).toBe('Episode: Welcome to Swarmcast');
    await page.getByRole('button', { name: 'Forward 30 seconds' }).waitFor();
    await page.getByLabel('Speed').selectOption('1.5');
    expect(await content.evaluate((a: HTMLAudioElement) => a.playbackRate)).toBe(1.5);
    await check(page, 'episode');
    // Keyboard alone: tab to the chapter "Ad breaks" and press Enter: playback moves there
    // (the pre-roll plays first; the position is kept for after it).
    const chapter = page.getByRole('button', { name: /0:09 Ad breaks/ });
    await chapter.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => content.evaluate((a: HTMLAudioElement) => a.currentTime), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(8);
    await page.screenshot({ path: join(shots, 'episode-playing-375.png'), fullPage: true });
    await ctx.close();
  }, 600_000);

  it('an admin is an account: logs in, sees users, approves a creative', async () => {
    const made = await createAccount(node.catalog.db, {
      email: 'boss@example.org',
      name: 'Boss',
      password: 'a long enough password',
      role: 'admin',
    });
    expect(made.ok).toBe(true);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(url('/admin'));
    expect(await page.getByRole('heading', { name: 'Please log in' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Log in' }).last().click();
    await page.getByLabel('Email').fill('boss@example.org');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/admin$/);
    expect(await page.getByRole('cell', { name: 'grace@example.org' }).count()).toBe(1);
    await check(page, 'admin');
    await page.getByRole('link', { name: 'Creative approval' }).click();
    await page.waitForURL(/\/ads\/dashboard\/creatives$/);
    await check(page, 'creatives');
    const reject = page.getByRole('button', { name: /^Reject / }).first();
    // Rejecting needs a reason for the advertiser: without one nothing is sent.
    await reject.click();
    await expect.poll(() => page.locator('#approval-result').textContent()).toContain('Say why');
    expect(await page.locator('td .badge.danger').count()).toBe(0);
    await page
      .getByLabel(/^Reason/)
      .first()
      .fill('The spot is too quiet.');
    await reject.click();
    await expect.poll(() => page.locator('.badge.danger').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByText('Reason: The spot is too quiet.').count()).toBe(1);
    const approve = page.getByRole('button', { name: /^Approve / }).first();
    await approve.click();
    await expect.poll(() => page.locator('td .badge.danger').count()).toBe(0);
    await page.goto(url('/measure/admin'));
    expect(await page.getByRole('heading', { name: 'Invalid traffic by reason' }).count()).toBe(1);
    await check(page, 'measure-admin');
    // Suspending grace (the creator above): she cannot log in until reinstated.
    await page.goto(url('/admin'));
    const graceRow = page.getByRole('row', { name: /grace@example\.org/ });
    await graceRow.getByRole('button', { name: 'Suspend Grace' }).click();
    await page.waitForURL(/\/admin\?saved=1$/);
    expect(await graceRow.getByText(/^suspended /).count()).toBe(1);
    await check(page, 'admin-suspended');
    const other = await browser.newContext();
    const login = await other.newPage();
    await login.goto(url('/login'));
    await login.getByLabel('Email').fill('grace@example.org');
    await login.getByLabel('Password').fill('a long enough password');
    await login.getByRole('button', { name: 'Log in' }).click();
    await login.getByText('this account is suspended').waitFor();
    await graceRow.getByRole('button', { name: 'Reinstate Grace' }).click();
    await page.waitForURL(/\/admin\?saved=1$/);
    await login.getByLabel('Password').fill('a long enough password');
    await login.getByRole('button', { name: 'Log in' }).click();
    await login.waitForURL(/\/dashboard$/);
    await other.close();
    // Taking an episode down: gone from its page, the show and the origin; the record stays.
    const swarm = (await latestEpisodes(node.catalog.db, 20)).find((e) => e.title === 'How the swarm works')!;
    const served = await fetch(url(`/media/${swarm.media!.path}`));
    expect(served.status).toBe(200);
    // Read to the end: an unread body holds its connection, and the node's close waits for it.
    await served.arrayBuffer();
    await page.goto(url('/admin'));
    await page.getByRole('link', { name: 'Content takedown' }).click();
    await page.waitForURL(/\/admin\/content$/);
    await check(page, 'admin-content');
    const swarmRow = page.getByRole('row', { name: /How the swarm works/ });
    await swarmRow
      .getByLabel('Reason for taking down How the swarm works')
      .fill('Uses a song without a licence');
    await swarmRow.getByRole('button', { name: 'Take down How the swarm works' }).click();
    await page.waitForURL(/\/admin\/content\?saved=1$/);
    const record = page.getByRole('table', { name: 'Taken-down episodes' });
    expect(await record.getByRole('cell', { name: 'Uses a song without a licence' }).count()).toBe(1);
    expect(await record.getByRole('cell', { name: /boss@example\.org/ }).count()).toBe(1);
    await check(page, 'admin-content-taken-down');
    expect((await fetch(url(`/episodes/${swarm.id}`))).status).toBe(404);
    const gone = await fetch(url(`/media/${swarm.media!.path}`));
    expect([gone.status, ((await gone.json()) as { code: string }).code]).toEqual([410, 'CAT_TAKEN_DOWN']);
    const showPage = await (await fetch(url('/shows/swarmcast-demo'))).text();
    expect(showPage).not.toContain('How the swarm works');
    expect(showPage).toContain('Welcome to Swarmcast');
    const feed = await (await fetch(url('/shows/swarmcast-demo/feed.xml'))).text();
    expect(feed).toContain('Welcome to Swarmcast');
    expect(feed).not.toContain('How the swarm works');

    // A whole show (Grace's): page, feed, episodes, files, search and seeding go; the record
    // stays; she cannot delete it meanwhile; reinstating (by API, the admin's token) brings
    // back what was live.
    const moth = (await latestEpisodes(node.catalog.db, 20)).find((e) => e.title === 'The first moth')!;
    const lease = seedLeaseName({ infoHash: moth.torrent!.infoHashV1 });
    await waitFor(
      () => node.services.roster?.held().includes(lease),
      30_000,
      'the moth episode to be seeded',
    );
    const status = async (p: string) => {
      const r = await fetch(url(p));
      await r.arrayBuffer();
      return r.status;
    };
    const mothUrls = [
      '/shows/moths',
      '/shows/moths/feed.xml',
      `/episodes/${moth.id}`,
      `/media/${moth.media!.path}`,
    ];
    expect(await Promise.all(mothUrls.map(status))).toEqual([200, 200, 200, 200]);
    const showRow = page.getByRole('row', { name: /Moths and Bugs/ });
    await showRow
      .getByLabel('Reason for taking down the show Moths and Bugs')
      .fill('Impersonates another show');
    await showRow.getByRole('button', { name: 'Take down show Moths and Bugs' }).click();
    await page.waitForURL(/\/admin\/content\?saved=1$/);
    const shows = page.getByRole('table', { name: 'Taken-down shows' });
    expect(await shows.getByRole('cell', { name: 'Impersonates another show' }).count()).toBe(1);
    expect(
      await page.getByRole('table', { name: 'Shows', exact: true }).getByText('Moths and Bugs').count(),
    ).toBe(0);
    await check(page, 'admin-content-show-taken-down');
    expect(await Promise.all(mothUrls.map(status))).toEqual([410, 410, 404, 410]);
    expect(await status(`/episodes/${moth.id}.torrent`)).toBe(404);
    expect(await (await fetch(url('/search?q=moth'))).text()).not.toContain('The first moth');
    expect(await (await fetch(url('/'))).text()).not.toContain('Moths and Bugs');
    await waitFor(
      () => !node.services.roster?.held().includes(lease),
      30_000,
      'the moth episode to be unseeded',
    );
    const grace = await createApiToken(
      node.catalog.db,
      (await getShow(node.catalog.db, 'moths'))!.ownerId,
      't',
    );
    const boss = await createApiToken(node.catalog.db, made.ok ? made.value.id : '', 't');
    const api = (p: string, method: string, token: string, body?: unknown) =>
      fetch(url(p), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const kept = await api('/api/shows/moths', 'DELETE', grace);
    expect([kept.status, ((await kept.json()) as { error: { code: string } }).error.code]).toEqual([
      410,
      'CAT_TAKEN_DOWN',
    ]);
    expect((await api('/api/shows/moths', 'GET', grace)).status).toBe(200);
    expect((await fetch(url('/api/shows/moths'))).status).toBe(410);
    expect((await api('/api/shows/moths/takedown', 'DELETE', grace)).status).toBe(403);
    expect((await api('/api/shows/moths/takedown', 'PUT', boss, { reason: 'again' })).status).toBe(404);
    expect((await api('/api/shows/moths/takedown', 'DELETE', boss)).status).toBe(204);
    expect(await Promise.all(mothUrls.map(status))).toEqual([200, 200, 200, 200]);
    await waitFor(
      () => node.services.roster?.held().includes(lease),
      30_000,
      'the moth episode to be seeded again',
    );
    expect((await api('/api/shows/moths/takedown', 'PUT', boss, { reason: ' ' })).status).toBe(400);

    await page.goto(url('/ads/dashboard'));
    await check(page, 'ads-dashboard');
    await ctx.close();
    expect(checked.length).toBeGreaterThanOrEqual(15);
  }, 600_000);

  it('an advertiser books a targeted, capped line item after seeing its availability; an admin approves the spot; its delivery shows', async () => {
    const made = await createAccount(node.catalog.db, {
      email: 'buyer@example.org',
      name: 'Moth Traps',
      password: 'a long enough password',
      role: 'advertiser',
    });
    expect(made.ok).toBe(true);
    const welcome = (await latestEpisodes(node.catalog.db, 20)).find(
      (e) => e.title === 'Welcome to Swarmcast',
    )!;
    // Breaks listeners asked for this week: three German phones and a French one, pre-roll.
    const phoneUa =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
    for (const country of ['DE', 'DE', 'DE', 'FR']) {
      const r = await fetch(url(`/ads/vast?episode=${welcome.id}&break=pre`), {
        headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': country, 'user-agent': phoneUa },
      });
      expect(r.status).toBe(200);
    }
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(url('/login?next=/ads/dashboard'));
    await page.getByLabel('Email').fill('buyer@example.org');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/ads\/dashboard$/);
    const submit = async (kind: string) => {
      await Promise.all([
        page.waitForEvent('load'),
        page.locator(`form[data-kind="${kind}"] button:not([type="button"])`).click(),
      ]);
    };
    await page.locator('form[data-kind="advertiser"] input[name="name"]').fill('Moth Traps Ltd');
    await submit('advertiser');
    const up = page.locator('form[data-kind="creative"]');
    await up.locator('input[name="name"]').fill('Moth spot');
    await up.locator('input[name="clickThrough"]').fill(url('/search?q=moth'));
    await up.locator('input[name="file"]').setInputFiles(houseAdFile);
    await submit('creative');
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const camp = page.locator('form[data-kind="campaign"]');
    await camp.locator('input[name="name"]').fill('Moth season');
    await camp.locator('input[name="startsAt"]').fill(day(Date.now() - 86_400_000));
    await camp.locator('input[name="endsAt"]').fill(day(Date.now() + 30 * 86_400_000));
    await camp.locator('input[name="totalBudget"]').fill('100');
    await submit('campaign');

    const li = page.locator('form[data-kind="line-item"]');
    await li.locator('input[name="name"]').fill('German phones, pre-roll');
    await li.locator('select[name="priority"]').selectOption('sponsorship');
    await li.locator('input[name="goalAmount"]').fill('1000');
    await li.locator('input[name="cpm"]').fill('10');
    await li.locator('select[name="showIds"]').selectOption({ label: 'The Swarmcast Demo' });
    await li.getByLabel('Pre-roll').check();
    await li.locator('input[name="countries"]').fill('DE');
    await li.getByLabel('Phone').check();
    await li.locator('input[name="capMax"]').fill('1');
    await li.locator('select[name="capPeriod"]').selectOption({ label: 'day' });
    await li.locator('select[name="creativeIds"]').selectOption({ label: 'Moth spot (pending)' });
    await li.getByRole('button', { name: 'Check availability' }).click();
    await expect
      .poll(() => li.locator('#availability').innerText())
      .toMatch(/^Availability: 3 matching breaks in the last 7 days \(3 pre-roll, 0 mid-roll, 0 post-roll\)/);
    await check(page, 'ads-line-item-form');
    await submit('line-item');
    await page.getByRole('link', { name: 'Moth season' }).click();
    await page.waitForURL(/\/ads\/dashboard\/campaigns\//);
    const campaignUrl = page.url();
    expect(await page.locator('main').innerText()).toContain(
      'Shows: The Swarmcast Demo; Positions: pre-roll; Countries: DE; Devices: phone. Frequency cap: at most 1 per listener per day.',
    );

    // The admin rejects the spot with a reason the advertiser reads, then approves it.
    const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const admin = await adminCtx.newPage();
    await admin.goto(url('/login?next=/ads/dashboard/creatives'));
    await admin.getByLabel('Email').fill('boss@example.org');
    await admin.getByLabel('Password').fill('a long enough password');
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.waitForURL(/\/ads\/dashboard\/creatives$/);
    const row = admin.getByRole('row', { name: /Moth spot/ });
    await row.getByLabel(/^Reason/).fill('Say the brand name in the first 5 seconds.');
    await row.getByRole('button', { name: 'Reject Moth spot' }).click();
    await expect.poll(() => row.locator('.badge').innerText()).toBe('rejected');
    await page.goto(url('/ads/dashboard/creatives'));
    expect(await page.getByText('Reason: Say the brand name in the first 5 seconds.').count()).toBe(1);
    await check(page, 'ads-creatives-rejected');
    await row.getByLabel(/^Reason/).fill('');
    await row.getByRole('button', { name: 'Approve Moth spot' }).click();
    await expect.poll(() => row.locator('.badge').innerText()).toBe('approved');
    await adminCtx.close();

    // A listener on a German phone plays the episode: the spot is its pre-roll.
    const listener = await browser.newContext({
      viewport: { width: 375, height: 800 },
      userAgent: phoneUa,
      extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.8', 'x-swarmcast-country': 'DE' },
    });
    const lp = await listener.newPage();
    const spots: string[] = [];
    lp.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/ads/media/')) spots.push(u.pathname);
    });
    await lp.goto(url(`/episodes/${welcome.id}`));
    const region = lp.getByRole('region', { name: /^Player: / });
    await region.waitFor({ state: 'attached', timeout: 60_000 });
    await region.focus();
    await lp.keyboard.press('k');
    await lp.locator('.sc-ad-label', { hasText: /^Ad 1 of 1 · / }).waitFor({ timeout: 120_000 });
    await expect
      .poll(() => lp.locator('.sc-content').evaluate((e: HTMLMediaElement) => e.currentTime), {
        timeout: 120_000,
      })
      .toBeGreaterThan(0.3);
    expect(spots.some((p) => !p.includes('swarmcast-house'))).toBe(true);
    await listener.close();

    // Its delivery: one ad served, then measured from the player's beacons.
    await expect
      .poll(
        async () => {
          await page.goto(campaignUrl);
          return page.locator('main').innerText();
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toContain('Measured: 1 impressions');
    expect(await page.locator('main').innerText()).toContain('1 decisions');
    await check(page, 'ads-campaign-delivery');
    await ctx.close();
  }, 600_000);
});
