import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

const prereq = requireBinaries('portal in a real browser', 'chromium');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'web');

/**
 * The proof in a real Chromium: a creator signs up, creates a show, uploads with
 * progress, marks ad breaks and publishes; a visitor searches, finds it and plays it.
 */
describe.skipIf(prereq.skip)('the portal in Chromium', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  });
  afterAll(async () => {
    await browser?.close();
    await node?.close();
    await dir?.remove();
  });

  it('a creator signs up, uploads, marks ad breaks and publishes; a visitor finds and plays it', async () => {
    const creator = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await creator.newPage();
    await page.goto(new URL('/signup', node.url).toString());
    await page.getByLabel('Name').fill('Grace Hopper');
    await page.getByLabel('Email').fill('grace@example.org');
    await page.getByLabel('Password').fill('a long enough password');
    await page.screenshot({ path: join(shots, '01-signup.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/dashboard$/);

    await page.getByLabel('Title').fill('Compilers <and> Coffee');
    await page.getByLabel('Address').fill('compilers-coffee');
    await page.getByLabel('Description').fill('Talks about nanoseconds and debugging moths.');
    await page.getByLabel('Category').fill('technology');
    await page.screenshot({ path: join(shots, '02-dashboard.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create show' }).click();
    await page.waitForURL(/\/dashboard\/shows\/compilers-coffee$/);

    // Before an upload, only the file picker shows: the publish form waits for the probe.
    expect(await page.locator('#publish-form').isVisible()).toBe(false);
    await page.getByLabel('Media file').setInputFiles(join(demoMediaDir, 'welcome.mp3'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#publish-form').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.locator('#upload-progress').evaluate((p: HTMLProgressElement) => p.value)).toBe(100);
    await expect.poll(() => page.locator('#upload-status').textContent()).toMatch(/Uploaded: audio/);
    await page.getByLabel('Episode title').fill('Nanoseconds, explained');
    await page.getByLabel('Pre-roll').check();
    await page.getByLabel(/Ad breaks$/).check(); // the chapter called "Ad breaks"
    await page.screenshot({ path: join(shots, '03-upload-and-ad-breaks.png'), fullPage: true });
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(/\/episodes\/[0-9a-f-]{36}$/);
    const episodeUrl = page.url();
    expect(await page.locator('h1').textContent()).toBe('Nanoseconds, explained');
    // Listeners do not see where the ad breaks are; the creator's dashboard lists them.
    expect(await page.getByText(/Ad breaks: pre/).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Torrent file' }).getAttribute('href')).toMatch(/\.torrent$/);
    expect(await page.getByRole('link', { name: 'Magnet link' }).getAttribute('href')).toMatch(
      /^magnet:\?xt=urn:btih:/,
    );
    await page.screenshot({ path: join(shots, '04-published-episode.png'), fullPage: true });
    await page.goto(new URL('/dashboard/shows/compilers-coffee', node.url).toString());
    expect(await page.getByRole('link', { name: /^pre, mid 0:09/ }).count()).toBe(1);
    await creator.close();

    const visitor = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const v = await visitor.newPage();
    await v.goto(node.url);
    await v.getByRole('searchbox', { name: /search/i }).fill('nanoseconds');
    await v.keyboard.press('Enter');
    await v.waitForURL(/\/search\?q=nanoseconds/);
    await v.screenshot({ path: join(shots, '05-search-mobile.png'), fullPage: true });
    await v.getByRole('link', { name: 'Nanoseconds, explained' }).click();
    await v.waitForURL(episodeUrl);
    // The Swarmcast player mounts its own content element; pressing play runs the episode's
    // pre-roll (the node's house ad) first, then the content from where it was.
    const content = v.locator('[data-swarmcast-player] audio.sc-content');
    await content.waitFor({ state: 'attached' });
    // Episode pages play peer-to-peer: the element plays the origin URL marked for the swarm.
    await v.waitForFunction(
      () => (document.querySelector('audio.sc-content') as HTMLAudioElement).src.includes('sc-p2p='),
      null,
      { timeout: 30_000 },
    );
    const played = await content.evaluate(async (audio: HTMLAudioElement) => {
      audio.muted = true;
      // The player pauses the content for the pre-roll, which may interrupt this play() promise.
      await audio.play().catch(() => undefined);
      const start = performance.now();
      while (audio.currentTime < 1 && performance.now() - start < 30_000)
        await new Promise((r) => setTimeout(r, 100));
      return { time: audio.currentTime, duration: audio.duration, error: audio.error?.code ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.time).toBeGreaterThanOrEqual(1);
    expect(played.duration).toBeGreaterThan(15);
    await v.screenshot({ path: join(shots, '06-playing-mobile.png'), fullPage: true });
    await visitor.close();
  });
});
