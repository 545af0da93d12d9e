import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseTranscript, toWebVtt } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayerBundle } from '../build/bundle.ts';

/**
 * Captions in the Swarmcast player, in Chromium: a creator's SRT transcript, converted to
 * WebVTT by the catalog as the node does on upload, is the player's <track kind=captions>;
 * a CC button (and the "c" key) shows it as a caption line synced with the audio.
 */
const prereq = requireBinaries('player captions in a real browser', 'chromium', 'ffmpeg');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'player');

const srt = `1
00:00:00,000 --> 00:00:02,500
Ada: Welcome to the swarm & friends.

2
00:00:02,500 --> 00:00:30,000
The second caption follows the audio.
`;

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

describe.skipIf(prereq.skip)('player captions in Chromium', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let server: Server;
  let browser: Browser;
  let base = '';
  let vtt = '';

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    const r = spawnSync(
      'ffmpeg',
      // biome-ignore format: one ffmpeg command line
      ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=30', '-b:a', '64k', join(dir.path, 'content.mp3')],
      { timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    const content = await readFile(join(dir.path, 'content.mp3'));
    const parsed = parseTranscript(new TextEncoder().encode(srt));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value.format).toBe('srt');
    vtt = toWebVtt(parsed.value.cues);
    const bundle = await buildPlayerBundle();
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          '<!doctype html><html lang="en"><body><div id="p" data-swarmcast-player data-src="/media/content.mp3" data-episode="ep-c" data-captions="/media/ep-c.vtt" data-srclang="en" data-title="Captions"></div><script src="/player.js"></script></body></html>',
        );
      } else if (url.pathname === '/player.js') {
        res.writeHead(200, { 'content-type': 'application/javascript' });
        res.end(bundle);
      } else if (url.pathname === '/media/content.mp3') serveRange(req, res, content, 'audio/mpeg');
      else if (url.pathname === '/media/ep-c.vtt') {
        res.writeHead(200, { 'content-type': 'text/vtt; charset=utf-8' });
        res.end(vtt);
      } else if (url.pathname === '/beacon/play') {
        req.resume();
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await dir?.remove();
  });

  it('shows the transcript as synced captions, switched by the CC button and the keyboard', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const cc = page.locator('.sc-cc');
    const line = page.locator('.sc-captions');
    await cc.waitFor({ state: 'visible' });
    // The track the element loads: captions, in the transcript's language.
    expect(
      await page.evaluate(() => {
        const t = document.querySelector('.sc-content track') as HTMLTrackElement;
        return { kind: t.kind, srclang: t.srclang, src: t.getAttribute('src') };
      }),
    ).toEqual({ kind: 'captions', srclang: 'en', src: '/media/ep-c.vtt' });
    expect(await cc.getAttribute('aria-pressed')).toBe('false');
    expect(await cc.getAttribute('aria-label')).toBe('Captions');

    // Keyboard only: focus reaches the CC button with Tab, Enter switches captions on.
    let steps = 0;
    while (!(await cc.evaluate((b) => b === document.activeElement)) && steps++ < 20)
      await page.keyboard.press('Tab');
    expect(await cc.evaluate((b) => b === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await cc.getAttribute('aria-pressed')).toBe('true');

    await page.evaluate(() => (document.querySelector('.sc-content') as HTMLMediaElement).play());
    await page.waitForFunction(
      () => document.querySelector('.sc-captions')?.textContent === 'Ada: Welcome to the swarm & friends.',
      undefined,
      { timeout: 30_000 },
    );
    expect(await line.isVisible()).toBe(true);
    await page.screenshot({ path: join(shots, 'captions-on.png') });
    // Synced: the next cue replaces the first as the audio passes 2.5 s.
    await page.waitForFunction(
      () => document.querySelector('.sc-captions')?.textContent === 'The second caption follows the audio.',
      undefined,
      { timeout: 30_000 },
    );
    expect(
      await page.evaluate(() => (document.querySelector('.sc-content') as HTMLMediaElement).currentTime),
    ).toBeGreaterThanOrEqual(2.5);

    // "c" with focus in the player switches them off; the choice is remembered on reload.
    await page.locator('.sc-player').focus();
    await page.keyboard.press('c');
    expect(await cc.getAttribute('aria-pressed')).toBe('false');
    expect(await line.isHidden()).toBe(true);
    await page.keyboard.press('c');
    expect(await cc.getAttribute('aria-pressed')).toBe('true');
    await page.reload();
    await cc.waitFor({ state: 'visible' });
    expect(await cc.getAttribute('aria-pressed')).toBe('true');
    await page.close();
  }, 120_000);
});
