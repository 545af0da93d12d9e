import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAdBeacon, parsePlayBeacon } from '@swarmcast/measure';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayerBundle } from '../build/bundle.ts';

const prereq = requireBinaries('player in a real browser', 'chromium', 'ffmpeg');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'player');

const vmap = (base: string, suffix = '') => `<?xml version="1.0" encoding="UTF-8"?>
<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0">
<vmap:AdBreak timeOffset="start" breakType="linear" breakId="pre${suffix}"><vmap:AdSource id="pre-s" allowMultipleAds="false" followRedirects="true"><vmap:AdTagURI templateType="vast4">${base}/ads/vast?break=pre${suffix}</vmap:AdTagURI></vmap:AdSource></vmap:AdBreak>
<vmap:AdBreak timeOffset="00:00:04.000" breakType="linear" breakId="mid${suffix}"><vmap:AdSource id="mid-s" allowMultipleAds="false" followRedirects="true"><vmap:AdTagURI templateType="vast4">${base}/ads/vast?break=mid${suffix}</vmap:AdTagURI></vmap:AdSource></vmap:AdBreak>
</vmap:VMAP>`;
const macros = '&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]';
const adXml = (base: string, brk: string, seq: number) => `<Ad id="ad-${brk}" sequence="${seq}"><InLine>
<AdSystem>test</AdSystem><AdServingId>dec-${brk}</AdServingId><AdTitle>t</AdTitle>
<Impression><![CDATA[${base}/beacon/ad/impression?t=${brk}${macros}]]></Impression>
<Error><![CDATA[${base}/beacon/ad/error?t=${brk}${macros}&code=[ERRORCODE]]]></Error>
<Creatives><Creative id="c"><UniversalAdId idRegistry="test">ad</UniversalAdId><Linear><Duration>00:00:02.000</Duration>
<TrackingEvents>${['start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete']
  .map((e) => `<Tracking event="${e}"><![CDATA[${base}/beacon/ad/${e}?t=${brk}${macros}]]></Tracking>`)
  .join('')}</TrackingEvents>
<MediaFiles>${
  brk.endsWith('4')
    ? `<MediaFile delivery="progressive" type="video/mp4" width="160" height="120"><![CDATA[${base}/media/ad.mp4]]></MediaFile>`
    : `<MediaFile delivery="progressive" type="audio/mpeg" bitrate="64"><![CDATA[${base}/media/${brk === 'pre2' ? 'missing' : 'ad'}.mp3]]></MediaFile>`
}</MediaFiles>
</Linear></Creative></Creatives></InLine></Ad>`;
// ep-5's pre-roll: an 8 s ad skippable after 1 s, with a click-through and an image companion.
const skippableXml = (base: string) => `<Ad id="ad-pre5" sequence="1"><InLine>
<AdSystem>test</AdSystem><AdServingId>dec-pre5</AdServingId><AdTitle>t</AdTitle>
<Impression><![CDATA[${base}/beacon/ad/impression?t=pre5${macros}]]></Impression>
<Error><![CDATA[${base}/beacon/ad/error?t=pre5${macros}&code=[ERRORCODE]]]></Error>
<Creatives><Creative id="c5"><Linear skipoffset="00:00:01.000"><Duration>00:00:08.000</Duration>
<TrackingEvents>${['start', 'firstQuartile', 'complete', 'skip']
  .map((e) => `<Tracking event="${e}"><![CDATA[${base}/beacon/ad/${e}?t=pre5${macros}]]></Tracking>`)
  .join('')}</TrackingEvents>
<MediaFiles><MediaFile delivery="progressive" type="audio/mpeg" bitrate="64"><![CDATA[${base}/media/ad-long.mp3]]></MediaFile></MediaFiles>
<VideoClicks><ClickTracking><![CDATA[${base}/beacon/ad/click?t=pre5${macros}]]></ClickTracking><ClickThrough><![CDATA[${base}/landing?from=ad]]></ClickThrough></VideoClicks>
</Linear></Creative>
<Creative id="c5-companion"><CompanionAds><Companion width="300" height="60"><StaticResource creativeType="image/png"><![CDATA[${base}/media/companion.png]]></StaticResource><AltText>Spring sale at the test shop</AltText><CompanionClickThrough><![CDATA[${base}/landing?from=companion]]></CompanionClickThrough></Companion></CompanionAds></Creative>
</Creatives></InLine></Ad>`;
// The ep-2 mid-roll is a pod of two ads (t=mid2a, t=mid2b); every other break one ad.
const vast = (base: string, brk: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><VAST version="4.3" xmlns="http://www.iab.com/VAST">${
    brk === 'mid2'
      ? adXml(base, 'mid2b', 2) + adXml(base, 'mid2a', 1)
      : brk === 'pre5'
        ? skippableXml(base)
        : adXml(base, brk, 1)
  }</VAST>`;

function serveRange(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m) {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'bytes' });
    res.end(body);
    return;
  }
  const start = Number(m[1]);
  const end = Math.min(body.length - 1, m[2] ? Number(m[2]) : body.length - 1);
  res.writeHead(206, {
    'content-type': type,
    'content-length': end - start + 1,
    'content-range': `bytes ${start}-${end}/${body.length}`,
    'accept-ranges': 'bytes',
  });
  res.end(body.subarray(start, end + 1));
}

describe.skipIf(prereq.skip)('the player in Chromium', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let server: Server;
  let browser: Browser;
  let base = '';
  const adBeacons: { event: string; query: Record<string, string> }[] = [];
  /** Every request the stub served, in order (path, query, Range header). */
  const requests: { path: string; query: Record<string, string>; range: string | null }[] = [];
  const playBeacons: unknown[] = [];

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    for (const [name, secs, freq] of [
      ['content.mp3', 7, 440],
      ['ad.mp3', 2, 880],
      ['ad-long.mp3', 8, 660],
    ] as const) {
      const r = spawnSync(
        'ffmpeg',
        [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          `sine=frequency=${freq}:duration=${secs}`,
          '-b:a',
          '64k',
          join(dir.path, name),
        ],
        { timeout: 30_000 },
      );
      expect(r.status).toBe(0);
    }
    for (const [name, secs] of [
      ['content.mp4', 4],
      ['ad.mp4', 2],
    ] as const) {
      const r = spawnSync(
        'ffmpeg',
        // biome-ignore format: one ffmpeg command line
        ['-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${secs}`, '-f', 'lavfi', '-i', `sine=frequency=500:duration=${secs}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', join(dir.path, name)],
        { timeout: 60_000 },
      );
      expect(r.status).toBe(0);
    }
    const png = spawnSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'color=c=orange:s=300x60',
        '-frames:v',
        '1',
        join(dir.path, 'c.png'),
      ],
      { timeout: 30_000 },
    );
    expect(png.status).toBe(0);
    const companionPng = await readFile(join(dir.path, 'c.png'));
    const adLong = await readFile(join(dir.path, 'ad-long.mp3'));
    const videoContent = await readFile(join(dir.path, 'content.mp4'));
    const videoAd = await readFile(join(dir.path, 'ad.mp4'));
    const content = await readFile(join(dir.path, 'content.mp3'));
    const ad = await readFile(join(dir.path, 'ad.mp3'));
    const bundle = await buildPlayerBundle();
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', base);
      requests.push({
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        range: req.headers.range ?? null,
      });
      const ep = ['ep-2', 'ep-4', 'ep-5'].includes(url.searchParams.get('episode') ?? '')
        ? (url.searchParams.get('episode') as string)
        : 'ep-1';
      if (url.pathname === '/video') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          '<!doctype html><html><body><swarmcast-player kind="video" src="/media/content.mp4" episode="ep-4" vmap="/ads/vmap?episode=ep-4" title="Video"></swarmcast-player><script src="/player.js"></script></body></html>',
        );
      } else if (url.pathname === '/embed') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          '<!doctype html><html><body><swarmcast-player src="/media/content.mp3" episode="ep-3" title="Embed"></swarmcast-player><script src="/player.js"></script></body></html>',
        );
      } else if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<!doctype html><html><body><div id="p" data-swarmcast-player data-src="/media/content.mp3" data-episode="${ep}" data-vmap="/ads/vmap?episode=${ep}" data-title="Test"></div><script src="/player.js"></script></body></html>`,
        );
      } else if (url.pathname === '/player.js') {
        res.writeHead(200, { 'content-type': 'application/javascript' });
        res.end(bundle);
      } else if (url.pathname === '/media/content.mp3') serveRange(req, res, content, 'audio/mpeg');
      else if (url.pathname === '/media/ad.mp3') serveRange(req, res, ad, 'audio/mpeg');
      else if (url.pathname === '/media/ad-long.mp3') serveRange(req, res, adLong, 'audio/mpeg');
      else if (url.pathname === '/media/companion.png') serveRange(req, res, companionPng, 'image/png');
      else if (url.pathname === '/landing') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>Landing</title><h1>The advertiser</h1>');
      } else if (url.pathname === '/media/content.mp4') serveRange(req, res, videoContent, 'video/mp4');
      else if (url.pathname === '/media/ad.mp4') serveRange(req, res, videoAd, 'video/mp4');
      else if (url.pathname === '/ads/vmap') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(vmap(base, ep === 'ep-1' ? '' : ep.slice(3)));
      } else if (url.pathname === '/ads/vast') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(vast(base, url.searchParams.get('break') ?? ''));
      } else if (url.pathname.startsWith('/beacon/ad/')) {
        adBeacons.push({
          event: url.pathname.slice('/beacon/ad/'.length),
          query: Object.fromEntries(url.searchParams),
        });
        res.writeHead(204);
        res.end();
      } else if (url.pathname === '/beacon/play' && req.method === 'POST') {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => {
          playBeacons.push(JSON.parse(body));
          res.writeHead(204);
          res.end();
        });
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await dir?.remove();
  });

  it('plays a pre-roll, the content, a mid-roll once, and the beacons reach the collector', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('.sc-content').waitFor({ state: 'attached' });
    await page.evaluate(() => (document.querySelector('.sc-content') as HTMLMediaElement).play());
    await page.locator('.sc-ad-label').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('.sc-ad-label').textContent()).toMatch(/^Ad 1 of 1 · 0:0[0-2]$/);
    await page.screenshot({ path: join(shots, '01-pre-roll.png') });
    const count = (e: string, brk: string) =>
      adBeacons.filter((b) => b.event === e && b.query.t === brk).length;
    await expect.poll(() => count('complete', 'mid'), { timeout: 30_000, interval: 250 }).toBe(1);
    await expect
      .poll(() => playBeacons.some((b) => (b as { event: string }).event === 'complete'), { timeout: 20_000 })
      .toBe(true);
    await page.screenshot({ path: join(shots, '02-ended.png') });

    for (const brk of ['pre', 'mid']) {
      for (const e of ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete']) {
        expect(count(e, brk), `${brk} ${e}`).toBe(1);
      }
    }
    expect(adBeacons.filter((b) => b.event === 'error')).toEqual([]);
    // Every beacon parses in the collector with its macros filled.
    for (const b of adBeacons) {
      const r = parseAdBeacon(b.event, b.query);
      expect(r.ok, JSON.stringify(b)).toBe(true);
      expect(b.query.ts).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(b.query.ah).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    }
    // Impression comes before start-of-quartiles for each break; the mid-roll's after the pre-roll's complete.
    const order = adBeacons.map((b) => `${b.query.t}:${b.event}`);
    expect(order.indexOf('pre:impression')).toBeLessThan(order.indexOf('pre:firstQuartile'));
    expect(order.indexOf('pre:complete')).toBeLessThan(order.indexOf('mid:impression'));
    // Prefetch: each break's creative was fetched whole, once, by the player (no Range: the
    // element never went to the network), and the mid-roll's pod and media were in hand
    // before that break began to render.
    const adMedia = requests.filter((r) => r.path === '/media/ad.mp3');
    expect(adMedia.map((r) => r.range)).toEqual([null, null]);
    const at = (f: (r: (typeof requests)[number]) => boolean) => requests.findIndex(f);
    const midImpression = at((r) => r.path === '/beacon/ad/impression' && r.query.t === 'mid');
    expect(at((r) => r.path === '/ads/vast' && r.query.break === 'mid')).toBeLessThan(midImpression);
    expect(requests.lastIndexOf(adMedia[1] as (typeof requests)[number])).toBeLessThan(midImpression);
    const events = playBeacons.map((b) => (b as { event: string }).event);
    expect(events[0]).toBe('start');
    expect(events.at(-1)).toBe('complete');
    for (const b of playBeacons) expect(parsePlayBeacon(b).ok, JSON.stringify(b)).toBe(true);
    const last = playBeacons.at(-1) as { listenedMs: number; listenerId: string | null; seq: number };
    expect(last.listenerId).toMatch(/^[0-9a-f]{32}$/);
    expect(last.seq).toBe(playBeacons.length - 1);
    // Content resumed where it was: nearly all of the 7 s were listened to, and no more.
    expect(last.listenedMs).toBeGreaterThan(5_000);
    expect(last.listenedMs).toBeLessThanOrEqual(7_300);
    await page.close();
  }, 90_000);

  it('a broken pre-roll is reported and content plays; a seek past a mid-roll plays it once', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/?episode=ep-2`);
    await page.locator('.sc-content').waitFor({ state: 'attached' });
    const count = (e: string, brk: string) =>
      adBeacons.filter((b) => b.event === e && b.query.t === brk).length;
    await page.evaluate(() => (document.querySelector('.sc-content') as HTMLMediaElement).play());
    await expect.poll(() => count('error', 'pre2'), { timeout: 15_000, interval: 200 }).toBe(1);
    const err = adBeacons.find((b) => b.event === 'error' && b.query.t === 'pre2');
    expect([400, 401, 403, 405]).toContain(Number(err?.query.code));
    expect(count('impression', 'pre2')).toBe(0);
    // Content plays although the ad failed.
    const content = page.locator('.sc-content');
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.currentTime), {
        timeout: 10_000,
        interval: 100,
      })
      .toBeGreaterThan(0.3);
    expect(await content.evaluate((e: HTMLMediaElement) => e.currentTime)).toBeLessThan(4);
    // Seek past the 4 s mid-roll: it plays once, then content resumes at the seek target.
    await content.evaluate((e: HTMLMediaElement) => {
      e.currentTime = 5.5;
    });
    await page
      .locator('.sc-ad-label', { hasText: /^Ad 2 of 2/ })
      .waitFor({ state: 'visible', timeout: 15_000 });
    await expect.poll(() => count('complete', 'mid2b'), { timeout: 15_000, interval: 200 }).toBe(1);
    await page.screenshot({ path: join(shots, '03-after-seek-mid-roll.png') });
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.currentTime), { timeout: 5_000, interval: 100 })
      .toBeGreaterThanOrEqual(5.5);
    // Seek back before the break and play across it again: no replay.
    await content.evaluate((e: HTMLMediaElement) => {
      e.currentTime = 3;
    });
    await expect
      .poll(
        () =>
          playBeacons.filter(
            (b) =>
              (b as { episodeId: string; event: string }).episodeId === 'ep-2' &&
              (b as { event: string }).event === 'complete',
          ).length,
        { timeout: 20_000, interval: 200 },
      )
      .toBe(1);
    // The pod played in sequence order, each ad once.
    for (const t of ['mid2a', 'mid2b']) {
      for (const e of ['impression', 'start', 'complete']) expect(count(e, t), `${t} ${e}`).toBe(1);
    }
    const order = adBeacons.map((b) => `${b.query.t}:${b.event}`);
    expect(order.indexOf('mid2a:complete')).toBeLessThan(order.indexOf('mid2b:impression'));
    await page.close();
  }, 90_000);

  it('a skippable ad: countdown, skip button, click-through with tracking, companion; the pre-roll is fetched on intent', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/?episode=ep-5`);
    const region = page.getByRole('region', { name: 'Player: Test' });
    await region.waitFor({ state: 'attached' });
    const count = (e: string) => adBeacons.filter((b) => b.event === e && b.query.t === 'pre5').length;
    // Focus in the player is intent: the pre-roll's pod and creative arrive before any play.
    await region.focus();
    await expect
      .poll(() => requests.filter((r) => r.path === '/media/ad-long.mp3').length, { timeout: 15_000 })
      .toBe(1);
    expect(requests.some((r) => r.path === '/ads/vast' && r.query.break === 'pre5')).toBe(true);
    expect(count('impression')).toBe(0);
    await page.keyboard.press('k');
    const label = page.locator('.sc-ad-label');
    await label.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await label.textContent()).toMatch(/^Ad 1 of 1 · 0:0[5-8]$/);
    const skip = page.getByRole('button', { name: /^Skip/ });
    const companion = page.getByRole('complementary', { name: 'Advertisement' });
    await expect.poll(() => companion.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await companion.getByRole('img', { name: 'Spring sale at the test shop' }).isVisible()).toBe(true);
    expect(
      await companion.getByRole('link').getAttribute('href'),
      'the companion links to its click-through',
    ).toBe(`${base}/landing?from=companion`);
    await page.locator('.sc-skip', { hasText: 'Skip ad' }).waitFor({ state: 'visible', timeout: 15_000 });
    await page.screenshot({ path: join(shots, '06-skippable-ad-with-companion.png') });
    // Learn more opens the advertiser in a new tab and fires ClickTracking once.
    const [landing] = await Promise.all([
      page.waitForEvent('popup', { timeout: 10_000 }),
      page.getByRole('link', { name: /^Learn more about this ad/ }).click(),
    ]);
    await landing.waitForLoadState();
    expect(landing.url()).toBe(`${base}/landing?from=ad`);
    await landing.close();
    await expect.poll(() => count('click'), { timeout: 5_000 }).toBe(1);
    // Keyboard: Enter on the focused skip button skips; content then plays.
    await skip.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => count('skip'), { timeout: 5_000 }).toBe(1);
    const content = page.locator('.sc-content');
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.currentTime), { timeout: 10_000 })
      .toBeGreaterThan(0.2);
    expect(await companion.isVisible()).toBe(false);
    expect(count('impression')).toBe(1);
    expect(count('complete')).toBe(0);
    expect(count('error')).toBe(0);
    for (const b of adBeacons.filter((x) => x.query.t === 'pre5')) {
      expect(parseAdBeacon(b.event, b.query).ok, JSON.stringify(b)).toBe(true);
    }
    await page.close();
  }, 90_000);

  it('the <swarmcast-player> element mounts a keyboard-operable player with no ads', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/embed`);
    const region = page.getByRole('region', { name: 'Player: Embed' });
    await region.waitFor({ state: 'attached' });
    // No torrent given: the indicator says the audio comes from the server (the label people read).
    expect(await page.locator('swarmcast-player .sc-peers').textContent()).toBe('Streaming from the server');
    await region.focus();
    await page.keyboard.press('k');
    await expect
      .poll(() => playBeacons.some((b) => (b as { episodeId: string }).episodeId === 'ep-3'), {
        timeout: 10_000,
      })
      .toBe(true);
    const content = page.locator('swarmcast-player .sc-content');
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.currentTime), { timeout: 10_000 })
      .toBeGreaterThan(0.2);
    await page.keyboard.press('k');
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.paused), { timeout: 5_000 })
      .toBe(true);
    await page.screenshot({ path: join(shots, '04-embed-paused.png') });
    await page.close();
  }, 60_000);

  it('video: impression then start at the first frame, no error, content resumes after the pre-roll', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/video`);
    const content = page.locator('swarmcast-player video.sc-content');
    await content.waitFor({ state: 'attached' });
    await content.evaluate((e: HTMLMediaElement) => e.play());
    const count = (e: string, brk: string) =>
      adBeacons.filter((b) => b.event === e && b.query.t === brk).length;
    await expect.poll(() => count('impression', 'pre4'), { timeout: 15_000, interval: 100 }).toBe(1);
    await page.screenshot({ path: join(shots, '05-video-pre-roll.png') });
    await expect.poll(() => count('complete', 'pre4'), { timeout: 15_000, interval: 200 }).toBe(1);
    const order = adBeacons.filter((b) => b.query.t === 'pre4').map((b) => b.event);
    expect(order.slice(0, 2)).toEqual(['impression', 'start']);
    await expect
      .poll(() => content.evaluate((e: HTMLMediaElement) => e.currentTime), {
        timeout: 10_000,
        interval: 100,
      })
      .toBeGreaterThan(0.3);
    expect(adBeacons.filter((b) => b.event === 'error' && b.query.t === 'pre4')).toEqual([]);
    await page.close();
  }, 60_000);
});
