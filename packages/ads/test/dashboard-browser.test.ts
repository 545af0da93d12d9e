/**
 * The advertiser's dashboard in a real Chromium: logged in with a catalog session, an
 * advertiser creates itself, uploads a creative, books a campaign and a line item through
 * the dashboard's forms; the store then holds exactly that, owned by the account.
 */
import { join } from 'node:path';
import { ManualClock } from '@swarmcast/platform';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import Fastify from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { AdsStore, adsPlugin, generateSigningKey, keyRing } from '../src/index.ts';
import { testAccounts, testCookie } from './accounts.ts';
import { episode, episodeLookup, t0 } from './helpers.ts';

const chrome = requireBinaries('ads dashboard in Chromium', 'chromium');
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe.skipIf(chrome.skip)('advertiser dashboard forms', () => {
  it('books a campaign end to end from the dashboard', async () => {
    const dir = await scratchDir('ads-dash-');
    cleanup.push(() => dir.remove());
    const clock = new ManualClock(t0);
    const accounts = await testAccounts(clock);
    cleanup.push(() => accounts.close());
    const me = await accounts.account('advertiser');
    const store = new AdsStore();
    const app = Fastify();
    let base = '';
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      keys: () => keyRing(generateSigningKey('k')),
      clock,
      publicUrl: () => base,
      mediaDir: dir.path,
      adminToken: '',
      auth: accounts.auth,
      store,
      publishCreative: false,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => app.close());
    const browser: Browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
    cleanup.push(() => browser.close());
    const context = await browser.newContext();
    await context.addCookies([{ name: testCookie, value: me.session, url: base }]);
    const page = await context.newPage();
    // Generous: the machine this runs on may be loaded far beyond its cores.
    page.setDefaultTimeout(120_000);
    const submit = async (legend: string) => {
      const form = page.locator('form', { has: page.locator('legend', { hasText: legend }) });
      await Promise.all([page.waitForEvent('load', { timeout: 120_000 }), form.locator('button').click()]);
    };

    await page.goto(`${base}/ads/dashboard`);
    await page.getByLabel('Name').first().fill('Acme from the dashboard');
    await submit('New advertiser');
    const advertiser = [...store.advertisers.values()][0]!;
    expect(advertiser).toMatchObject({ name: 'Acme from the dashboard', ownerAccountId: me.id });

    const upload = page.locator('form[data-kind="creative"]');
    await upload.locator('input[name="name"]').fill('Spot one');
    await upload.locator('input[name="skipOffset"]').fill('5');
    await upload
      .locator('input[name="file"]')
      .setInputFiles(join(import.meta.dirname, 'fixtures/ad-15s.mp3'));
    await submit('Upload a creative');
    const creative = [...store.creatives.values()][0]!;
    expect(creative).toMatchObject({ name: 'Spot one', advertiserId: advertiser.id, skipOffsetMs: 5_000 });

    const camp = page.locator('form[data-kind="campaign"]');
    await camp.locator('input[name="name"]').fill('Winter');
    await camp.locator('input[name="startsAt"]').fill('2026-12-01');
    await camp.locator('input[name="endsAt"]').fill('2026-12-31');
    await camp.locator('input[name="totalBudget"]').fill('1500.50');
    await camp.locator('input[name="dailyBudget"]').fill('100');
    await submit('New campaign');
    const campaign = [...store.campaigns.values()][0]!;
    expect(campaign).toMatchObject({
      name: 'Winter',
      advertiserId: advertiser.id,
      startsAt: Date.UTC(2026, 11, 1),
      endsAt: Date.UTC(2026, 11, 31),
      totalBudgetMicros: 1_500_500_000,
      dailyBudgetMicros: 100_000_000,
    });
    expect(await page.locator('table').innerText()).toContain('Winter');

    const li = page.locator('form[data-kind="line-item"]');
    await li.locator('input[name="name"]').fill('Mid-rolls');
    await li.locator('input[name="impressions"]').fill('20000');
    await li.locator('input[name="cpm"]').fill('12.5');
    await li.locator('select[name="creativeIds"]').selectOption(creative.id);
    await submit('New line item');
    expect([...store.lineItems.values()]).toEqual([
      expect.objectContaining({
        campaignId: campaign.id,
        name: 'Mid-rolls',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 20_000 },
        cpmMicros: 12_500_000,
        creativeIds: [creative.id],
      }),
    ]);

    // A request the API refuses (a flight that ends before it starts) shows its coded error.
    await camp.locator('input[name="name"]').fill('Backwards');
    await camp.locator('input[name="startsAt"]').fill('2026-12-31');
    await camp.locator('input[name="endsAt"]').fill('2026-12-01');
    await camp.locator('input[name="totalBudget"]').fill('10');
    await camp.locator('button').click();
    await expect
      .poll(() => page.locator('#buy-result').innerText(), { timeout: 120_000 })
      .toContain('ADS_BAD_REQUEST');
    expect(store.campaigns.size).toBe(1);
    expect(store.lineItems.size).toBe(1);
  }, 600_000);
});
