import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAccount, latestEpisodes, setTranscript } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

const prereq = requireBinaries('embedded player in a real browser', 'chromium');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'web');

let node: RunningNode;
let dir: Awaited<ReturnType<typeof scratchDir>>;
const url = (p: string) => new URL(p, node.url).toString();
const htmlText = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

beforeAll(async () => {
  dir = await scratchDir('embed');
  node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
}, 60_000);
afterAll(async () => {
  await node?.close();
  await dir?.remove();
});

async function episode(title: string) {
  const e = (await latestEpisodes(node.db, 10)).find((x) => x.title === title);
  expect(e, title).toBeDefined();
  return e!;
}

/** The iframe code as the episode page offers it (the textarea's text, unescaped). */
async function embedCodeOf(id: string): Promise<string> {
  const page = await (await fetch(url(`/episodes/${id}`))).text();
  const m = /<textarea id="embed-code"[^>]*>([^<]*)<\/textarea>/.exec(page);
  expect(m, 'the episode page has the embed code').not.toBeNull();
  return htmlText(m![1]!);
}

describe('the embed route and code', () => {
  it('every episode page offers an <iframe> of /embed/<id>, and that page may be framed (no other may)', async () => {
    const e = await episode('How the swarm works');
    const code = await embedCodeOf(e.id);
    expect(code).toMatch(/^<iframe src="[^"]+" title="How the swarm works \(Swarmcast player\)"/);
    const src = /src="([^"]+)"/.exec(code)![1]!;
    expect(src).toBe(url(`/embed/${e.id}`));
    const res = await fetch(src);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe('frame-ancestors *');
    const body = await res.text();
    expect(body).toContain(
      `<swarmcast-player src="${url(`/media/${e.media!.path}`)}" episode="${e.id}" kind="audio"`,
    );
    expect(body).toContain('/assets/player.js');
    // The portal pages themselves stay unframeable.
    const episodePage = await fetch(url(`/episodes/${e.id}`));
    expect(episodePage.headers.get('x-frame-options')).toBe('DENY');
  });

  it("the embedded player gets the episode's transcript as captions (its WebVTT)", async () => {
    const e = await episode('How the swarm works');
    const admin = await createAccount(node.db, {
      email: 'embed-admin@example.org',
      name: 'Admin',
      password: 'a long enough password',
      role: 'admin',
    });
    if (!admin.ok) throw new Error(admin.message);
    const set = await setTranscript(
      node.catalog,
      admin.value,
      e.id,
      new TextEncoder().encode('1\n00:00:00,000 --> 00:00:02,000\nHow the swarm works.\n'),
      'en',
    );
    if (!set.ok) throw new Error(set.message);
    const vtt = set.value.transcripts[0]!.vttPath;
    const body = await (await fetch(url(`/embed/${e.id}`))).text();
    expect(body).toContain(` captions="${url(`/media/${vtt}`)}" srclang="en"`);
    expect(await (await fetch(url(`/media/${vtt}`))).text()).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHow the swarm works.\n',
    );
  });

  it('a video episode gets a video-sized frame and a video element', async () => {
    const e = await episode('A short video episode');
    const code = await embedCodeOf(e.id);
    expect(code).toContain('width="640" height="460"');
    expect(await (await fetch(url(`/embed/${e.id}`))).text()).toContain('kind="video"');
  });

  it.each([
    ['an unknown id', 'no-such-episode', 404],
    ['markup in the id', '%3Cscript%3Ealert(1)%3C%2Fscript%3E', 404],
    // Fastify refuses a path parameter over its length limit before the route runs.
    ['a very long id', 'x'.repeat(5000), 414],
    ['a path-like id', '..%2F..%2Fetc%2Fpasswd', 404],
  ])('hostile input: %s is a %i that echoes nothing', async (_name, id, status) => {
    const res = await fetch(url(`/embed/${id}`));
    expect(res.status).toBe(status);
    const body = await res.text();
    expect(body).not.toContain('<script>');
    expect(body).not.toContain('alert');
    expect(body).not.toContain('passwd');
  });
});

describe.skipIf(prereq.skip)('the embedded player in Chromium', () => {
  let browser: Browser;
  let host: Server;
  let hostBase = '';
  let hostPage = '';

  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    // Another site (another origin) that pastes the embed code.
    host = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(hostPage);
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    hostBase = `http://localhost:${(host.address() as AddressInfo).port}`;
    browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => host?.close(r));
  });

  it('the episode page copies the embed code with the keyboard', async () => {
    const e = await episode('How the swarm works');
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(node.url).origin,
    });
    const page = await context.newPage();
    await page.goto(url(`/episodes/${e.id}`));
    const button = page.getByRole('button', { name: 'Copy embed code' });
    await button.waitFor({ state: 'visible', timeout: 15_000 });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor({ timeout: 10_000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await embedCodeOf(e.id));
    await page.screenshot({ path: join(shots, 'embed-01-episode-page-code.png'), fullPage: true });
    await context.close();
  }, 60_000);

  it('pasted on another site, the player is reached by Tab, plays its pre-roll and the episode by keyboard', async () => {
    const e = await episode('How the swarm works');
    hostPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A blog</title></head><body><h1>My blog</h1><a href="#top">Top</a>\n${await embedCodeOf(e.id)}\n</body></html>`;
    const page = await browser.newPage();
    await page.goto(`${hostBase}/`);
    const frame = page.frameLocator('iframe');
    const region = frame.getByRole('region', { name: 'Player: How the swarm works' });
    await region.waitFor({ state: 'attached', timeout: 15_000 });
    // Tab from the host page into the frame until the player has focus (bounded).
    const playerFocused = () =>
      region.evaluate((el) => el.ownerDocument.activeElement === el && el.ownerDocument.hasFocus());
    let tabs = 0;
    while (!(await playerFocused()) && tabs < 8) {
      await page.keyboard.press('Tab');
      tabs++;
    }
    expect(await playerFocused(), `player focused after ${tabs} Tab presses`).toBe(true);
    await page.keyboard.press('k');
    const label = frame.locator('.sc-ad-label');
    await label.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await label.textContent()).toMatch(/^Ad 1 of 1 · 0:0\d$/);
    await page.screenshot({ path: join(shots, 'embed-02-pre-roll-in-iframe.png') });
    const content = frame.locator('.sc-content');
    await expect
      .poll(() => content.evaluate((el: HTMLMediaElement) => el.currentTime), {
        timeout: 30_000,
        interval: 200,
      })
      .toBeGreaterThan(0.5);
    expect(await label.isVisible()).toBe(false);
    // k pauses the episode again.
    await page.keyboard.press('k');
    await expect
      .poll(() => content.evaluate((el: HTMLMediaElement) => el.paused), { timeout: 5_000 })
      .toBe(true);
    await page.screenshot({ path: join(shots, 'embed-03-episode-in-iframe.png') });
    await page.close();
  }, 90_000);
});
