import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * A creator uploads an episode's transcript as a file from the dashboard, in Chromium: a
 * broken SRT and a file that is not text are refused beside the form in the creator's words
 * (which caption, what is wrong, how to write it); a good SRT is saved, linked, and becomes
 * the player's captions (WebVTT) on the episode page.
 */
const prereq = requireBinaries('transcript upload in a real browser', 'chromium');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'site');

describe.skipIf(prereq.skip)('transcript file upload in the dashboard', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;
  let cookie = '';
  let episodeId = '';
  const url = (p: string) => new URL(p, node.url).toString();

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node'), demo: false });
    const origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'lin@example.org',
        name: 'Lin',
        password: 'a long enough password',
        role: 'creator',
      }),
    });
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const api = (path: string, body: BodyInit, type = 'application/json') =>
      fetch(url(path), { method: 'POST', headers: { cookie, origin, 'content-type': type }, body });
    expect((await api('/api/shows', JSON.stringify({ slug: 'lin', title: 'Lin talks' }))).status).toBe(201);
    const up = await api(
      '/api/uploads',
      new Uint8Array(await readFile(join(demoMediaDir, 'welcome.mp3'))),
      'application/octet-stream',
    );
    const { id: uploadId } = (await up.json()) as { id: string };
    const ep = await api('/api/shows/lin/episodes', JSON.stringify({ uploadId, title: 'With captions' }));
    expect(ep.status).toBe(201);
    episodeId = ((await ep.json()) as { id: string }).id;
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await node?.close();
    await dir?.remove();
  });

  it('refuses bad files in the creator words and saves a good SRT as captions', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const [name, value] = cookie.split('=') as [string, string];
    await ctx.addCookies([{ name, value, url: node.url }]);
    const page = await ctx.newPage();
    await page.goto(url(`/dashboard/episodes/${episodeId}`));
    const file = page.getByLabel('Transcript file');
    const status = page.locator('#transcript-status');
    const save = page.getByRole('button', { name: 'Save transcript' });

    await file.setInputFiles({
      name: 'backwards.srt',
      mimeType: 'application/x-subrip',
      buffer: Buffer.from(
        '1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:09,000 --> 00:00:04,000\nOops\n',
      ),
    });
    await save.click();
    await expect
      .poll(() => status.textContent(), { timeout: 30_000 })
      .toBe(
        'backwards.srt was not saved: SRT caption 2 ("00:00:09,000 --> 00:00:04,000"): it ends at 0:00:04, before it starts at 0:00:09.',
      );
    expect(await file.getAttribute('aria-invalid')).toBe('true');
    expect(await status.getAttribute('role')).toBe('alert');
    await page.locator('#transcript-form').screenshot({ path: join(shots, 'transcript-refused.png') });

    await file.setInputFiles({
      name: 'cover.png',
      mimeType: 'image/png',
      buffer: await readFile(join(demoMediaDir, 'artwork.png')),
    });
    await save.click();
    await expect
      .poll(() => status.textContent(), { timeout: 30_000 })
      .toBe(
        'cover.png was not saved: this file is not text (a transcript is an .srt, .vtt or .json text file, UTF-8).',
      );

    await file.setInputFiles({
      name: 'episode.srt',
      mimeType: 'application/x-subrip',
      buffer: Buffer.from('1\n00:00:00,000 --> 00:00:03,000\nWelcome to Lin talks.\n'),
    });
    await page.getByLabel('Language').fill('en');
    await save.click();
    await page.waitForURL(/\?saved=transcript/);
    expect(await page.locator('#transcript-h + ul').textContent()).toBe('en: SRT');
    await page.locator('#transcript-form').screenshot({ path: join(shots, 'transcript-saved.png') });

    // The episode page's player gets it as captions: the WebVTT the node made from the SRT.
    await page.goto(url(`/episodes/${episodeId}`));
    const captions = await page.locator('[data-swarmcast-player]').getAttribute('data-captions');
    expect(captions).toMatch(/\.vtt$/);
    const vtt = await (await fetch(new URL(captions as string, node.url))).text();
    expect(vtt).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nWelcome to Lin talks.\n');
    await ctx.close();
  }, 180_000);
});
