/**
 * The advertiser's dashboard in a real Chromium: logged in with a catalog session, an
 * advertiser creates itself, uploads a creative, books a campaign and a targeted, capped
 * line item through the dashboard's forms (seeing the availability of the last 7 days
 * before booking); the store then holds exactly that, owned by the account, and the
 * campaign page shows its targeting and the ads it served.
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
    const app = Fastify({ trustProxy: ['127.0.0.1'] });
    let base = '';
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      shows: async () => [
        { id: 'show-1', title: 'Bugs and Moths', categories: ['technology'] },
        { id: 'show-2', title: 'Garden Hour', categories: ['leisure'] },
      ],
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
      await Promise.all([
        page.waitForEvent('load', { timeout: 120_000 }),
        form.locator('button:not([type="button"])').click(),
      ]);
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

    // Breaks listeners asked for before the booking: what availability counts.
    const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
    const vast = (brk: string, country: string, lid: string, ua = phone) =>
      fetch(`${base}/ads/vast?episode=ep-1&break=${brk}&lid=${lid}`, {
        headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': country, 'user-agent': ua },
      }).then((r) => r.text());
    for (let i = 0; i < 3; i++) await vast('mid-1', 'DE', `listener-${i}00000`);
    await vast('pre', 'DE', 'listener-pre0000');
    await vast('mid-1', 'FR', 'listener-fr00000');
    await vast('mid-1', 'DE', 'listener-pc00000', 'Mozilla/5.0 (X11; Linux x86_64)');

    const li = page.locator('form[data-kind="line-item"]');
    const avail = li.locator('#availability');
    // Every break so far, before any targeting is chosen (asked again: the page is older).
    await li.getByRole('button', { name: 'Check availability' }).click();
    await expect.poll(() => avail.innerText()).toContain('6 matching breaks in the last 7 days');
    await li.locator('input[name="name"]').fill('Mid-rolls');
    await li.locator('select[name="priority"]').selectOption('sponsorship');
    await li.locator('select[name="goalKind"]').selectOption('spend');
    await li.locator('input[name="goalAmount"]').fill('250');
    await li.locator('input[name="cpm"]').fill('12.5');
    await li.locator('select[name="pacing"]').selectOption('asap');
    await li.locator('input[name="startsAt"]').fill('2026-12-02');
    await li.locator('input[name="endsAt"]').fill('2026-12-20');
    await li.locator('select[name="showIds"]').selectOption({ label: 'Bugs and Moths' });
    await li.locator('select[name="categories"]').selectOption(['technology']);
    await li.locator('input[name="languages"]').fill('en');
    await li.getByLabel('Mid-roll').check();
    await li.locator('input[name="countries"]').fill('de');
    await li.getByLabel('Phone').check();
    await li.getByLabel('Tablet').check();
    await li.locator('input[name="capMax"]').fill('1');
    await li.locator('select[name="capPeriod"]').selectOption({ label: 'day' });
    await li.locator('input[name="exclusionCategories"]').fill('Insects, garden');
    await li.locator('select[name="creativeIds"]').selectOption(creative.id);
    // Only the three DE phone mid-rolls match (not the pre-roll, the FR one or the computer).
    await li.getByRole('button', { name: 'Check availability' }).click();
    await expect
      .poll(() => avail.innerText())
      .toBe(
        'Availability: 3 matching breaks in the last 7 days (0 pre-roll, 3 mid-roll, 0 post-roll) of 6 in all. Other line items, caps, budgets and pacing share them.',
      );
    await submit('New line item');
    expect([...store.lineItems.values()]).toEqual([
      expect.objectContaining({
        campaignId: campaign.id,
        name: 'Mid-rolls',
        priority: 'sponsorship',
        goal: { kind: 'spend', micros: 250_000_000 },
        cpmMicros: 12_500_000,
        pacing: 'asap',
        startsAt: Date.UTC(2026, 11, 2),
        endsAt: Date.UTC(2026, 11, 20),
        targeting: {
          showIds: ['show-1'],
          categories: ['technology'],
          languages: ['en'],
          positions: ['mid'],
          countries: ['DE'],
          devices: ['phone', 'tablet'],
        },
        caps: [{ max: 1, periodMs: 86_400_000 }],
        exclusionCategories: ['Insects', 'garden'],
        creativeIds: [creative.id],
      }),
    ]);

    // Its delivery: approved and inside its flight, it serves the DE phone mid-roll once per
    // listener and day, and nothing else.
    store.putCreative({ ...store.creatives.get(creative.id)!, approval: 'approved' });
    clock.set(Date.UTC(2026, 11, 3, 9));
    const served = (xml: string) => xml.includes(`/ads/media/${creative.id}`);
    expect(served(await vast('mid-1', 'DE', 'listener-new0001'))).toBe(true);
    expect(served(await vast('mid-1', 'DE', 'listener-new0001')), 'capped at 1 a day').toBe(false);
    expect(served(await vast('mid-1', 'DE', 'listener-new0002'))).toBe(true);
    expect(served(await vast('pre', 'DE', 'listener-new0003'))).toBe(false);
    expect(served(await vast('mid-1', 'FR', 'listener-new0004'))).toBe(false);
    expect(served(await vast('mid-1', 'DE', 'listener-new0005', 'Mozilla/5.0 (X11; Linux x86_64)'))).toBe(
      false,
    );
    clock.set(Date.UTC(2026, 11, 4, 9, 30));
    expect(served(await vast('mid-1', 'DE', 'listener-new0001')), 'the cap opens the next day').toBe(true);
    await page.goto(`${base}/ads/dashboard/campaigns/${campaign.id}`);
    const body = await page.locator('main').innerText();
    expect(body).toContain(
      'Shows: Bugs and Moths; Categories: technology; Languages: en; Positions: mid-roll; Countries: DE; Devices: phone, tablet. Frequency cap: at most 1 per listener per day. Pacing: asap; flight 2026-12-02 – 2026-12-20.',
    );
    expect(body).toContain('3 decisions');
    await page.goto(`${base}/ads/dashboard`);

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
